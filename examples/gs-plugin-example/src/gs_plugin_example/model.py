"""``upconv``: z → Linear → (width, 4, 4), then one block per doubling of the side
(nearest upsampling, 3×3 convolution, batch norm, ReLU), the last one to the image.

For the 16 px smoke configuration (nz=8, width=8) the state after each block is::

    z                                 # (8,)          cut 0
    Linear, reshape                   # (8, 4, 4)     cut 1
    Upsample ×2, Conv 3×3, BN, ReLU   # (4, 8, 8)     cut 2
    Upsample ×2, Conv 3×3, sigmoid    # (3, 16, 16)   image in [0, 1]

Each hidden block halves the width (at least 1).
"""

from __future__ import annotations

from torch import Tensor, nn

from gs.latent import InitSpec, InputSpec, LatentSpec
from gs.models import PaperPreset, StagedGenerator, register_model
from gs.models.base import Channels, LatentSize, State, Width


@register_model
class UpconvGenerator(StagedGenerator):
    """Upsample-and-convolve generator; the raw output is already an image in [0, 1]."""

    model_name = "upconv"
    # The cut and L-BFGS settings its author found best on validation images.
    paper = PaperPreset(cut=1, lr=0.1, steps=25, raw_lr=1.0, raw_steps=100)
    smoke_config = {"nz": 8, "width": 8, "nc": 3, "image_size": 16}

    def __init__(self, nz: LatentSize = 64, width: Width = 64, nc: Channels = 3,
                 image_size: int = 32) -> None:
        super().__init__()
        self.nz, self.width, self.nc = int(nz), int(width), int(nc)
        self.image_size = int(image_size)
        doublings = self.doublings(self.image_size, 4, 8)
        self.widths = [max(1, self.width // 2 ** i) for i in range(doublings)]
        self.head = nn.Linear(self.nz, self.widths[0] * 16)
        self.ups = nn.ModuleList()
        for i in range(doublings):
            last = i == doublings - 1
            out = self.nc if last else self.widths[i + 1]
            layers = [nn.Upsample(scale_factor=2, mode="nearest"),
                      nn.Conv2d(self.widths[i], out, 3, padding=1)]
            layers += [nn.Sigmoid()] if last else [nn.BatchNorm2d(out), nn.ReLU()]
            self.ups.append(nn.Sequential(*layers))

    @property
    def num_blocks(self) -> int:
        return 1 + len(self.ups)

    def cut_spec(self, cut: int) -> LatentSpec:
        self.check_cut(cut)
        if cut == 0:
            return LatentSpec(0, (InputSpec("z", (self.nz,), InitSpec()),))
        side = 4 * 2 ** (cut - 1)
        return LatentSpec(cut, (InputSpec(f"h{cut}", (self.widths[cut - 1], side, side),
                                          InitSpec()),))

    def stage(self, k: int, state: State) -> State:
        (h,) = state
        if k == 0:
            return (self.head(h).view(-1, self.widths[0], 4, 4),)
        return (self.ups[k - 1](h),)

    def to_image(self, raw: Tensor) -> Tensor:
        return raw
