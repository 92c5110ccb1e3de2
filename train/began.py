"""BEGAN training (Berthelot et al. 2017, "BEGAN: Boundary Equilibrium GANs"), on Lightning.

Generator: :class:`gs.models.began.BEGANGenerator` (the class gs-export cuts), with
skip connections. Discriminator: the auto-encoder
:class:`gs.train.networks.BEGANDiscriminator`. With the pixel-wise L1 reconstruction
loss ``L(v) = mean |v - D(v)|`` (BEGAN eq. 1, η = 1), one *iteration* (batch) is:

1. discriminator step: ``L_D = L(x) - k_t · L(G(z))`` with ``G(z)`` detached;
2. generator step: ``L_G = L(G(z))`` through a *fresh* forward pass of the
   discriminator just updated;
3. equilibrium: ``k_{t+1} = clip(k_t + λ_k (γ L(x) - L(G(z))), 0, 1)`` and the
   convergence measure ``M = L(x) + |γ L(x) - L(G(z))|`` (BEGAN eqs. 4 and 5), both
   from the losses of step 1, as in the reference implementation.

The reference implementation computes ``L_D`` and ``L_G`` from one discriminator
pass and then steps both networks; in PyTorch ``opt_d.step()`` updates D's weights
in place, so back-propagating ``L_G`` through that stale graph fails. Hence step 2's
new pass, with D's parameters switched off (``toggle_optimizer``).

Defaults follow the paper: γ = 0.5, λ_k = 1e-3, k_0 = 0, Adam lr 1e-4 (β1 = 0.5 as
in the reference implementation), z ~ U[-1, 1]^64, n = 128 filters, 128 px. The
paper's learning-rate decay on a stalling ``M`` is left out (runs stop by steps or
epochs). ``k_t`` is a buffer, so it is saved in checkpoints and resumed.
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
    """BEGAN with skip connections (images scaled to [-1, 1]; --image-size a power of
    two of at least 16, default 128 for a new run).

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
