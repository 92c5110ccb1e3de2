"""The settings of the classical answers: interpolation, denoisers, TV for compressed
sensing, MRI and deblurring, Wiener deconvolution, zero filling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from gs.errors import UserInputError
from gs.methods.presets.base import Settings
from gs.params import Param


@dataclass(frozen=True)
class BicubicSettings(Settings):
    """Spline upsampling of the low-resolution observation (scipy.ndimage.zoom).

    ``order`` 3 (cubic) with the border reflected measured best among the centre-aligned
    upsamplers (scipy, scikit-image, PIL, torch: all within 0.15 dB; BENCHMARKS.md).
    """

    order: Annotated[int, Param("Spline order.", min=0, max=5)] = 3
    mode: Annotated[str, Param("How the border is extended (scipy.ndimage's mode).")
                    ] = "reflect"


@dataclass(frozen=True)
class InterpolationSettings(Settings):
    """Inpainting by interpolation: ``biharmonic`` (measured +1.2 dB over ``linear`` on
    faces, BENCHMARKS.md) or ``linear``."""

    kind: Annotated[str, Param("Interpolation.", choices=("biharmonic", "linear"))
                    ] = "biharmonic"


@dataclass(frozen=True)
class BM3DSettings(Settings):
    """BM3D with the known noise level; ``profile`` is the bm3d package's (``np``:
    normal profile)."""

    profile: Annotated[str, Param("The bm3d package's profile.")] = "np"


@dataclass(frozen=True)
class NLMeansSettings(Settings):
    """Non-local means: filter strength ``h`` in units of the noise std, patch size and
    search distance in pixels (scikit-image's ``fast_mode``)."""

    h: Annotated[float, Param("Filter strength in units of the noise std.", min=0,
                              min_open=True)] = 0.6
    patch_size: Annotated[int, Param("Patch size in pixels.", min=1)] = 5
    patch_distance: Annotated[int, Param("Search distance in pixels.", min=1)] = 6


@dataclass(frozen=True)
class TVSettings(Settings):
    """Total-variation denoising: Chambolle's weight in units of the noise std."""

    weight: Annotated[float, Param("Chambolle's weight in units of the noise std.",
                                   min=0, min_open=True)] = 1.0


@dataclass(frozen=True)
class WaveletSettings(Settings):
    """Wavelet shrinkage: scikit-image's threshold rule (``BayesShrink``, as measured in
    BENCHMARKS.md, or ``VisuShrink``)."""

    method: Annotated[str, Param("Threshold rule.", choices=("BayesShrink", "VisuShrink"))
                      ] = "BayesShrink"


@dataclass(frozen=True)
class TVIterations(Settings):
    """FISTA steps of a TV least-squares answer: ``iterations`` from the back-projection
    ``Aᵀy``; ``warm_iterations`` from an image near the answer (the generator's, where
    the answer rule fits TV without the held-out entries); ``refine_iterations`` from the
    fit without the held-out entries to the fit of all of them. The warm counts were
    measured on the validation photos (BENCHMARKS.md, "Defaults against the paper
    protocol")."""

    iterations: Annotated[int, Param("FISTA steps from the back-projection.", min=1)] = 200
    warm_iterations: Annotated[int, Param("FISTA steps from an image near the answer.",
                                          min=1)] = 100
    refine_iterations: Annotated[int, Param("FISTA steps from the fit without the held-out "
                                            "entries to the fit of all.", min=1)] = 25


@dataclass(frozen=True)
class TVCSSettings(TVIterations):
    """TV least squares for compressed sensing: FISTA steps (:class:`TVIterations`) and
    the TV weight λ at measured ratios m/n (``weights``: (ratio, λ) pairs, chosen on the
    validation photos: BENCHMARKS.md), interpolated log-linearly between them and held
    constant beyond them."""

    # pairs: their rule below, not a declared range
    weights: Annotated[tuple[tuple[float, float], ...], Param(
        "(ratio m/n, TV weight) pairs, interpolated log-linearly between the ratios.")
    ] = ((0.08, 1e-2), (0.33, 3e-3))

    def __post_init__(self) -> None:
        super().__post_init__()
        ratios = [r for r, _ in self.weights]
        if not self.weights or ratios != sorted(set(ratios)) or min(
                min(pair) for pair in self.weights) <= 0:
            raise UserInputError("must list (ratio, weight) pairs with increasing positive "
                                 f"ratios and positive weights, got {self.weights!r}",
                                 field="weights")

    def weight_for(self, ratio: float) -> float:
        """λ at measurement ratio ``ratio`` (log-linear between the measured ratios)."""
        import math

        ratios = [math.log(r) for r, _ in self.weights]
        values = [math.log(w) for _, w in self.weights]
        x = min(max(math.log(ratio), ratios[0]), ratios[-1])
        for (x0, v0), (x1, v1) in zip(zip(ratios, values), zip(ratios[1:], values[1:])):
            if x <= x1:
                return math.exp(v0 + (v1 - v0) * (x - x0) / (x1 - x0))
        return math.exp(values[-1])

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "weights": [list(pair) for pair in self.weights]}


@dataclass(frozen=True)
class ZeroFilledSettings(Settings):
    """MRI's zero-filled reconstruction has no parameters."""


@dataclass(frozen=True)
class WienerSettings(Settings):
    """Wiener–Hunt deconvolution: balance ``weight · σ²``, at least ``floor``."""

    weight: Annotated[float, Param("Balance in units of the noise variance.",
                                   min=0, min_open=True)] = 100.0
    floor: Annotated[float, Param("Smallest balance.", min=0, min_open=True)] = 1e-3


@dataclass(frozen=True)
class IterationsSettings(Settings):
    """An iterative answer's most iterations (unsupervised Wiener's Gibbs sampler)."""

    iterations: Annotated[int, Param("Most iterations.", min=1)] = 200


@dataclass(frozen=True)
class TVDeblurSettings(TVIterations):
    """TV least squares for deblurring: λ = ``weight · σ`` (σ the noise std, at least
    0.001), FISTA steps (:class:`TVIterations`)."""

    weight: Annotated[float, Param("TV weight in units of the noise std.", min=0,
                                   min_open=True)] = 1.0
