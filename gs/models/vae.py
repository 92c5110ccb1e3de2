"""Vanilla convolutional VAE (as in AntixK/PyTorch-VAE ``vanilla_vae.py``) at 128 px.

The decoder is the generator that surgery cuts. For 128 px (nz=512, ngf=64,
nc=3) its blocks and the state after each are::

    z ~ N(0, I)                                         # (512,)            cut 0
    Linear(512→2048·4·4), view                          # (2048, 4, 4)      cut 1
    ConvT(2048→1024, 3,2,1,op1) BN LeakyReLU            # (1024, 8, 8)      cut 2
    ConvT(1024→512, 3,2,1,op1) BN LeakyReLU             # (512, 16, 16)     cut 3
    ConvT(512→256, 3,2,1,op1) BN LeakyReLU              # (256, 32, 32)     cut 4
    ConvT(256→128, 3,2,1,op1) BN LeakyReLU              # (128, 64, 64)     cut 5
    ConvT(128→64, 3,2,1,op1) BN LeakyReLU, Conv3(64→3) Sigmoid   # (3, 128, 128) in [0, 1]

The last block carries the output convolution and the sigmoid (AntixK's
``final_layer``), so the raw output is already an image in [0, 1]. The encoder is
needed for training only and lives in ``gs.train.networks``.

Other image sizes (a power of two, at least 8) add or remove blocks:
``K = log2(image_size / 4) + 1`` decoder blocks, valid cuts ``0 … K-1``.
"""

from __future__ import annotations

from torch import Tensor, nn

from gs.latent import InitSpec, InputSpec, LatentSpec
from gs.models.base import Channels, LatentSize, PaperPreset, StagedGenerator, State, Width
from gs.models.registry import register_model

BASE_SIDE = 4


def vae_upsamplings(image_size: int) -> int:
    """Stride-2 blocks between 4×4 and ``image_size`` (a power of two, at least 8)."""
    return StagedGenerator.doublings(image_size, BASE_SIDE, 2 * BASE_SIDE)


@register_model
class VAEDecoder(StagedGenerator):
    """The VAE decoder p(x|z) as a cuttable generator; raw output in [0, 1].

    Block i has ``ngf·2^(D-i)`` channels, ``D = log2(image_size / 4)`` (2048 at 4×4
    for 128 px and ngf=64), so ``ngf`` is the width of the last hidden block;
    ``image_size`` is a power of two of at least 8 and z has ``nz`` entries (512 in
    the paper's VAE).
    """

    paper = PaperPreset(cut=1, lr=1.0, steps=25, raw_lr=1.0, raw_steps=40)
    model_name = "vae"
    smoke_config = {"nz": 8, "ngf": 2, "nc": 3, "image_size": 16}

    def __init__(
        self, nz: LatentSize = 512, ngf: Width = 64, nc: Channels = 3, image_size: int = 128
    ) -> None:
        super().__init__()
        depth = vae_upsamplings(int(image_size))
        self.nz, self.ngf, self.nc, self.image_size = int(nz), int(ngf), int(nc), int(image_size)
        self.widths = [self.ngf * 2 ** (depth - i) for i in range(depth + 1)]
        self.fc = nn.Linear(self.nz, self.widths[0] * BASE_SIDE * BASE_SIDE)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.ConvTranspose2d(w_in, w_out, 3, 2, 1, output_padding=1),
                nn.BatchNorm2d(w_out),
                nn.LeakyReLU(0.01),
            )
            for w_in, w_out in zip(self.widths[:-1], self.widths[1:], strict=True)
        )
        self.out = nn.Sequential(nn.Conv2d(self.widths[-1], self.nc, 3, 1, 1), nn.Sigmoid())

    @property
    def num_blocks(self) -> int:
        return len(self.blocks) + 1

    def cut_spec(self, cut: int) -> LatentSpec:
        self.check_cut(cut)
        if cut == 0:
            shape: tuple[int, ...] = (self.nz,)
        else:
            side = BASE_SIDE * 2 ** (cut - 1)
            shape = (self.widths[cut - 1], side, side)
        name = "z" if cut == 0 else f"h{cut}"
        return LatentSpec(cut, (InputSpec(name, shape, InitSpec("clamped_normal")),))

    def stage(self, k: int, state: State) -> State:
        (h,) = state
        if k == 0:
            return (self.fc(h).view(-1, self.widths[0], BASE_SIDE, BASE_SIDE),)
        h = self.blocks[k - 1](h)
        if k == self.num_blocks - 1:
            h = self.out(h)
        return (h,)

    def to_image(self, raw: Tensor) -> Tensor:
        return raw
