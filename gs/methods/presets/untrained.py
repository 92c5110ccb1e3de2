"""The settings of the untrained-network priors: Deep Decoder and Deep Image Prior."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from gs.errors import UserInputError
from gs.methods.presets.base import ADAM_LR, ADAM_STEPS, RESTARTS, Settings
from gs.params import Param


@dataclass(frozen=True)
class DeepDecoderSettings(Settings):
    """Deep Decoder (Heckel & Hand 2019), Table 3: Adam on the weights, fixed input.

    ``depth`` 1×1-conv layers of ``channels`` channels, each followed by bilinear ×2
    upsampling (all but the last), ReLU and channel normalisation; the seed tensor is
    ``channels × seed_side × seed_side``, so the output side is
    ``seed_side · 2**(depth-1)`` (64 px: depth 5; 128 px: depth 6).
    """

    depth: Annotated[int, Param("1x1-conv layers.", min=1)] = 5
    channels: Annotated[int, Param("Channels of every layer.", min=1)] = 44
    lr: Annotated[float, ADAM_LR] = 1e-2
    steps: Annotated[int, ADAM_STEPS] = 5000
    restarts: Annotated[int, RESTARTS] = 1
    seed_side: Annotated[int, Param("Side of the fixed input tensor.", min=1)] = 4
    input_scale: Annotated[float, Param("Scale of the fixed random input.", min=0,
                                        min_open=True)] = 0.1

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

    channels: Annotated[tuple[int, ...], Param("Width of each scale.", min=1)] = (
        128, 128, 128, 128, 128)
    skip_channels: Annotated[int, Param("Channels of each skip connection.", min=0)] = 4
    input_depth: Annotated[int, Param("Channels of the input noise.", min=1)] = 32
    lr: Annotated[float, ADAM_LR] = 1e-2
    steps: Annotated[int, ADAM_STEPS] = 2000
    input_noise: Annotated[float, Param("Std of the perturbation of the input at every "
                                        "step.", min=0)] = 1 / 30
    restarts: Annotated[int, RESTARTS] = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.channels:
            raise UserInputError("must list the width of at least one scale, got ()",
                                 field="channels")
