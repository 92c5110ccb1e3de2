"""Training-only networks: the discriminators and the VAE encoder (never exported).

Their layouts are drawn in docs/training.md and docs/began_vae.md. The DCGAN
discriminator keeps pytorch-examples' ``main.N.*`` keys; its final sigmoid is folded
into the loss (``binary_cross_entropy_with_logits``), stable under mixed precision.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gs.models.began import BEGANGenerator, began_upsamplings, conv_block
from gs.models.dcgan import dcgan_num_blocks
from gs.models.vae import BASE_SIDE as VAE_BASE_SIDE
from gs.models.vae import vae_upsamplings


class DCGANDiscriminator(nn.Module):
    """pytorch-examples' ``netD``, returning logits (B,): stride-2 blocks of widths
    ``ndf·2^i`` from ``image_size`` (a power of two ≥ 8) down to 4, then a 4×4 conv."""

    def __init__(self, nc: int, ndf: int, image_size: int) -> None:
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


class BEGANDiscriminator(nn.Module):
    """Auto-encoder discriminator: a convolutional encoder to an ``nz`` embedding, then
    a :class:`BEGANGenerator` of its own as the decoder (the reference layout)."""

    def __init__(self, nc: int, ndf: int, nz: int, image_size: int) -> None:
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


class VAEEncoder(nn.Module):
    """q(z|x): images (B, nc, S, S) in [0, 1] → (mu, logvar), each (B, nz); stride-2
    blocks of widths ``nef·2^i`` down to 4×4, then linear heads."""

    def __init__(self, nz: int, nef: int, nc: int, image_size: int) -> None:
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
        flat = in_ch * VAE_BASE_SIDE * VAE_BASE_SIDE
        self.fc_mu = nn.Linear(flat, self.nz)
        self.fc_logvar = nn.Linear(flat, self.nz)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.flatten(self.main(x), 1)
        return self.fc_mu(h), self.fc_logvar(h)
