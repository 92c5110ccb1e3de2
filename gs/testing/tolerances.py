"""Tolerances that follow from float32 arithmetic, for comparing two computations of the
same network output or gradient (another BLAS, thread count, fused kernel or runtime)."""

from __future__ import annotations

import numpy as np
import torch

F32_EPS = float(np.finfo(np.float32).eps)  # 1.19e-7: relative rounding of one float32 op

LAYERS = (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)
"""The layers whose sums dominate a network's rounding error."""


def f32_atol(reduction: int, magnitude: float = 1.0, depth: int = 1) -> float:
    """Absolute tolerance between two float32 computations of the same quantity.

    A sum of ``reduction`` products whose terms are of size ``magnitude`` carries a
    rounding error that grows like a random walk, ``eps · √reduction · magnitude``;
    another summation order (another BLAS, thread count or fused kernel) gives
    another such error, and ``depth`` stacked layers add theirs. The factor 4
    covers both sides with room (each side's error stays within 2σ).
    """
    return 4.0 * depth * F32_EPS * float(np.sqrt(reduction)) * magnitude


def _layers(module: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in module.modules() if isinstance(m, LAYERS)]


def fan_in(layer: torch.nn.Module) -> int:
    """Products summed into one output: weight (in, out, kh, kw) for transposed convolutions."""
    weight = layer.weight
    if isinstance(layer, torch.nn.ConvTranspose2d):
        return weight[:, 0].numel()
    return weight[0].numel()


def fan_out(layer: torch.nn.Module) -> int:
    """Products summed into one input gradient (the backward pass's reduction)."""
    weight = layer.weight
    if isinstance(layer, torch.nn.ConvTranspose2d):
        return weight[0].numel()
    return weight[:, 0].numel()


def network_atol(module: torch.nn.Module, magnitude: float = 1.0) -> float:
    """:func:`f32_atol` for a network's output: its widest reduction, once per layer.

    The reduction of a convolution, transposed convolution or linear layer is its
    fan-in (input channels × kernel size); ``depth`` is the number of such layers.
    """
    layers = _layers(module)
    return f32_atol(max(map(fan_in, layers)), magnitude, depth=len(layers))


def gradient_atol(module: torch.nn.Module, magnitude: float) -> float:
    """:func:`f32_atol` for a vector–Jacobian product through a network: the forward
    pass's sums and the backward pass's (fan-out), once per layer each, at the
    gradient's ``magnitude``."""
    layers = _layers(module)
    widest = max(max(fan_in(layer), fan_out(layer)) for layer in layers)
    return f32_atol(widest, magnitude, depth=2 * len(layers))


def _tensor(value: object) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value) if isinstance(value, np.ndarray) else value
                           ).detach()


def assert_close_f32(actual: object, expected: object, module: torch.nn.Module) -> None:
    """``actual`` equals ``expected`` (outputs of ``module``) within float32 rounding.

    The tolerance is :func:`network_atol` at the magnitude of ``expected`` (at least 1).
    """
    expected, actual = _tensor(expected), _tensor(actual)
    magnitude = max(1.0, float(expected.abs().max()))
    torch.testing.assert_close(actual, expected, rtol=0, atol=network_atol(module, magnitude))


def assert_gradients_close(actual: object, expected: object, module: torch.nn.Module) -> None:
    """``actual`` equals the gradient ``expected`` through ``module`` within float32
    rounding (:func:`gradient_atol` at the gradient's largest entry, which must not be 0:
    a vanishing gradient would make the comparison vacuous)."""
    expected, actual = _tensor(expected), _tensor(actual)
    magnitude = float(expected.abs().max())
    assert magnitude > 0, "the expected gradient is zero: the comparison would prove nothing"
    torch.testing.assert_close(actual, expected, rtol=0, atol=gradient_atol(module, magnitude))
