"""Discriminators used to train the generators in :mod:`gs.models`.

``DCGANDiscriminator`` is the pytorch-examples ``netD``. For 64 px (nc=3, ndf=64)::

    x                                       # (3, 64, 64)
    Conv(3→64, 4,2,1) LeakyReLU(0.2)        # (64, 32, 32)
    Conv(64→128, 4,2,1) BN LeakyReLU        # (128, 16, 16)
    Conv(128→256, 4,2,1) BN LeakyReLU       # (256, 8, 8)
    Conv(256→512, 4,2,1) BN LeakyReLU       # (512, 4, 4)
    Conv(512→1, 4,1,0)                      # (1, 1, 1)  logit

Other powers of two add or remove stride-2 blocks, mirroring the generator. The
final sigmoid of pytorch-examples is folded into the loss
(``binary_cross_entropy_with_logits``), which is the same function, stable,
and allowed under mixed precision; the layer indices (``main.N.*``) are
unchanged because the sigmoid has no parameters.
"""

from __future__ import annotations

from torch import Tensor, nn

from gs.models.dcgan import dcgan_num_blocks


class DCGANDiscriminator(nn.Module):
    """pytorch-examples DCGAN discriminator returning logits of shape (B,).

    Args:
        nc: image channels.
        ndf: width of the first block (block i has ``ndf·2^i`` channels).
        image_size: input height and width, a power of two of at least 8.
    """

    def __init__(self, nc: int = 3, ndf: int = 64, image_size: int = 64) -> None:
        super().__init__()
        self.nc, self.ndf, self.image_size = int(nc), int(ndf), int(image_size)
        downsamples = dcgan_num_blocks(self.image_size) - 1  # image_size → 4
        layers: list[nn.Module] = []
        in_ch = self.nc
        for i in range(downsamples):
            width = self.ndf * 2**i
            layers.append(nn.Conv2d(in_ch, width, 4, 2, 1, bias=False))
            if i > 0:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = width
        layers.append(nn.Conv2d(in_ch, 1, 4, 1, 0, bias=False))
        self.main = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Images (B, nc, S, S) in [-1, 1] → logits (B,)."""
        return self.main(x).view(-1)
