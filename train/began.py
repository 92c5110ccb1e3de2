"""BEGAN training (Berthelot et al. 2017, "BEGAN: Boundary Equilibrium GANs"), on Lightning.

Generator: :class:`gs.models.began.BEGANGenerator` (the class gs-export cuts), with
skip connections. Discriminator: an auto-encoder :class:`BEGANDiscriminator` whose
decoder has the generator's architecture. With the pixel-wise L1 reconstruction
loss ``L(v) = mean |v - D(v)|`` (BEGAN eq. 1, η = 1), one *iteration* (batch) is:

1. discriminator step: ``L_D = L(x) - k_t · L(G(z))`` with ``G(z)`` detached;
2. generator step: ``L_G = L(G(z))`` through a *fresh* forward pass of the
   discriminator just updated (see below);
3. equilibrium: ``k_{t+1} = clip(k_t + λ_k (γ L(x) - L(G(z))), 0, 1)`` and the
   convergence measure ``M = L(x) + |γ L(x) - L(G(z))|`` (BEGAN eqs. 4 and 5), both
   from the losses of step 1, as in the reference implementation.

Update order on current PyTorch: the reference implementation computes ``L_D`` and
``L_G`` from one discriminator forward pass and then steps both networks. In
PyTorch, ``opt_d.step()`` updates the discriminator's weights in place, and a
generator loss whose graph still holds the old weights fails (or, worse, uses
stale tensors) when it is back-propagated. Here the generator loss is computed
after the discriminator step, with a new forward pass through the updated
discriminator, and with the discriminator's parameters switched off
(``toggle_optimizer``) so that no gradient reaches them.

Defaults follow the paper: γ = 0.5, λ_k = 1e-3, k_0 = 0, Adam lr 1e-4 (β1 = 0.5 as
in the reference implementation), z ~ U[-1, 1]^64, n = 128 filters, 128 px. The
paper's learning-rate decay on a stalling ``M`` is left out (runs stop by steps or
epochs). ``k_t`` is a buffer, so it is saved in checkpoints and resumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from gs.errors import UserInputError
from gs.models.began import BEGANGenerator, began_upsamplings, conv_block
from gs.train.config import TrainConfig, TrainResult
from gs.train.module import (
    STREAM_WEIGHTS,
    GeneratorModule,
    derived_seed,
    reset_parameters_seeded,
    sample_init,
)
from gs.train.runner import fit, resolve

PAPER_IMAGE_SIZE = 128


@dataclass
class BEGANOptions:
    """BEGAN model options; ``None`` means the default, or the resumed run's value."""

    nz: int | None = None
    ngf: int | None = None
    ndf: int | None = None
    lr: float | None = None
    beta1: float | None = None
    gamma: float | None = None
    lambda_k: float | None = None


BEGAN_DEFAULTS = BEGANOptions(nz=64, ngf=128, ndf=128, lr=1e-4, beta1=0.5, gamma=0.5,
                              lambda_k=1e-3)


class BEGANDiscriminator(nn.Module):
    """Auto-encoder discriminator: images (B, nc, S, S) → reconstructions of the same shape.

    Encoder (reference implementation, for 128 px and ndf=n)::

        Conv3(nc→n) ELU                                        # (n, 128, 128)
        [Conv3 ELU Conv3 ELU](i·n) Conv3/2((i)·n→(i+1)·n) ELU  # one per scale, i = 1…4
        [Conv3 ELU Conv3 ELU](5n)                               # (5n, 8, 8)
        Linear(5n·8·8 → nz)                                     # embedding (nz,)

    Decoder: a :class:`BEGANGenerator` (nz, ndf, nc, image_size) with its own weights,
    skip connections included; output in [-1, 1] like the training images.
    """

    def __init__(self, nc: int = 3, ndf: int = 128, nz: int = 64, image_size: int = 128) -> None:
        super().__init__()
        self.nc, self.ndf, self.nz, self.image_size = int(nc), int(ndf), int(nz), int(image_size)
        scales = began_upsamplings(self.image_size)
        n = self.ndf
        layers: list[nn.Module] = [nn.Conv2d(self.nc, n, 3, 1, 1), nn.ELU(inplace=True)]
        for i in range(1, scales + 1):
            layers += [*conv_block(i * n, i * n), nn.Conv2d(i * n, (i + 1) * n, 3, 2, 1),
                       nn.ELU(inplace=True)]
        layers += [*conv_block((scales + 1) * n, (scales + 1) * n)]
        self.encoder = nn.Sequential(*layers)
        self.embed = nn.Linear((scales + 1) * n * 8 * 8, self.nz)
        self.decoder = BEGANGenerator(self.nz, self.ndf, self.nc, self.image_size)

    def forward(self, x: Tensor) -> Tensor:
        """Images (B, nc, S, S) in [-1, 1] → reconstructions (B, nc, S, S) in [-1, 1]."""
        return self.decoder(self.embed(torch.flatten(self.encoder(x), 1)))


def reconstruction_loss(x: Tensor, reconstruction: Tensor) -> Tensor:
    """BEGAN's ``L(v) = mean |v - D(v)|`` over the batch and all pixels (a scalar)."""
    return (x - reconstruction).abs().mean()


class BEGANModule(GeneratorModule):
    """BEGAN with manual optimisation; the checkpoint contract is in :mod:`gs.train.module`.

    Args:
        model_name: must be ``"began"`` (recorded for gs-export).
        model_config: ``BEGANGenerator.config()``: nz, ngf, nc, image_size.
        ndf: width n of the discriminator (encoder and decoder).
        cut_before_training: blocks removed before training (0: a normal BEGAN).
        lr, beta1, beta2: Adam settings for both networks.
        gamma: diversity ratio γ = E[L(G(z))] / E[L(x)] the equilibrium aims at.
        lambda_k: gain λ_k of the ``k_t`` update.
        seed: seeds initial weights, training noise and the sample-grid latents.
    """

    model_name = "began"
    value_range = (-1.0, 1.0)
    optimizer_steps_per_iteration = 2
    ddp_find_unused_parameters = True

    def __init__(
        self,
        model_name: str = "began",
        model_config: dict[str, Any] | None = None,
        ndf: int = 128,
        cut_before_training: int = 0,
        lr: float = 1e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        gamma: float = 0.5,
        lambda_k: float = 1e-3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if model_name != self.model_name:
            raise ValueError(f"model_name must be {self.model_name!r}, got {model_name!r}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator = BEGANGenerator.from_config(model_config or {})
        self.generator.check_cut(cut_before_training, "cut_before_training")
        g = self.generator
        self.discriminator = BEGANDiscriminator(g.nc, ndf, g.nz, g.image_size)
        self.register_buffer("k_t", torch.zeros(()))
        weights = torch.Generator().manual_seed(derived_seed(seed, STREAM_WEIGHTS))
        reset_parameters_seeded(self.generator, weights)
        reset_parameters_seeded(self.discriminator, weights)

    def latent_inputs(
        self, batch: int, generator: torch.Generator, device: torch.device | str = "cpu"
    ) -> tuple[Tensor, ...]:
        """Training inputs at the cut: z ~ U[-1, 1] at cut 0 (BEGAN's prior), else the
        cut's initial distributions (``cut_spec(c)``)."""
        specs = self.generator.cut_spec(self.cut).inputs
        return tuple(sample_init(s, batch, generator, device) for s in specs)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        betas = (self.hparams.beta1, self.hparams.beta2)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr, betas=betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr, betas=betas)
        return [opt_d, opt_g]

    def training_step(self, batch: Tensor, batch_idx: int) -> None:
        real = batch  # (B, nc, S, S) in [-1, 1]
        opt_d, opt_g = self.optimizers()
        fake = self.generate(self.latent_inputs(real.shape[0], self.noise, self.device))
        k_t = self.k_t.detach().clone()

        # (1) discriminator: L_D = L(x) - k_t L(G(z)), G(z) detached
        self.toggle_optimizer(opt_d)
        fake_d = fake.detach()
        recon = self.discriminator(torch.cat([real, fake_d]))  # one pass; D has no batch norm
        loss_real = reconstruction_loss(real, recon[: real.shape[0]])
        loss_fake = reconstruction_loss(fake_d, recon[real.shape[0] :])
        loss_d = loss_real - k_t * loss_fake
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        # (2) generator: L_G = L(G(z)) through the discriminator as updated in (1)
        self.toggle_optimizer(opt_g)
        loss_g = reconstruction_loss(fake, self.discriminator(fake))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        # (3) equilibrium: proportional control of k_t and the convergence measure
        with torch.no_grad():
            balance = self.hparams.gamma * loss_real.detach() - loss_fake.detach()
            self.k_t.copy_((k_t + self.hparams.lambda_k * balance).clamp(0.0, 1.0))
            measure = loss_real.detach() + balance.abs()
        self.log_dict(
            {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "m_global": measure,
             "k_t": self.k_t.clone()},
            prog_bar=True, on_step=True, on_epoch=False,
        )
        self.log_dict(
            {"loss_real": loss_real.detach(), "loss_fake": loss_fake.detach()},
            on_step=True, on_epoch=False,
        )

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        # Held-out real images: an auto-encoder that reconstructs them much worse than
        # the training images (compare with loss_real) is memorising the training set.
        self.log("val/loss_real", reconstruction_loss(batch, self.discriminator(batch)),
                 on_epoch=True)


def build_began(
    config: TrainConfig, options: BEGANOptions, resumed: dict[str, Any] | None
) -> BEGANModule:
    """Validate the BEGAN options (against a resumed checkpoint) and build the module."""
    image_size = int(config.image_size)
    try:
        blocks = began_upsamplings(image_size) + 2
    except ValueError:
        raise UserInputError(
            f"--image-size {image_size} is not allowed for began: "
            "expected a power of two of at least 16"
        ) from None
    cut = int(config.cut_before_training or 0)
    if not 0 <= cut < blocks:
        raise UserInputError(
            f"--cut-before-training {cut} is not allowed for a {image_size} px began with "
            f"{blocks} blocks; expected an integer from 0 to {blocks - 1}"
        )
    rec = resumed or {}
    recorded = rec.get("model_config", {})
    d = BEGAN_DEFAULTS
    values = {
        "nz": resolve("--nz", options.nz, recorded.get("nz"), d.nz),
        "ngf": resolve("--ngf", options.ngf, recorded.get("ngf"), d.ngf),
        "ndf": resolve("--ndf", options.ndf, rec.get("ndf"), d.ndf),
        "lr": resolve("--lr", options.lr, rec.get("lr"), d.lr),
        "beta1": resolve("--beta1", options.beta1, rec.get("beta1"), d.beta1),
        "gamma": resolve("--gamma", options.gamma, rec.get("gamma"), d.gamma),
        "lambda_k": resolve("--lambda-k", options.lambda_k, rec.get("lambda_k"), d.lambda_k),
    }
    for flag in ("nz", "ngf", "ndf"):
        if int(values[flag]) < 1:
            raise UserInputError(f"--{flag} must be a positive integer, got {values[flag]}")
    if not values["lr"] > 0:
        raise UserInputError(f"--lr must be positive, got {values['lr']}")
    if not 0 <= values["beta1"] < 1:
        raise UserInputError(f"--beta1 must be in [0, 1), got {values['beta1']}")
    if not 0 < values["gamma"] <= 1:
        raise UserInputError(f"--gamma must be in (0, 1], got {values['gamma']}")
    if not values["lambda_k"] >= 0:
        raise UserInputError(f"--lambda-k must be non-negative, got {values['lambda_k']}")
    generator_config = {
        "nz": int(values["nz"]), "ngf": int(values["ngf"]),
        "nc": int(config.channels), "image_size": image_size,
    }
    return BEGANModule(
        model_name="began",
        model_config=generator_config,
        ndf=int(values["ndf"]),
        cut_before_training=cut,
        lr=float(values["lr"]),
        beta1=float(values["beta1"]),
        beta2=float(rec.get("beta2", 0.999)),
        gamma=float(values["gamma"]),
        lambda_k=float(values["lambda_k"]),
        seed=int(config.seed),
    )


def fit_began(config: TrainConfig, options: BEGANOptions | None = None) -> TrainResult:
    """Train a BEGAN on ``config.data``; the Python entry point behind ``gs-train began``.

    The image size defaults to the paper's 128 px (not the shared default of 64) for a
    new run; a resumed run keeps its own.

    Raises:
        UserInputError: a folder, flag or checkpoint is not usable (nothing written).
    """
    options = options or BEGANOptions()
    if config.image_size is None and config.resume is None:
        config.image_size = PAPER_IMAGE_SIZE
    return fit(config, "began", lambda cfg, resumed: build_began(cfg, options, resumed))
