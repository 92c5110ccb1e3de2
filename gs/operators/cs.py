"""Compressed sensing, ``y = A vec(x)`` with ``m`` random measurements of ``n = C·H·W``.

:class:`CompressedSensing` holds what every CS operator shares (``m``, the paper's noise
level, ``ratio`` → ``m``); :class:`GaussianCS` is the dense i.i.d. Gaussian matrix.
The matrix-free :class:`~gs.operators.structured.StructuredCS` lives beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from gs.errors import UserInputError
from gs.operators.base import Operator, read_only
from gs.operators.memory import available_bytes, format_bytes
from gs.operators.options import check_option
from gs.operators.validation import as_image_shape, as_measurements, field_error

#: Reference dimension of the paper's noise level (3 x 64 x 64 images).
CS_REFERENCE_SIZE = 12288
#: Noise std per measurement of the paper's setting at ``m = n = CS_REFERENCE_SIZE``.
CS_REFERENCE_NOISE = 0.1

_DRAW_CHUNK_VALUES = 1 << 22  # float64 values drawn at once for the Gaussian matrix


def draw_gaussian_matrix(
    rng: np.random.Generator, m: int, n: int, chunk_rows: int | None = None
) -> np.ndarray:
    """``(rng.standard_normal((m, n)) / sqrt(m)).astype(float32)``, drawn in row blocks.

    numpy fills ``standard_normal`` in C order from one stream, so drawing row blocks
    in sequence gives exactly the values of the one-shot draw without its float64
    temporary of ``m * n`` values.
    """
    if chunk_rows is None:
        chunk_rows = max(1, _DRAW_CHUNK_VALUES // n)
    matrix = np.empty((m, n), dtype=np.float32)
    scale = math.sqrt(m)
    for start in range(0, m, chunk_rows):
        stop = min(m, start + chunk_rows)
        matrix[start:stop] = rng.standard_normal((stop - start, n)) / scale
    return matrix


def measurements_from_options(options: Mapping[str, Any], size: int) -> int:
    """``m`` from exactly one of ``measurements`` and ``ratio`` (``round(ratio * n)``, >= 1)."""
    measurements, ratio = options.get("measurements"), options.get("ratio")
    if (measurements is None) == (ratio is None):
        raise UserInputError(
            "{measurements}/{ratio}: give exactly one of the number of measurements "
            "and the measurement ratio for compressed sensing", refs=("measurements", "ratio"))
    if ratio is not None:
        ratio_value = check_option("ratio", ratio)
        return max(1, int(round(ratio_value * size)))
    return as_measurements(measurements, size)


class CompressedSensing(Operator):
    """Base of the CS operators: ``(B, C, H, W)`` -> ``(B, m)``, rows scaled so that
    ``E ||A x||² = ||x||²``.

    Args:
        measurements: ``m``, between 1 and ``n``.
        image_shape: ``(C, H, W)``.
        noise_std: noise std per measurement; None uses the paper's level
            ``0.1 * sqrt(n / (m * 12288))`` (:meth:`default_noise_std`).
    """

    task = "cs"
    parameters: ClassVar[tuple[str, ...]] = ("measurements",)
    defaults: ClassVar[Mapping[str, Any]] = {"noise_std": None}
    random = True

    def __init__(self, measurements: int, image_shape: tuple[int, int, int],
                 noise_std: float | None = None) -> None:
        shape = as_image_shape(image_shape)
        n = math.prod(shape)
        m = as_measurements(measurements, n)
        if noise_std is None:
            noise_std = self.default_noise_std(m, n)
        super().__init__(shape, noise_std)
        self._m = m
        self._n = n

    @staticmethod
    def default_noise_std(measurements: int, size: int) -> float:
        """The paper's noise std per measurement: ``0.1 * sqrt(n / (m * 12288))``."""
        return CS_REFERENCE_NOISE * math.sqrt(size / (measurements * CS_REFERENCE_SIZE))

    @classmethod
    def from_options(cls, image_shape: tuple[int, int, int], rng: np.random.Generator,
                     options: Mapping[str, Any]) -> Operator:
        """As the base, with ``m`` from ``measurements`` or ``ratio`` (exactly one)."""
        shape = as_image_shape(image_shape)
        m = measurements_from_options(options, math.prod(shape))
        params = {name: options[name] for name in cls.parameters if name != "measurements"}
        return cls.build(shape, rng, options["noise_std"], measurements=m, **params)

    @property
    def measurements(self) -> int:
        return self._m

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        return (self._m,)

    def describe(self) -> str:
        return f"CS m/n = {100 * self._m / self._n:.3g} %"

    def _params(self) -> dict[str, Any]:
        return {"measurements": self._m}


class GaussianCS(CompressedSensing):
    """Compressed sensing with a dense Gaussian matrix (task ``cs``, operator ``gaussian``).

    ``A`` is an ``m x n`` float32 matrix with i.i.d. ``N(0, 1/m)`` entries, drawn as
    ``rng.standard_normal((m, n)) / sqrt(m)``, applied to the CHW-flattened image
    (``n = C * H * W``): ``y = A vec(x)`` of shape ``(B, m)``. It takes ``4 m n`` bytes;
    a matrix larger than the memory available is refused before anything is drawn.

    Args:
        measurements: ``m``, between 1 and ``n``.
        image_shape: ``(C, H, W)``.
        rng: draws the matrix.
        noise_std: noise std per measurement; None uses the paper's level
            ``0.1 * sqrt(n / (m * 12288))``.
    """

    name = "gaussian"

    def __init__(
        self,
        measurements: int,
        image_shape: tuple[int, int, int],
        rng: np.random.Generator,
        noise_std: float | None = None,
    ) -> None:
        super().__init__(measurements, image_shape, noise_std)
        needed = self.matrix_bytes(self._m, self._n)
        available = available_bytes()
        if needed > available:
            raise field_error(
                "operator",
                f"gaussian needs a dense {self._m} x {self._n} float32 matrix of "
                f"{format_bytes(needed)} but only {format_bytes(available)} of memory is "
                "available; use the structured operator",
            )
        self._matrix = draw_gaussian_matrix(rng, self._m, self._n)

    @staticmethod
    def matrix_bytes(measurements: int, size: int) -> int:
        """Bytes of the dense float32 matrix for ``m`` measurements of ``n`` values."""
        return 4 * int(measurements) * int(size)

    @property
    def matrix(self) -> np.ndarray:
        """The ``(m, n)`` float32 sensing matrix (read-only view)."""
        return read_only(self._matrix)

    def A(self, x: Any) -> Any:  # noqa: N802
        xp = self._check(x, self._image_shape, "images")
        matrix = self._constant("matrix", self._matrix, x)
        flat = xp.reshape(x, (x.shape[0], self._n))
        return xp.matmul(flat, xp.permute_dims(matrix, (1, 0)))

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        xp = self._check(y, (self._m,), "measurements")
        matrix = self._constant("matrix", self._matrix, y)
        return xp.reshape(xp.matmul(y, matrix), (y.shape[0], *self._image_shape))
