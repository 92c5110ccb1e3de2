"""Measurement noise, kept apart from the forward model ``A``.

A noise model maps noise-free measurements ``A(x)`` to noisy ones; its randomness comes
only from an explicit ``numpy.random.Generator``, so the numpy and torch runtimes see the
same noise for the same generator.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np
from array_api_compat import array_namespace

from gs.operators.options import check_option


def as_noise_std(noise_std: Any) -> float:
    """``noise_std`` as a finite non-negative float, else a field-named error."""
    return check_option("noise_std", noise_std)


class GaussianNoise:
    """Additive white Gaussian noise ``y = z + std * e``, ``e ~ N(0, I)``.

    Args:
        std: standard deviation per measurement, non-negative, in the units of ``z``.
    """

    def __init__(self, std: float) -> None:
        self.std = as_noise_std(std)

    def __call__(self, z: Any, rng: np.random.Generator) -> Any:
        """``z + std * e`` with ``e = rng.standard_normal(z.shape)`` (float64, then cast).

        ``e`` is drawn always, even when ``std`` is 0, so that the generator advances the
        same way for every noise level and backend. Same namespace, dtype and device as
        ``z`` (any shape).
        """
        xp = array_namespace(z)
        noise = rng.standard_normal(tuple(int(s) for s in z.shape))
        noise = xp.asarray(noise, dtype=z.dtype, device=array_api_compat.device(z))
        return z + self.std * noise

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std!r})"
