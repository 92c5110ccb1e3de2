"""Vanilla VAE training (as in AntixK/PyTorch-VAE ``vanilla_vae.py``), on Lightning.

Decoder: :class:`gs.models.vae.VAEDecoder`, held as ``self.generator`` so that the
gs-train checkpoint contract holds (gs-export cuts the decoder); encoder:
:class:`gs.models.vae.VAEEncoder`, held as ``self.encoder`` and ignored by gs-export.
Per batch (one *iteration*), with images ``x`` in [0, 1]:

* ``(μ, log σ²) = E(x)``, ``z = μ + σ ⊙ ε`` with ``ε ~ N(0, I)`` (reparameterisation);
* loss ``= mean((G(z) - x)²) + β · KL``, ``KL = mean_batch Σ_j -½ (1 + log σ²_j - μ_j² - σ²_j)``
  (Kingma & Welling 2014, appendix B); β = 2.5e-4 as AntixK's ``kld_weight``.

AdamW (lr 2e-4, weight decay 0.01) over encoder and decoder, learning rate
multiplied by ``lr_gamma`` (0.95) after every epoch. Samples are decoded from
z ~ N(0, I), the prior. ``--cut-before-training`` is refused: the encoder's z has no
meaning for a decoder without its first blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gs.errors import UserInputError
from gs.models.vae import BASE_SIDE, VAEDecoder, vae_upsamplings
from gs.train.began import PAPER_IMAGE_SIZE
from gs.train.config import TrainConfig, TrainResult
from gs.train.module import STREAM_WEIGHTS, GeneratorModule, derived_seed, reset_parameters_seeded
from gs.train.runner import fit, resolve


@dataclass
class VAEOptions:
    """VAE model options; ``None`` means the default, or the resumed run's value."""

    nz: int | None = None
    ngf: int | None = None
    nef: int | None = None
    lr: float | None = None
    beta: float | None = None
    lr_gamma: float | None = None
    weight_decay: float | None = None


VAE_DEFAULTS = VAEOptions(nz=512, ngf=64, nef=32, lr=2e-4, beta=2.5e-4, lr_gamma=0.95,
                          weight_decay=0.01)


class VAEEncoder(nn.Module):
    """q(z|x): images (B, nc, S, S) in [0, 1] → (mu, logvar), each (B, nz).

    Args:
        nz: size of z.
        nef: width of the first block; block i has ``nef·2^i`` channels.
        nc: image channels.
        image_size: input height and width, a power of two of at least 8.
    """

    def __init__(self, nz: int = 512, nef: int = 32, nc: int = 3, image_size: int = 128) -> None:
        super().__init__()
        self.nz, self.nef, self.nc = int(nz), int(nef), int(nc)
        self.image_size = int(image_size)
        depth = vae_upsamplings(self.image_size)
        layers: list[nn.Module] = []
        in_ch = self.nc
        for i in range(depth):
            width = self.nef * 2**i
            layers += [nn.Conv2d(in_ch, width, 3, 2, 1), nn.BatchNorm2d(width), nn.LeakyReLU(0.01)]
            in_ch = width
        self.main = nn.Sequential(*layers)  # (nef·2^(D-1), 4, 4)
        flat = in_ch * BASE_SIDE * BASE_SIDE
        self.fc_mu = nn.Linear(flat, self.nz)
        self.fc_logvar = nn.Linear(flat, self.nz)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.flatten(self.main(x), 1)
        return self.fc_mu(h), self.fc_logvar(h)


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) summed over latent dimensions, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()


class VAEModule(GeneratorModule):
    """Convolutional VAE; the decoder is ``self.generator`` (checkpoint contract in
    :mod:`gs.train.module`), the encoder ``self.encoder``.

    Args:
        model_name: must be ``"vae"`` (recorded for gs-export).
        model_config: ``VAEDecoder.config()``: nz, ngf, nc, image_size.
        nef: width of the encoder's first block.
        beta: weight β of the KL term.
        lr, weight_decay: AdamW settings.
        lr_gamma: learning-rate factor applied after every epoch (ExponentialLR).
        cut_before_training: must be 0 (recorded for the checkpoint contract).
        seed: seeds initial weights, training noise and the sample-grid latents.
    """

    model_name = "vae"
    value_range = (0.0, 1.0)
    optimizer_steps_per_iteration = 1

    def __init__(
        self,
        model_name: str = "vae",
        model_config: dict[str, Any] | None = None,
        nef: int = 32,
        beta: float = 2.5e-4,
        lr: float = 2e-4,
        weight_decay: float = 0.01,
        lr_gamma: float = 0.95,
        cut_before_training: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if model_name != self.model_name:
            raise ValueError(f"model_name must be {self.model_name!r}, got {model_name!r}")
        if cut_before_training != 0:
            raise ValueError(f"a VAE cannot be cut before training, got {cut_before_training}")
        self.save_hyperparameters()
        self.generator = VAEDecoder.from_config(model_config or {})
        g = self.generator
        self.encoder = VAEEncoder(g.nz, nef, g.nc, g.image_size)
        weights = torch.Generator().manual_seed(derived_seed(seed, STREAM_WEIGHTS))
        reset_parameters_seeded(self.generator, weights)
        reset_parameters_seeded(self.encoder, weights)

    def configure_optimizers(self) -> dict[str, Any]:
        params = list(self.encoder.parameters()) + list(self.generator.parameters())
        optimizer = torch.optim.AdamW(
            params, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=self.hparams.lr_gamma)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

    def losses(self, x: Tensor, sample: bool = True) -> dict[str, Tensor]:
        """MSE, KL and their weighted sum for images ``x`` (B, nc, S, S) in [0, 1].

        ``sample=False`` decodes the mean μ instead of a draw (validation).
        """
        mu, logvar = self.encoder(x)
        z = mu
        if sample:
            eps = torch.randn(mu.shape, generator=self.noise, device=mu.device, dtype=mu.dtype)
            z = mu + eps * torch.exp(0.5 * logvar)
        mse = F.mse_loss(self.generator(z), x)
        kld = kl_divergence(mu, logvar)
        return {"loss": mse + self.hparams.beta * kld, "mse": mse, "kld": kld}

    def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        parts = self.losses(batch)
        self.log_dict({k: v.detach() for k, v in parts.items()}, prog_bar=True, on_step=True,
                      on_epoch=False)
        return parts["loss"]

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        parts = self.losses(batch, sample=False)
        self.log_dict({f"val/{k}": v for k, v in parts.items()}, on_epoch=True)


def build_vae(
    config: TrainConfig, options: VAEOptions, resumed: dict[str, Any] | None
) -> VAEModule:
    """Validate the VAE options (against a resumed checkpoint) and build the module."""
    image_size = int(config.image_size)
    try:
        blocks = vae_upsamplings(image_size) + 1
    except ValueError:
        raise UserInputError(
            f"--image-size {image_size} is not allowed for vae: "
            "expected a power of two of at least 8"
        ) from None
    if config.cut_before_training:
        raise UserInputError(
            f"--cut-before-training {config.cut_before_training} is not available for vae: "
            f"its {blocks} decoder blocks are trained together with the encoder"
        )
    rec = resumed or {}
    recorded = rec.get("model_config", {})
    d = VAE_DEFAULTS
    values = {
        "nz": resolve("--nz", options.nz, recorded.get("nz"), d.nz),
        "ngf": resolve("--ngf", options.ngf, recorded.get("ngf"), d.ngf),
        "nef": resolve("--nef", options.nef, rec.get("nef"), d.nef),
        "lr": resolve("--lr", options.lr, rec.get("lr"), d.lr),
        "beta": resolve("--beta", options.beta, rec.get("beta"), d.beta),
        "lr_gamma": resolve("--lr-gamma", options.lr_gamma, rec.get("lr_gamma"), d.lr_gamma),
        "weight_decay": resolve("--weight-decay", options.weight_decay,
                                rec.get("weight_decay"), d.weight_decay),
    }
    for flag in ("nz", "ngf", "nef"):
        if int(values[flag]) < 1:
            raise UserInputError(f"--{flag} must be a positive integer, got {values[flag]}")
    if not values["lr"] > 0:
        raise UserInputError(f"--lr must be positive, got {values['lr']}")
    if not values["beta"] >= 0:
        raise UserInputError(f"--beta must be non-negative, got {values['beta']}")
    if not 0 < values["lr_gamma"] <= 1:
        raise UserInputError(f"--lr-gamma must be in (0, 1], got {values['lr_gamma']}")
    if not values["weight_decay"] >= 0:
        raise UserInputError(f"--weight-decay must be non-negative, got {values['weight_decay']}")
    generator_config = {
        "nz": int(values["nz"]), "ngf": int(values["ngf"]),
        "nc": int(config.channels), "image_size": image_size,
    }
    return VAEModule(
        model_name="vae",
        model_config=generator_config,
        nef=int(values["nef"]),
        beta=float(values["beta"]),
        lr=float(values["lr"]),
        weight_decay=float(values["weight_decay"]),
        lr_gamma=float(values["lr_gamma"]),
        cut_before_training=0,
        seed=int(config.seed),
    )


def fit_vae(config: TrainConfig, options: VAEOptions | None = None) -> TrainResult:
    """Train a VAE on ``config.data``; the Python entry point behind ``gs-train vae``.

    The image size defaults to the paper's 128 px (not the shared default of 64) for a
    new run; a resumed run keeps its own.

    Raises:
        UserInputError: a folder, flag or checkpoint is not usable (nothing written).
    """
    options = options or VAEOptions()
    if config.image_size is None and config.resume is None:
        config.image_size = PAPER_IMAGE_SIZE
    return fit(config, "vae", lambda cfg, resumed: build_vae(cfg, options, resumed))
