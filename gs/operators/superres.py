"""Super-resolution: downsampling by an integer factor with a fixed block kernel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from gs.operators.base import Operator, pixel_groups, read_only
from gs.operators.options import (  # noqa: F401 - SR_METHODS, SR_SCALES re-exported
    SR_METHODS,
    SR_SCALES,
    check_option,
)
from gs.operators.validation import as_image_shape, field_error


class SuperResolution(Operator):
    """Downsampling by an integer factor ``s`` (task ``sr``, operator ``downsample``).

    Each ``s x s`` block of the image is reduced to one pixel by a weighted sum with an
    ``s x s`` kernel ``w``: ``(B, C, H, W)`` -> ``(B, C, H/s, W/s)``; the adjoint spreads
    each measurement over its block times ``w``.

    ``area``: ``w = 1/s²`` (``F.avg_pool2d(x, s)``). ``bilinear``: ``w = 1/4`` on the
    central 2 x 2 pixels of the block, 0 elsewhere, which is exactly
    ``F.interpolate(x, scale_factor=1/s, mode="bilinear", align_corners=False)``
    without antialiasing.

    Args:
        scale: 2, 4 or 8, dividing ``H`` and ``W``.
        image_shape: ``(C, H, W)``.
        method: ``bilinear`` or ``area``.
        noise_std: measurement noise std (None: ``defaults["noise_std"]``, 0).
    """

    task = "sr"
    name = "downsample"
    parameters: ClassVar[tuple[str, ...]] = ("scale", "method")
    defaults: ClassVar[Mapping[str, Any]] = {"scale": 4, "method": "bilinear", "noise_std": 0.0}

    def __init__(
        self,
        scale: int,
        image_shape: tuple[int, int, int],
        method: str = "bilinear",
        noise_std: float | None = None,
    ) -> None:
        s = check_option("scale", scale)
        method = check_option("method", method)
        shape = as_image_shape(image_shape)
        if shape[1] % s or shape[2] % s:
            raise field_error(
                "scale", f"{s} must divide the image height and width, got {shape[1]}x{shape[2]}"
            )
        super().__init__(shape, noise_std)
        self._scale = s
        self._method = method
        if method == "area":
            kernel = np.full((s, s), 1.0 / (s * s), dtype=np.float32)
        else:
            kernel = np.zeros((s, s), dtype=np.float32)
            kernel[s // 2 - 1 : s // 2 + 1, s // 2 - 1 : s // 2 + 1] = 0.25
        self._kernel = kernel
        self._kernel6 = kernel.reshape(1, 1, 1, s, 1, s)

    @property
    def scale(self) -> int:
        return self._scale

    @property
    def method(self) -> str:
        return self._method

    @property
    def kernel(self) -> np.ndarray:
        """The ``(s, s)`` float32 block weights (read-only view)."""
        return read_only(self._kernel)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        c, h, w = self._image_shape
        return (c, h // self._scale, w // self._scale)

    def consistent(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Back-projection: ``x + Aᵀ (y − A x) / ‖w‖²`` (the blocks do not overlap, so
        A Aᵀ = ‖w‖² I): each block keeps its detail and takes the measured weighted mean."""
        x = np.asarray(x, dtype=np.float32)
        residual = np.asarray(y, dtype=np.float32)[None] - self.A(x[None])
        weight = np.float32(np.sum(self._kernel.astype(np.float64) ** 2))
        return x + self.A_adjoint(residual)[0] / weight

    def measurement_groups(self) -> np.ndarray:
        """Every channel of a low-resolution pixel together."""
        return pixel_groups(self.measurement_shape)

    def preview(self, y: np.ndarray) -> np.ndarray:
        """The low-resolution image enlarged to the image size (nearest neighbour)."""
        return np.clip(self.upsample(np.asarray(y, dtype=np.float32)[None])[0], 0, 1)

    def describe(self) -> str:
        return f"SR x{self.scale}"

    def A(self, x: Any) -> Any:  # noqa: N802
        xp = self._check(x, self._image_shape, "images")
        c, h, w = self.measurement_shape
        s = self._scale
        blocks = xp.reshape(x, (x.shape[0], c, h, s, w, s))
        return xp.sum(blocks * self._constant("kernel", self._kernel6, x), axis=(3, 5))

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        xp = self._check(y, self.measurement_shape, "measurements")
        c, h, w = self.measurement_shape
        spread = xp.reshape(y, (y.shape[0], c, h, 1, w, 1)) * self._constant(
            "kernel", self._kernel6, y
        )
        return xp.reshape(spread, (y.shape[0], *self._image_shape))

    def upsample(self, y: Any) -> Any:
        """Nearest-neighbour upsampling of ``(B, C, H/s, W/s)`` to ``(B, C, H, W)``.

        A simple right inverse of ``A`` for constant blocks, e.g. for display.
        """
        xp = self._check(y, self.measurement_shape, "measurements")
        c, h, w = self.measurement_shape
        s = self._scale
        ones = self._constant("ones", np.ones((1, 1, 1, s, 1, s), dtype=np.float32), y)
        return xp.reshape(
            xp.reshape(y, (y.shape[0], c, h, 1, w, 1)) * ones, (y.shape[0], *self._image_shape)
        )

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        # A Aᵀ = ||w||² I because the blocks do not overlap.
        return float(np.sqrt(np.sum(self._kernel.astype(np.float64) ** 2)))

    def _params(self) -> dict[str, Any]:
        return {"scale": self._scale, "method": self._method}
