"""``gs-train upconv``: a generative moment-matching network (Li et al., 2015).

Per batch, the generator lowers the maximum mean discrepancy between its images and the
real ones under Gaussian kernels of a few widths: no discriminator to train.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from torch import Tensor

from gs.params import Param
from gs.train.module import GeneratorModule, register_trainer
from gs_plugin_example.model import UpconvGenerator

KERNEL_WIDTHS = (1.0, 4.0, 16.0)
"""Bandwidths of the Gaussian kernels, in squared pixel distance per pixel."""


def mmd(x: Tensor, y: Tensor) -> Tensor:
    """Squared maximum mean discrepancy between batches ``x`` and ``y`` (B, ...)."""
    xy = torch.cat([x.flatten(1), y.flatten(1)])
    distances = torch.cdist(xy, xy).pow(2) / xy.shape[1]
    kernel = sum(torch.exp(-distances / width) for width in KERNEL_WIDTHS)
    n = x.shape[0]
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()


@register_trainer
class UpconvModule(GeneratorModule):
    """Moment matching (MMD) on images in [0, 1]."""

    generator_class = UpconvGenerator
    value_range = (0.0, 1.0)

    def __init__(self, lr: Annotated[float, Param("Adam learning rate.", min=0, min_open=True)]
                 = 1e-3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_weights(self.generator)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr)

    def loss(self, batch: Tensor) -> Tensor:
        fake = self.generate(self.latent_inputs(batch.shape[0], self.noise, self.device))
        return mmd(fake, batch)

    def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        loss = self.loss(batch)
        self.log("loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        self.log("val/loss", self.loss(batch))
