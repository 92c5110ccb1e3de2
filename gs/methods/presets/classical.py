"""The settings of the classical answers: interpolation, denoisers, TV for compressed
sensing, MRI and deblurring, Wiener deconvolution, zero filling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gs.errors import UserInputError
from gs.methods.presets.base import Settings, one_of, positive


@dataclass(frozen=True)
class BicubicSettings(Settings):
    """Spline upsampling of the low-resolution observation (scipy.ndimage.zoom).

    ``order`` 3 (cubic) with the border reflected measured best among the centre-aligned
    upsamplers (scipy, scikit-image, PIL, torch: all within 0.15 dB; BENCHMARKS.md).
    """

    order: int = 3
    mode: str = "reflect"

    def __post_init__(self) -> None:
        if self.order not in range(6):
            raise UserInputError(f"must be 0 to 5, got {self.order!r}", field="order")


@dataclass(frozen=True)
class InterpolationSettings(Settings):
    """Inpainting by interpolation: ``biharmonic`` (measured +1.2 dB over ``linear`` on
    faces, BENCHMARKS.md) or ``linear``."""

    kind: str = "biharmonic"

    def __post_init__(self) -> None:
        one_of("kind", self.kind, ("biharmonic", "linear"))


@dataclass(frozen=True)
class BM3DSettings(Settings):
    """BM3D with the known noise level; ``profile`` is the bm3d package's (``np``:
    normal profile)."""

    profile: str = "np"


@dataclass(frozen=True)
class NLMeansSettings(Settings):
    """Non-local means: filter strength ``h`` in units of the noise std, patch size and
    search distance in pixels (scikit-image's ``fast_mode``)."""

    h: float = 0.6
    patch_size: int = 5
    patch_distance: int = 6

    def __post_init__(self) -> None:
        positive("NLMeansSettings", h=self.h, patch_size=self.patch_size,
                 patch_distance=self.patch_distance)


@dataclass(frozen=True)
class TVSettings(Settings):
    """Total-variation denoising: Chambolle's weight in units of the noise std."""

    weight: float = 1.0

    def __post_init__(self) -> None:
        positive("TVSettings", weight=self.weight)


@dataclass(frozen=True)
class WaveletSettings(Settings):
    """Wavelet shrinkage: scikit-image's threshold rule (``BayesShrink``, as measured in
    BENCHMARKS.md, or ``VisuShrink``)."""

    method: str = "BayesShrink"

    def __post_init__(self) -> None:
        one_of("method", self.method, ("BayesShrink", "VisuShrink"))


@dataclass(frozen=True)
class TVIterations(Settings):
    """FISTA steps of a TV least-squares answer: ``iterations`` from the back-projection
    ``Aᵀy``; ``warm_iterations`` from an image near the answer (the generator's, where
    the answer rule fits TV without the held-out entries); ``refine_iterations`` from the
    fit without the held-out entries to the fit of all of them. The warm counts were
    measured on the validation photos (BENCHMARKS.md, "Defaults against the paper
    protocol")."""

    iterations: int = 200
    warm_iterations: int = 100
    refine_iterations: int = 25

    def __post_init__(self) -> None:
        positive(type(self).__name__, iterations=self.iterations,
                 warm_iterations=self.warm_iterations,
                 refine_iterations=self.refine_iterations)


@dataclass(frozen=True)
class TVCSSettings(TVIterations):
    """TV least squares for compressed sensing: FISTA steps (:class:`TVIterations`) and
    the TV weight λ at measured ratios m/n (``weights``: (ratio, λ) pairs, chosen on the
    validation photos: BENCHMARKS.md), interpolated log-linearly between them and held
    constant beyond them."""

    weights: tuple[tuple[float, float], ...] = ((0.08, 1e-2), (0.33, 3e-3))

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

    weight: float = 100.0
    floor: float = 1e-3

    def __post_init__(self) -> None:
        positive("WienerSettings", weight=self.weight, floor=self.floor)


@dataclass(frozen=True)
class IterationsSettings(Settings):
    """An iterative answer's most iterations (unsupervised Wiener's Gibbs sampler)."""

    iterations: int = 200

    def __post_init__(self) -> None:
        positive("IterationsSettings", iterations=self.iterations)


@dataclass(frozen=True)
class TVDeblurSettings(TVIterations):
    """TV least squares for deblurring: λ = ``weight · σ`` (σ the noise std, at least
    0.001), FISTA steps (:class:`TVIterations`)."""

    weight: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        positive("TVDeblurSettings", weight=self.weight)
