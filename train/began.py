"""BEGAN training (Berthelot et al. 2017), on Lightning (docs/began_vae.md, "BEGAN").

With ``L(v) = mean |v - D(v)|``, per batch: a discriminator step on
``L(x) - k_t L(G(z))``, a generator step on ``L(G(z))``, then the equilibrium update
of ``k_t`` and the convergence measure ``M`` (BEGAN eqs. 1-5). The generator step
runs a *fresh* pass of the discriminator just updated: ``opt_d.step()`` changes D's
weights in place, so the reference implementation's shared pass would back-propagate
through a stale graph. ``k_t`` is a buffer, saved in checkpoints and resumed.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from torch import Tensor

from gs.models.began import BEGANGenerator
from gs.params import Param
from gs.train.module import ADAM_LR, GANModule, register_trainer
from gs.train.networks import BEGANDiscriminator


def reconstruction_loss(x: Tensor, reconstruction: Tensor) -> Tensor:
    """BEGAN's ``L(v) = mean |v - D(v)|`` over the batch and all pixels (a scalar)."""
    return (x - reconstruction).abs().mean()


@register_trainer
class BEGANModule(GANModule):
    """BEGAN with skip connections, trained on images scaled to [-1, 1].

    Args:
        ndf: width n of the discriminator (encoder and decoder).
        lr: Adam's learning rate (the paper's 1e-4); ``beta1``, ``beta2`` as in
            :class:`gs.train.module.GANModule`.
        gamma: diversity ratio γ = E[L(G(z))] / E[L(x)] the equilibrium aims at.
        lambda_k: gain λ_k of the ``k_t`` update.
        kwargs: see :class:`gs.train.module.GeneratorModule`.
    """

    generator_class = BEGANGenerator
    normal_prior = False  # z ~ U[-1, 1], the generator's cut-0 initial distribution

    def __init__(
        self,
        ndf: Annotated[int, Param("Auto-encoder discriminator width n.", min=1)] = 128,
        lr: Annotated[float, ADAM_LR] = 1e-4,
        gamma: Annotated[float, Param("Equilibrium diversity ratio γ.", min=0, max=1,
                                      min_open=True)] = 0.5,
        lambda_k: Annotated[float, Param("Gain λ_k of the k_t update.", min=0)] = 1e-3,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, **kwargs)
        g = self.generator
        self.discriminator = BEGANDiscriminator(g.nc, ndf, g.nz, g.image_size)
        self.register_buffer("k_t", torch.zeros(()))
        self.init_weights(self.generator, self.discriminator)

    def training_step(self, batch: Tensor, batch_idx: int) -> None:
        real = batch  # (B, nc, S, S) in [-1, 1]
        opt_d, opt_g = self.optimizers()
        fake = self.generate(self.latent_inputs(real.shape[0], self.noise, self.device))
        k_t = self.k_t.detach().clone()

        def discriminator_loss() -> dict[str, Tensor]:  # L_D = L(x) - k_t L(G(z))
            fake_d = fake.detach()
            recon = self.discriminator(torch.cat([real, fake_d]))  # one pass; no batch norm
            loss_real = reconstruction_loss(real, recon[: real.shape[0]])
            loss_fake = reconstruction_loss(fake_d, recon[real.shape[0]:])
            return {"loss": loss_real - k_t * loss_fake, "real": loss_real, "fake": loss_fake}

        def generator_loss() -> dict[str, Tensor]:  # L_G = L(G(z)) through the updated D
            return {"loss": reconstruction_loss(fake, self.discriminator(fake))}

        d = self.step(opt_d, discriminator_loss)
        loss_g = self.step(opt_g, generator_loss)["loss"]

        # (3) equilibrium: proportional control of k_t and the convergence measure
        with torch.no_grad():
            balance = self.hparams.gamma * d["real"] - d["fake"]
            self.k_t.copy_((k_t + self.hparams.lambda_k * balance).clamp(0.0, 1.0))
            measure = d["real"] + balance.abs()
        self.log_dict({"loss_d": d["loss"], "loss_g": loss_g, "m_global": measure,
                       "k_t": self.k_t.clone()}, prog_bar=True)
        self.log_dict({"loss_real": d["real"], "loss_fake": d["fake"]})

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        # Held-out real images: an auto-encoder that reconstructs them much worse than
        # the training images (compare with loss_real) is memorising the training set.
        self.log("val/loss_real", reconstruction_loss(batch, self.discriminator(batch)))
