"""BEGAN generator with skip connections (Berthelot et al. 2017), written as cuttable blocks.

For 128 px (nz=64, ngf=n=128, nc=3) the blocks and the state after each are::

    z ~ U[-1, 1]                                   # (64,)                    cut 0
    Linear(64→128·8·8), view                       # h1 (128, 8, 8)           cut 1
    [Conv3 ELU Conv3 ELU](h1), up×2                # h2 (128, 16, 16), z2=h1  cut 2
    [Conv3 ELU Conv3 ELU](h2 ‖ up2(z2)), up×2      # h3 (128, 32, 32), z2     cut 3
    [Conv3 ELU Conv3 ELU](h3 ‖ up4(z2)), up×2      # h4 (128, 64, 64), z2     cut 4
    [Conv3 ELU Conv3 ELU](h4 ‖ up8(z2)), up×2      # h5 (128, 128, 128), z2   cut 5
    [Conv3 ELU Conv3 ELU](h5 ‖ up16(z2)), Conv3 Tanh   # (3, 128, 128) in [-1, 1]

``‖`` is concatenation along channels and ``upN`` nearest-neighbour upsampling:
the skip connections carry the first 8×8 tensor into every later block. All
convolutions are 3×3 with padding 1; upsampling is nearest-neighbour.

Surgery: for ``c ≤ 1`` the skip signal is computed from the network's own first
tensor, as in training. From ``c = 2`` on the skip tensor is a second free input
``z2`` (ngf, 8, 8) of the cut generator, next to ``h_c``; in the uncut network
``z2 = h1``, so feeding the true ``h1`` reproduces the uncut output exactly.

Other image sizes (a power of two, at least 16) add or remove upsampling
blocks: ``K = log2(image_size / 8) + 2`` blocks, valid cuts ``0 … K-1``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gs.latent import InitSpec, InputSpec, LatentSpec
from gs.models.base import Channels, LatentSize, PaperPreset, StagedGenerator, State, Width
from gs.models.registry import register_model

BASE_SIDE = 8


def began_upsamplings(image_size: int) -> int:
    """Upsampling steps from 8×8 to ``image_size`` (a power of two, at least 16)."""
    return StagedGenerator.doublings(image_size, BASE_SIDE, 2 * BASE_SIDE)


def conv_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """Conv3 ELU Conv3 ELU at constant resolution: (in_ch, S, S) → (out_ch, S, S)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, 1, 1), nn.ELU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, 1, 1), nn.ELU(inplace=True),
    )


@register_model
class BEGANGenerator(StagedGenerator):
    """BEGAN decoder with skip connections; output in [-1, 1], ``to_image`` maps to [0, 1].

    Also used, with its own weights, as the decoder of the BEGAN auto-encoder
    discriminator (``gs.train.networks``).

    ``ngf`` is the channel count of every hidden block (the BEGAN paper's n = 128),
    ``nz`` the size of z (64 in the paper); ``image_size``, the output side, is a
    power of two of at least 16.
    """

    model_name = "began"
    smoke_config = {"nz": 4, "ngf": 4, "nc": 3, "image_size": 16}
    paper = PaperPreset(cut=2, lr=1.0, steps=25, raw_lr=1.0, raw_steps=100)

    def __init__(self, nz: LatentSize = 64, ngf: Width = 128, nc: Channels = 3,
                 image_size: int = 128) -> None:
        super().__init__()
        self.upsamplings = began_upsamplings(int(image_size))
        self.nz, self.ngf, self.nc, self.image_size = int(nz), int(ngf), int(nc), int(image_size)
        self.fc = nn.Linear(self.nz, self.ngf * BASE_SIDE * BASE_SIDE)
        # blocks[0] at 8×8 sees h1 only; blocks[i ≥ 1] see h ‖ upsampled skip.
        self.blocks = nn.ModuleList(
            [conv_block(self.ngf, self.ngf)]
            + [conv_block(2 * self.ngf, self.ngf) for _ in range(self.upsamplings)]
        )
        self.out = nn.Conv2d(self.ngf, self.nc, 3, 1, 1)

    @property
    def num_blocks(self) -> int:
        return self.upsamplings + 2

    def cut_spec(self, cut: int) -> LatentSpec:
        self.check_cut(cut)
        if cut == 0:
            return LatentSpec(0, (InputSpec("z", (self.nz,), InitSpec("uniform", limit=1.0)),))
        side = BASE_SIDE * 2 ** (cut - 1)
        h = InputSpec(f"h{cut}", (self.ngf, side, side), InitSpec("clamped_normal"))
        if cut == 1:
            return LatentSpec(1, (h,))
        z2 = InputSpec("z2", (self.ngf, BASE_SIDE, BASE_SIDE), InitSpec("clamped_normal"))
        return LatentSpec(cut, (h, z2))

    def stage(self, k: int, state: State) -> State:
        if k == 0:
            (z,) = state
            return (self.fc(z).view(-1, self.ngf, BASE_SIDE, BASE_SIDE),)
        if k == 1:
            (h1,) = state
            x, skip = self.blocks[0](h1), h1
        else:
            h, skip = state
            up = F.interpolate(skip, scale_factor=float(2 ** (k - 1)), mode="nearest")
            x = self.blocks[k - 1](torch.cat([h, up], dim=1))
        if k == self.num_blocks - 1:
            return (self.out(x).tanh(),)
        return (F.interpolate(x, scale_factor=2.0, mode="nearest"), skip)

    def to_image(self, raw: Tensor) -> Tensor:
        return (raw + 1) / 2
