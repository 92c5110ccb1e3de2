"""The settings of the untrained-network priors: Deep Decoder and Deep Image Prior."""

from __future__ import annotations

from dataclasses import dataclass

from gs.errors import UserInputError
from gs.methods.presets.base import Settings, positive


@dataclass(frozen=True)
class DeepDecoderSettings(Settings):
    """Deep Decoder (Heckel & Hand 2019), Table 3: Adam on the weights, fixed input.

    ``depth`` 1×1-conv layers of ``channels`` channels, each followed by bilinear ×2
    upsampling (all but the last), ReLU and channel normalisation; the seed tensor is
    ``channels × seed_side × seed_side``, so the output side is
    ``seed_side · 2**(depth-1)`` (64 px: depth 5; 128 px: depth 6).
    """

    depth: int = 5
    channels: int = 44
    lr: float = 1e-2
    steps: int = 5000
    restarts: int = 1
    seed_side: int = 4
    input_scale: float = 0.1

    def __post_init__(self) -> None:
        positive("DeepDecoderSettings", depth=self.depth, channels=self.channels, lr=self.lr,
                 steps=self.steps, restarts=self.restarts, seed_side=self.seed_side,
                 input_scale=self.input_scale)

    @property
    def output_side(self) -> int:
        return self.seed_side * 2 ** (self.depth - 1)


@dataclass(frozen=True)
class DIPSettings(Settings):
    """Deep Image Prior (Ulyanov et al. 2018): its encoder–decoder "skip" network.

    Fixed budget, no early stopping: ``steps`` Adam steps at ``lr`` (2000, the
    DIP paper's super-resolution budget), input noise of ``input_depth`` channels
    (uniform × 0.1) perturbed by N(0, ``input_noise``²) at every step (1/30, as in
    DIP). ``channels`` lists the width of each of the ``len(channels)`` scales; the
    image side must be divisible by ``2**len(channels)``.
    """

    channels: tuple[int, ...] = (128, 128, 128, 128, 128)
    skip_channels: int = 4
    input_depth: int = 32
    lr: float = 1e-2
    steps: int = 2000
    input_noise: float = 1 / 30
    restarts: int = 1

    def __post_init__(self) -> None:
        positive("DIPSettings", lr=self.lr, steps=self.steps, restarts=self.restarts,
                 input_depth=self.input_depth)
        if not self.channels or min(self.channels) < 1 or self.skip_channels < 0:
            raise UserInputError(f"must be positive widths, with skip_channels non-negative; "
                                 f"got {self.channels} and {self.skip_channels}",
                                 field="channels")
        if self.input_noise < 0:
            raise UserInputError(f"must be non-negative, got {self.input_noise}",
                                 field="input_noise")
