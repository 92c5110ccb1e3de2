"""Deep Decoder (Heckel & Hand 2019): an untrained, underparameterised image model.

``depth`` layers of 1×1 convolutions (``channels`` wide), each followed by bilinear
×2 upsampling (all but the last layer), ReLU and channel normalisation (batch norm
over the single image's pixels, with an affine per channel); a final 1×1 conv to
the image channels and a sigmoid. The input is a fixed random tensor
``channels × 4 × 4``; Adam fits the weights so that A·DD(input) ≈ y.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from gs.errors import UserInputError
from gs.methods.base import Method, MethodContext, StepCallback
from gs.methods.fitting import (
    Progress,
    adam_rows,
    fit_each_restart,
    residual_losses,
    to_image,
    to_tensor,
    torch_generator,
)
from gs.methods.presets import DeepDecoderSettings, auto_preset
from gs.models.seeded_init import reset_parameters_seeded
from gs.problems import Problem
from gs.results import Recovery


class DeepDecoderNet(nn.Module):
    """Input (1, k, s, s) fixed → image (1, C, s·2^(d−1), s·2^(d−1)) in [0, 1]."""

    def __init__(self, depth: int, channels: int, out_channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers.append(nn.Conv2d(channels, channels, 1, bias=False))
            if i < depth - 1:
                layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            layers += [nn.ReLU(), nn.BatchNorm2d(channels)]
        layers += [nn.Conv2d(channels, out_channels, 1, bias=False), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, seed_tensor: Tensor) -> Tensor:
        return self.net(seed_tensor)


class DeepDecoder(Method):
    """Deep Decoder fitted per image; settings default to Table 3's row for the size."""

    name: ClassVar[str] = "deep-decoder"
    prior: ClassVar[str] = "none"
    reports_steps: ClassVar[bool] = True

    def __init__(self, settings: DeepDecoderSettings | None = None, device: str = "cpu") -> None:
        self.settings = settings
        self.device = device

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        return cls(context.settings, device=context.device)

    def settings_for(self, image_side: int) -> DeepDecoderSettings:
        """The configured settings, or Table 3's row for ``image_side`` px."""
        return self.settings or auto_preset(self.name, image_side=image_side)

    def solve_one(self, problem: Problem, seed: int,
                  on_step: StepCallback | None = None) -> Recovery:
        c, h, w = problem.operator.image_shape
        s = self.settings_for(h)
        if (h, w) != (s.output_side, s.output_side):
            raise UserInputError(f"is {w}x{h} pixels; Deep Decoder settings (depth {s.depth}, "
                                 f"seed {s.seed_side}) make {s.output_side} px images",
                                 field="size")
        return fit_untrained(problem, seed, s.restarts, s.steps, s.lr,
                             lambda: DeepDecoderNet(s.depth, s.channels, c),
                             (s.channels, s.seed_side, s.seed_side), s.input_scale, 0.0,
                             self.device, on_step)


def input_perturbation(inputs: Tensor, std: float, gen: torch.Generator
                       ) -> Callable[[], Tensor]:
    """A function returning ``inputs`` plus fresh N(0, ``std``²) noise at every call (Deep
    Image Prior's regularisation), the noise from a stream seeded by one draw of ``gen``."""
    noise = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))

    def perturbed() -> Tensor:
        return inputs + std * torch.randn(inputs.shape, generator=noise).to(inputs.device)

    return perturbed


def fit_untrained(problem: Problem, seed: int, restarts: int, steps: int, lr: float,
                  build: Callable[[], nn.Module], input_shape: tuple[int, ...],
                  input_scale: float, input_noise: float, device: str,
                  on_step: StepCallback | None = None) -> Recovery:
    """Fit ``restarts`` freshly initialised networks ``build()`` to y; keep the best.

    Each restart draws its weights and its fixed input (uniform × ``input_scale``)
    from the BASELINE stream of (seed, problem index); ``input_noise`` > 0 perturbs
    the input with fresh N(0, input_noise²) noise at every step (Deep Image Prior's
    regularisation). ``on_step`` sees every Adam step of every restart.
    """
    operator = problem.operator
    gen = torch_generator(seed, problem.index)
    y = to_tensor(problem.y, device)

    def fit(_: int, progress: Progress) -> tuple[np.ndarray, float]:
        net = build()
        reset_parameters_seeded(net, gen)
        net.to(device).train()
        inputs = (torch.rand((1, *input_shape), generator=gen) * input_scale).to(device)
        perturbed = input_perturbation(inputs, input_noise, gen)

        def rows() -> Tensor:
            x = perturbed() if input_noise > 0 and torch.is_grad_enabled() else inputs
            return residual_losses(operator, net(x), y)

        adam_rows(list(net.parameters()), rows, steps, lr, progress=progress,
                  render=lambda _: net(inputs)[0])
        with torch.no_grad():
            image = net(inputs)
            loss = float(residual_losses(operator, image, y)[0])
        return to_image(image[0]), loss

    return fit_each_restart(problem, restarts, fit, steps, on_step=on_step)
