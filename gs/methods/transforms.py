"""Orthonormal sparsifying transforms Ψ on (B, C, H, W) numpy images, per channel.

``analysis(x)`` = Ψx (coefficients, flattened to (B, C·H·W)); ``synthesis(w)`` =
Ψᵀw. Both are orthonormal, so Ψᵀ = Ψ⁻¹ and ‖AΨᵀ‖ = ‖A‖. ``penalty_weights()`` gives
each coefficient's ℓ1 weight in a Lasso over the basis (0: not penalised).
"""

from __future__ import annotations

import numpy as np
import pywt
from scipy import fft


class DCT2:
    """Orthonormal 2-D DCT-II of each channel (``scipy.fft.dctn(norm="ortho")``)."""

    name = "dct"

    def __init__(self, image_shape: tuple[int, int, int]) -> None:
        self.image_shape = tuple(image_shape)

    def analysis(self, x: np.ndarray) -> np.ndarray:
        coeffs = fft.dctn(x.reshape(-1, *self.image_shape), axes=(-2, -1), norm="ortho")
        return coeffs.reshape(coeffs.shape[0], -1)

    def synthesis(self, w: np.ndarray) -> np.ndarray:
        images = fft.idctn(w.reshape(-1, *self.image_shape), axes=(-2, -1), norm="ortho")
        return images

    def penalty_weights(self) -> np.ndarray:
        """(C·H·W,) ones: every DCT coefficient is penalised alike (as validated)."""
        return np.ones(int(np.prod(self.image_shape)))


class Wavelet2:
    """Orthonormal 2-D discrete wavelet transform of each channel (PyWavelets).

    ``wavelet`` must be orthogonal (db4, as in CSGM's Lasso-Wavelet); periodic
    extension (``mode="periodization"``) keeps the transform square and orthonormal.
    ``level`` defaults to the deepest level PyWavelets allows for the image side.
    The coarse approximation band carries the image's local means, which are not sparse:
    the standard wavelet Lasso leaves it unpenalised (``penalty_weights``); penalising it
    fills unmeasured regions with values near 0 (BENCHMARKS.md, "Baselines").
    """

    name = "wavelet"

    def __init__(self, image_shape: tuple[int, int, int], wavelet: str = "db4",
                 level: int | None = None) -> None:
        self.image_shape = tuple(image_shape)
        self.wavelet = pywt.Wavelet(wavelet)
        if not self.wavelet.orthogonal:
            raise ValueError(f"wavelet must be orthogonal, got {wavelet!r}")
        side = min(self.image_shape[1:])
        self.level = pywt.dwt_max_level(side, self.wavelet.dec_len) if level is None else level
        if self.image_shape[1] % 2**self.level or self.image_shape[2] % 2**self.level:
            raise ValueError(f"image sides {self.image_shape[1:]} must be divisible by "
                             f"2**level = {2**self.level} for an orthonormal wavelet transform")
        self._slices: dict[int, list] = {}

    def analysis(self, x: np.ndarray) -> np.ndarray:
        x = x.reshape(-1, *self.image_shape)
        coeffs = pywt.wavedec2(x, self.wavelet, mode="periodization", level=self.level,
                               axes=(-2, -1))
        array, _ = pywt.coeffs_to_array(coeffs, axes=(-2, -1))
        return array.reshape(array.shape[0], -1)

    def synthesis(self, w: np.ndarray) -> np.ndarray:
        array = w.reshape(-1, *self.image_shape)
        coeffs = pywt.array_to_coeffs(array, self._layout(array.shape[0]),
                                      output_format="wavedec2")
        return pywt.waverec2(coeffs, self.wavelet, mode="periodization", axes=(-2, -1))

    def penalty_weights(self) -> np.ndarray:
        """(C·H·W,) weights: 0 on the approximation band, 1 on the detail bands."""
        weights = np.ones((1, *self.image_shape))
        approximation = self._layout(1)[0]  # the slices of the coarsest band in the array
        weights[(slice(None), slice(None), *approximation[-2:])] = 0.0
        return weights.reshape(-1)

    def _layout(self, batch: int) -> list:
        """Where each sub-band sits in the coefficient array of a batch of ``batch``."""
        if batch not in self._slices:
            probe = pywt.wavedec2(np.zeros((batch, *self.image_shape)), self.wavelet,
                                  mode="periodization", level=self.level, axes=(-2, -1))
            self._slices[batch] = pywt.coeffs_to_array(probe, axes=(-2, -1))[1]
        return self._slices[batch]


TRANSFORMS = {"dct": DCT2, "wavelet": Wavelet2}
