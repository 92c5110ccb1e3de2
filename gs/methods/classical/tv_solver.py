"""Total-variation regularised least squares by FISTA (Beck & Teboulle 2009):
``min_x ½‖y − A x‖² + λ·TV(x)`` over images in [0, 1], the proximal step scikit-image's
Chambolle TV denoiser. The solver of ``tv-cs``, ``tv-mri`` and ``tv-deblur``
(:mod:`gs.methods.classical.tv`), cold from ``Aᵀy`` or warm from an image near the answer,
on every entry of y or on some of them."""

from __future__ import annotations

from typing import Any

import numpy as np


def tv_fista(operator: Any, y: np.ndarray, weight: float, iterations: int,
             fitted: np.ndarray | None = None, start: np.ndarray | None = None) -> np.ndarray:
    """The TV least-squares image after ``iterations`` FISTA steps.

    Args:
        operator: the problem's operator (``A``, ``A_adjoint`` on a batch of one,
            ``norm()``: an estimate of ‖A‖).
        y: the measurements, shaped as the operator's.
        weight: λ ≥ 0, the TV term's weight.
        iterations: FISTA steps (0: the start itself).
        fitted: bool, one per entry of y (any shape of that size): the entries fitted;
            None: all of them.
        start: (C, H, W) in [0, 1], the first iterate; None: ``Aᵀy`` (of the fitted
            entries) clipped to [0, 1].

    Returns:
        (C, H, W) float32 in [0, 1].
    """
    from skimage.restoration import denoise_tv_chambolle

    # float32 like the operator's matrix: a float64 iterate would copy the matrix to
    # float64 on every product, and the answer agrees with float64's to ~1e-6.
    y = np.asarray(y, dtype=np.float32)[None]
    keep = np.float32(1) if fitted is None else fitted.reshape(y.shape).astype(np.float32)
    # 1/L with L = ‖A‖² bounds ‖A_S‖² of any subset S of the rows too; 1 % margin for
    # the power-iteration estimate.
    step = np.float32(1.0 / (operator.norm() ** 2 * 1.01))
    x = (np.clip(np.asarray(operator.A_adjoint(y * keep)), 0, 1) if start is None
         else np.asarray(start, np.float32)[None])
    v, t = x, 1.0
    for _ in range(iterations):
        gradient = np.asarray(operator.A_adjoint((operator.A(v) - y) * keep))
        z = (v - step * gradient)[0].transpose(1, 2, 0)
        x_next = np.clip(denoise_tv_chambolle(z, weight=float(step * weight),
                                              channel_axis=-1),
                         0, 1).transpose(2, 0, 1)[None].astype(np.float32)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        v = x_next + np.float32((t - 1) / t_next) * (x_next - x)
        x, t = x_next, t_next
    return x[0]
