"""Tolerances that follow from float32 arithmetic, for comparing two computations of the
same network output or gradient (another BLAS, thread count, fused kernel or runtime),
or of an operator's ``A x`` and ``Aᵀ y``.

A float result of a length-k sum differs from the exact one by at most about
``eps · √k · Σ|terms|`` (random-walk rounding, any summation order, BLAS or thread
count); for an operator ``Σ|terms|`` of ``A x`` is ``|A| |x|`` elementwise, read off the
operator's explicit matrix on small test shapes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from gs.operators import Operator

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


def to_numpy(array: Any) -> np.ndarray:
    """A numpy copy of a numpy array or a torch tensor (any device)."""
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def explicit_matrix(op: Operator) -> np.ndarray:
    """``(m, n)`` float64 matrix whose columns are ``A e_i`` (CHW-flattened)."""
    n = math.prod(op.image_shape)
    columns = to_numpy(op.A(np.eye(n).reshape(n, *op.image_shape)))
    return columns.reshape(n, -1).T


def rounding_bound(op: Operator, x: Any, dtype: Any, *, adjoint: bool = False) -> np.ndarray:
    """Elementwise bound on the rounding error of ``A x`` (``Aᵀ x``) computed in ``dtype``.

    ``2 · eps · √k · (|A| |x|)``, k the number of terms of each output; the 2 covers the
    rounding of the inputs' cast to ``dtype`` as well.
    """
    matrix = np.abs(explicit_matrix(op))
    if adjoint:
        matrix = matrix.T
    k = max(1, int(np.count_nonzero(matrix, axis=1).max()))
    flat = np.abs(to_numpy(x).astype(np.float64)).reshape(len(x), -1)
    eps = float(np.finfo(dtype).eps)
    magnitude = flat @ matrix.T
    shape = (len(x), *(op.image_shape if adjoint else op.measurement_shape))
    return (2 * eps * math.sqrt(k) * magnitude + np.finfo(np.float64).tiny).reshape(shape)


def assert_within(actual: Any, expected: Any, bound: np.ndarray, what: str = "") -> None:
    """``|actual - expected| <= bound`` elementwise, with the worst offender in the message."""
    diff = np.abs(to_numpy(actual).astype(np.float64) - to_numpy(expected).astype(np.float64))
    excess = diff - bound
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    assert excess[worst] <= 0, (
        f"{what}: |difference| {diff[worst]:.3g} exceeds the rounding bound {bound[worst]:.3g} "
        f"at {worst}"
    )
