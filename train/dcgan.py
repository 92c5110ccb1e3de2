"""DCGAN training as in pytorch/examples ``dcgan/main.py``, on Lightning
(docs/training.md, "DCGAN").

Per batch: a discriminator step on BCE(D(x), 1) + BCE(D(G(z)), 0) with ``G(z)``
detached, then a generator step on BCE(D(G(z)), 1) with the same ``G(z)``.
``cut_before_training = C > 0`` trains blocks C+1 … K only, fed from ``cut_spec(C)``'s
initial distribution: the paper's control, which collapses.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gs.models.dcgan import DCGANGenerator
from gs.params import Param
from gs.train.module import GANModule, register_trainer
from gs.train.networks import DCGANDiscriminator


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


@register_trainer
class DCGANModule(GANModule):
    """DCGAN as in pytorch/examples, trained on images scaled to [-1, 1].

    Args:
        ndf: discriminator width (first block).
        kwargs: Adam's ``lr``, ``beta1``, ``beta2`` (:class:`gs.train.module.GANModule`)
            and :class:`gs.train.module.GeneratorModule`'s arguments.
    """

    generator_class = DCGANGenerator

    def __init__(self, ndf: Annotated[int, Param("Discriminator width (first block).", min=1)]
                 = 64, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        g = self.generator
        self.discriminator = DCGANDiscriminator(g.nc, ndf, g.image_size)
        self.init_weights(self.generator, self.discriminator, init=dcgan_weights_init)

    def training_step(self, batch: Tensor, batch_idx: int) -> None:
        real = batch
        opt_d, opt_g = self.optimizers()
        ones = torch.ones(real.shape[0], device=self.device)
        zeros = torch.zeros_like(ones)
        fake = self.generate(self.latent_inputs(real.shape[0], self.noise, self.device))

        def discriminator_loss() -> dict[str, Tensor]:  # maximise log D(x) + log(1 - D(G(z)))
            real_logits, fake_logits = self.discriminator(real), self.discriminator(fake.detach())
            loss = (F.binary_cross_entropy_with_logits(real_logits, ones)
                    + F.binary_cross_entropy_with_logits(fake_logits, zeros))
            return {"loss": loss, "real": real_logits, "fake": fake_logits}

        def generator_loss() -> dict[str, Tensor]:  # maximise log D(G(z))
            logits = self.discriminator(fake)
            return {"loss": F.binary_cross_entropy_with_logits(logits, ones), "fake": logits}

        d = self.step(opt_d, discriminator_loss)
        g = self.step(opt_g, generator_loss)
        self.log_dict({"loss_d": d["loss"], "loss_g": g["loss"]}, prog_bar=True)
        # pytorch-examples' D(x), D(G(z)) before and after the D step
        self.log_dict({"d_real": torch.sigmoid(d["real"]).mean(),
                       "d_fake": torch.sigmoid(d["fake"]).mean(),
                       "d_fake_after": torch.sigmoid(g["fake"]).mean()})

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
        self.log_dict({
            "val/loss_d_real": F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)),
            "val/d_real": torch.sigmoid(logits).mean()})
