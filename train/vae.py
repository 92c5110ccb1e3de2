"""Vanilla VAE training (AntixK/PyTorch-VAE ``vanilla_vae.py``), on Lightning
(docs/began_vae.md, "VAE").

The decoder is ``self.generator`` (what gs-export cuts), the encoder ``self.encoder``.
Loss: ``MSE(G(z), x) + β KL`` with ``z = μ + σ ε``; AdamW with the learning rate
multiplied by ``lr_gamma`` after every epoch.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from gs.models.vae import VAEDecoder
from gs.params import Param
from gs.train.module import GeneratorModule, register_trainer
from gs.train.networks import VAEEncoder


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) summed over latent dimensions, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()


@register_trainer
class VAEModule(GeneratorModule):
    """Convolutional VAE on images in [0, 1]; the decoder is the generator gs-export cuts.

    Args:
        nef: width of the encoder's first block.
        beta: weight β of the KL term.
        lr, weight_decay: AdamW settings.
        lr_gamma: learning-rate factor applied after every epoch (ExponentialLR).
        kwargs: see :class:`gs.train.module.GeneratorModule`.
    """

    generator_class = VAEDecoder
    cut_before_training_refused = "its decoder blocks are trained together with the encoder"
    value_range = (0.0, 1.0)

    def __init__(
        self,
        nef: Annotated[int, Param("Encoder width of the first block.", min=1)] = 32,
        beta: Annotated[float, Param("Weight β of the KL term.", min=0)] = 2.5e-4,
        lr: Annotated[float, Param("AdamW learning rate.", min=0, min_open=True)] = 2e-4,
        weight_decay: Annotated[float, Param("AdamW weight decay.", min=0)] = 0.01,
        lr_gamma: Annotated[float, Param("Learning-rate factor applied after every epoch.",
                                         min=0, max=1, min_open=True)] = 0.95,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        g = self.generator
        self.encoder = VAEEncoder(g.nz, nef, g.nc, g.image_size)
        self.init_weights(self.generator, self.encoder)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.AdamW([*self.encoder.parameters(), *self.generator.parameters()],
                                      lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
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
        self.log_dict({k: v.detach() for k, v in parts.items()}, prog_bar=True)
        return parts["loss"]

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        parts = self.losses(batch, sample=False)
        self.log_dict({f"val/{k}": v for k, v in parts.items()})
