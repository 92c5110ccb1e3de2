"""DCGAN training as in pytorch/examples ``dcgan/main.py``, on Lightning.

Generator: :class:`gs.models.dcgan.DCGANGenerator` (the class gs-export cuts);
discriminator: :class:`gs.train.discriminators.DCGANDiscriminator`. Per batch
(one *iteration*):

1. discriminator step: BCE(D(x), 1) + BCE(D(G(z)), 0) with ``G(z)`` detached;
2. generator step: BCE(D(G(z)), 1) on the same ``G(z)`` (the non-saturating loss).

Adam (lr 2e-4, betas (0.5, 0.999)) for both networks; weights N(0, 0.02), batch
norm weights N(1, 0.02) and biases 0. All randomness comes from explicit
generators keyed by the seed (see :mod:`gs.train.module`).

``cut_before_training = C > 0`` trains only blocks C+1 … K, fed with the
intermediate tensor drawn from ``cut_spec(C)``'s initial distribution (clamped
normal); the first C blocks keep their initial weights. This is the paper's
control experiment: it collapses, which is why surgery happens after training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gs.errors import UserInputError
from gs.models.dcgan import DCGANGenerator, dcgan_num_blocks
from gs.train.config import TrainConfig, TrainResult
from gs.train.discriminators import DCGANDiscriminator
from gs.train.module import STREAM_WEIGHTS, GeneratorModule, derived_seed
from gs.train.runner import fit, resolve


@dataclass
class DCGANOptions:
    """DCGAN model options; ``None`` means the default, or the resumed run's value."""

    nz: int | None = None
    ngf: int | None = None
    ndf: int | None = None
    lr: float | None = None
    beta1: float | None = None


DCGAN_DEFAULTS = DCGANOptions(nz=100, ngf=64, ndf=64, lr=2e-4, beta1=0.5)


def dcgan_weights_init(module: nn.Module, generator: torch.Generator) -> None:
    """pytorch-examples init: conv weights N(0, 0.02), BN weights N(1, 0.02), BN biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, 0.02, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02, generator=generator)
            nn.init.zeros_(m.bias)


class DCGANModule(GeneratorModule):
    """DCGAN with manual optimisation; the checkpoint contract is in :mod:`gs.train.module`.

    Args:
        model_name: must be ``"dcgan"`` (recorded for gs-export).
        model_config: ``DCGANGenerator.config()``: nz, ngf, nc, image_size.
        ndf: discriminator width.
        cut_before_training: blocks removed before training (0: a normal DCGAN).
        lr, beta1, beta2: Adam settings for both networks.
        seed: seeds initial weights, training noise and the sample-grid latents.
    """

    model_name = "dcgan"
    value_range = (-1.0, 1.0)
    optimizer_steps_per_iteration = 2
    ddp_find_unused_parameters = True

    def __init__(
        self,
        model_name: str = "dcgan",
        model_config: dict[str, Any] | None = None,
        ndf: int = 64,
        cut_before_training: int = 0,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if model_name != self.model_name:
            raise ValueError(f"model_name must be {self.model_name!r}, got {model_name!r}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator = DCGANGenerator.from_config(model_config or {})
        self.generator.check_cut(cut_before_training, "cut_before_training")
        self.discriminator = DCGANDiscriminator(
            self.generator.nc, ndf, self.generator.image_size
        )
        weights = torch.Generator().manual_seed(derived_seed(seed, STREAM_WEIGHTS))
        dcgan_weights_init(self.generator, weights)
        dcgan_weights_init(self.discriminator, weights)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        betas = (self.hparams.beta1, self.hparams.beta2)
        # A generator cut before training never uses its first blocks: they get no
        # gradient, and Adam leaves parameters without gradients untouched.
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr, betas=betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr, betas=betas)
        return [opt_d, opt_g]

    def training_step(self, batch: Tensor, batch_idx: int) -> None:
        real = batch
        opt_d, opt_g = self.optimizers()
        inputs = self.latent_inputs(real.shape[0], self.noise, self.device)
        ones = torch.ones(real.shape[0], device=self.device)
        zeros = torch.zeros_like(ones)

        # (1) discriminator: maximise log D(x) + log(1 - D(G(z)))
        fake = self.generate(inputs)  # (B, nc, S, S) in [-1, 1]
        self.toggle_optimizer(opt_d)
        logits_real = self.discriminator(real)
        logits_fake = self.discriminator(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(
            logits_real, ones
        ) + F.binary_cross_entropy_with_logits(logits_fake, zeros)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        # (2) generator: maximise log D(G(z))
        self.toggle_optimizer(opt_g)
        logits_gen = self.discriminator(fake)
        loss_g = F.binary_cross_entropy_with_logits(logits_gen, ones)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self.log_dict(
            {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()},
            prog_bar=True, on_step=True, on_epoch=False,
        )
        self.log_dict(
            {  # pytorch-examples' D(x), D(G(z)) before and after the D step
                "d_real": torch.sigmoid(logits_real.detach()).mean(),
                "d_fake": torch.sigmoid(logits_fake.detach()).mean(),
                "d_fake_after": torch.sigmoid(logits_gen.detach()).mean(),
            },
            on_step=True, on_epoch=False,
        )

    def discriminate_as_in_training(self, images: Tensor) -> Tensor:
        """D's logits with batch statistics, as in a training step, leaving its state alone."""
        state = {name: b.clone() for name, b in self.discriminator.named_buffers()}
        state.update(dict(self.discriminator.named_parameters()))
        was_training = self.discriminator.training
        self.discriminator.train()
        try:
            return torch.func.functional_call(self.discriminator, state, (images,))
        finally:
            self.discriminator.train(was_training)

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        # Held-out real images, scored as the training images are (batch statistics):
        # val/d_real far below the training d_real means D memorises the training set.
        logits = self.discriminate_as_in_training(batch)
        ones = torch.ones_like(logits)
        self.log_dict(
            {
                "val/loss_d_real": F.binary_cross_entropy_with_logits(logits, ones),
                "val/d_real": torch.sigmoid(logits).mean(),
            },
            on_epoch=True,
        )


def build_dcgan(
    config: TrainConfig, options: DCGANOptions, resumed: dict[str, Any] | None
) -> DCGANModule:
    """Validate the DCGAN options (against a resumed checkpoint) and build the module."""
    image_size = int(config.image_size)
    try:
        blocks = dcgan_num_blocks(image_size)
    except ValueError:
        raise UserInputError(
            f"--image-size {image_size} is not allowed for dcgan: "
            "expected a power of two of at least 8"
        ) from None
    cut = int(config.cut_before_training or 0)
    if not 0 <= cut < blocks:
        raise UserInputError(
            f"--cut-before-training {cut} is not allowed for a {image_size} px dcgan with "
            f"{blocks} blocks; expected an integer from 0 to {blocks - 1}"
        )
    rec = resumed or {}
    recorded = rec.get("model_config", {})
    values = {
        "nz": resolve("--nz", options.nz, recorded.get("nz"), DCGAN_DEFAULTS.nz),
        "ngf": resolve("--ngf", options.ngf, recorded.get("ngf"), DCGAN_DEFAULTS.ngf),
        "ndf": resolve("--ndf", options.ndf, rec.get("ndf"), DCGAN_DEFAULTS.ndf),
        "lr": resolve("--lr", options.lr, rec.get("lr"), DCGAN_DEFAULTS.lr),
        "beta1": resolve("--beta1", options.beta1, rec.get("beta1"), DCGAN_DEFAULTS.beta1),
    }
    for flag in ("nz", "ngf", "ndf"):
        if int(values[flag]) < 1:
            raise UserInputError(f"--{flag} must be a positive integer, got {values[flag]}")
    if not values["lr"] > 0:
        raise UserInputError(f"--lr must be positive, got {values['lr']}")
    if not 0 <= values["beta1"] < 1:
        raise UserInputError(f"--beta1 must be in [0, 1), got {values['beta1']}")
    generator_config = {
        "nz": int(values["nz"]), "ngf": int(values["ngf"]),
        "nc": int(config.channels), "image_size": image_size,
    }
    return DCGANModule(
        model_name="dcgan",
        model_config=generator_config,
        ndf=int(values["ndf"]),
        cut_before_training=cut,
        lr=float(values["lr"]),
        beta1=float(values["beta1"]),
        beta2=float(rec.get("beta2", 0.999)),
        seed=int(config.seed),
    )


def fit_dcgan(config: TrainConfig, options: DCGANOptions | None = None) -> TrainResult:
    """Train a DCGAN on ``config.data``; the Python entry point behind ``gs-train dcgan``.

    Raises:
        UserInputError: a folder, flag or checkpoint is not usable (nothing written).
    """
    options = options or DCGANOptions()
    return fit(config, "dcgan", lambda cfg, resumed: build_dcgan(cfg, options, resumed))
