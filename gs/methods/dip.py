"""Deep Image Prior (Ulyanov et al. 2018) with its encoder–decoder "skip" network.

Per scale i (``channels[i]`` wide): down = conv3×3 stride 2, BN, LeakyReLU, conv3×3,
BN, LeakyReLU; skip = conv1×1 to ``skip_channels``, BN, LeakyReLU; up = BN of
[skip, bilinear ×2 of the deeper output], conv3×3, BN, LeakyReLU, conv1×1, BN,
LeakyReLU. A final conv1×1 and a sigmoid give the image. The network is fitted to
y from a fixed noise input for a fixed number of Adam steps (no early stopping,
which would need the ground truth); see :class:`gs.methods.presets.DIPSettings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from gs.errors import UserInputError
from gs.methods.base import Method, MethodContext, StepCallback
from gs.methods.deep_decoder import fit_untrained
from gs.methods.presets import DIPSettings, preset
from gs.problems import Problem
from gs.results import Recovery


def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, padding_mode="reflect"),
            nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)]


class _Level(nn.Module):
    """One scale of the skip network wrapped around the deeper ones (``inner``)."""

    def __init__(self, cin: int, width: int, skip: int, inner: nn.Module | None,
                 inner_out: int) -> None:
        super().__init__()
        self.down = nn.Sequential(*_conv(cin, width, 3, 2), *_conv(width, width, 3))
        self.inner = inner
        self.skip = nn.Sequential(*_conv(cin, skip, 1)) if skip else None
        deeper = inner_out if inner is not None else width
        self.up = nn.Sequential(nn.BatchNorm2d(skip + deeper), *_conv(skip + deeper, width, 3),
                                *_conv(width, width, 1))

    def forward(self, x: Tensor) -> Tensor:
        deep = self.down(x)
        if self.inner is not None:
            deep = self.inner(deep)
        deep = nn.functional.interpolate(deep, size=x.shape[-2:], mode="bilinear",
                                         align_corners=False)
        parts = [deep] if self.skip is None else [self.skip(x), deep]
        return self.up(torch.cat(parts, dim=1))


def scales_for(side: int, channels: Sequence[int]) -> tuple[int, ...]:
    """The first of ``channels`` (one width per scale) that leave the deepest scale of a
    ``side`` px image at 2×2 px or more: at 1×1 batch norm would see one value."""
    usable = max(1, min(len(channels), int(side).bit_length() - 2))
    return tuple(channels[:usable])


def check_sides(image_shape: Sequence[int], scales: int, who: str) -> None:
    """Refuse a (C, H, W) image whose sides ``scales`` halvings do not divide, naming
    ``who`` (the network that needs them, e.g. ``"DIP"``)."""
    _, h, w = image_shape
    factor = 2**scales
    if h % factor or w % factor:
        raise UserInputError(f"is {w}x{h} pixels; {who} with {scales} scales needs sides "
                             f"divisible by {factor}", field="size")


class SkipNet(nn.Module):
    """(1, input_depth, H, W) → (1, C, H, W) in [0, 1]; H, W divisible by 2**len(channels)."""

    def __init__(self, input_depth: int, channels: Sequence[int], skip: int,
                 out_channels: int) -> None:
        super().__init__()
        inner: nn.Module | None = None
        inner_out = 0
        for i in reversed(range(len(channels))):
            cin = input_depth if i == 0 else channels[i - 1]
            inner = _Level(cin, channels[i], skip, inner, inner_out)
            inner_out = channels[i]
        self.body = inner
        self.head = nn.Sequential(nn.Conv2d(channels[0], out_channels, 1), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


class DeepImagePrior(Method):
    """Deep Image Prior with a fixed step budget (see the module docstring)."""

    name: ClassVar[str] = "dip"
    prior: ClassVar[str] = "none"
    reports_steps: ClassVar[bool] = True

    def __init__(self, settings: DIPSettings | None = None, device: str = "cpu") -> None:
        self.settings = settings or preset(self.name)
        self.device = device

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        return cls(context.settings, device=context.device)

    def solve_one(self, problem: Problem, seed: int,
                  on_step: StepCallback | None = None) -> Recovery:
        s = self.settings
        c, h, w = problem.operator.image_shape
        check_sides((c, h, w), len(s.channels), "DIP")
        return fit_untrained(problem, seed, s.restarts, s.steps, s.lr,
                             lambda: SkipNet(s.input_depth, s.channels, s.skip_channels, c),
                             (s.input_depth, h, w), 0.1, s.input_noise, self.device, on_step)
