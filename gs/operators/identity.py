"""Operators whose ``A`` is the identity: denoising, and the noise-free ``raw`` task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from gs.operators.base import Operator, pixel_groups


class Identity(Operator):
    """``A = I`` without noise (task ``raw``): recovering ``x`` from ``x`` itself measures
    how well a cut generator can represent an image (its representation error).

    Args:
        image_shape: ``(C, H, W)``.
        noise_std: noise std, non-negative (None: ``defaults["noise_std"]``, 0).
    """

    task = "raw"
    name = "identity"
    defaults: ClassVar[Mapping[str, Any]] = {"noise_std": 0.0}

    def __init__(self, image_shape: tuple[int, int, int], noise_std: float | None = None) -> None:
        super().__init__(image_shape, noise_std)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        return self._image_shape

    def preview(self, y: np.ndarray) -> np.ndarray:
        """The observed image itself, clipped to [0, 1]."""
        return np.clip(np.asarray(y, dtype=np.float32), 0, 1)

    def describe(self) -> str:
        return f"noise std {self.noise_std:.3g}"

    def measurement_groups(self) -> np.ndarray:
        """Every channel of a pixel together (see :meth:`Operator.measurement_groups`)."""
        return pixel_groups(self.measurement_shape)

    def A(self, x: Any) -> Any:  # noqa: N802
        """Returns ``x`` itself (no copy)."""
        self._check(x, self._image_shape, "images")
        return x

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        """Returns ``y`` itself (no copy)."""
        self._check(y, self._image_shape, "measurements")
        return y

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        return 1.0


class Denoising(Identity):
    """Denoising (task ``denoise``): ``A`` is the identity, ``y = x + noise_std * e``.

    Args:
        image_shape: ``(C, H, W)``.
        noise_std: noise std, non-negative (None: ``defaults["noise_std"]``, 0.1).
    """

    task = "denoise"
    defaults: ClassVar[Mapping[str, Any]] = {"noise_std": 0.1}
