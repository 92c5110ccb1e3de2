"""Every hyperparameter of every baseline, as typed presets in one place.

The generator-prior rows follow the supplement's Table 3 (Adam everywhere, three
random restarts chosen by measurement loss); the others cite their papers. A
method's constructor takes one of these dataclasses; :func:`preset` looks a named
one up, and ``settings.override(steps=...)`` changes single fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from gs.errors import UserInputError

LASSO_SOLVERS = ("auto", "sklearn", "fista")


class _Settings:
    """Shared helpers of the frozen settings dataclasses below."""

    def override(self, **changes: Any):  # noqa: ANN201 - returns the subclass
        """A copy with every non-None value of ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[type-var]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


def _positive(owner: str, **values: float) -> None:
    """Raise :class:`UserInputError` naming the first field of ``owner`` that is not > 0."""
    for name, value in values.items():
        if not value > 0:
            raise UserInputError(f"must be positive, got {value!r}", field=name)


def _one_of(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise :class:`UserInputError` naming field ``name`` unless ``value`` is a choice."""
    if value not in choices:
        raise UserInputError(f"must be one of {', '.join(map(str, choices))}, got {value!r}",
                             field=name)


@dataclass(frozen=True)
class LassoSettings(_Settings):
    """Lasso in an orthonormal transform basis: min_w ½‖y − AΨᵀw‖² + alpha·‖w‖₁.

    Both solvers minimise this same objective, so ``alpha`` means the same for
    either. ``alpha`` was chosen on validation images that
    are not among the benchmark's test images (``benchmarks/lasso_alpha.py``;
    BENCHMARKS.md, "Baselines").

    Attributes:
        alpha: ℓ1 weight (> 0).
        solver: ``sklearn`` (coordinate descent on the m×n design matrix AΨᵀ, built
            row by row without any n×n basis matrix), ``fista`` (matrix-free, only
            applies A, Aᵀ, Ψ and Ψᵀ), or ``auto``: sklearn while the design matrix has
            at most ``max_design_entries`` entries, FISTA beyond.
        max_iter: solver iterations (coordinate-descent epochs or FISTA steps).
        tol: sklearn's duality-gap tolerance; FISTA stops when the relative change
            of w over one step falls below it.
        max_design_entries: see ``solver``; 2**24 float64 entries = 128 MiB.
    """

    alpha: float = 1e-4
    solver: str = "auto"
    max_iter: int = 1000
    tol: float = 1e-4
    max_design_entries: int = 2**24

    def __post_init__(self) -> None:
        _positive("LassoSettings", alpha=self.alpha, tol=self.tol)
        _one_of("solver", self.solver, LASSO_SOLVERS)
        _positive("LassoSettings", max_iter=self.max_iter,
                  max_design_entries=self.max_design_entries)


@dataclass(frozen=True)
class BicubicSettings(_Settings):
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
class InterpolationSettings(_Settings):
    """Inpainting by interpolation: ``biharmonic`` (measured +1.2 dB over ``linear`` on
    faces, BENCHMARKS.md) or ``linear``."""

    kind: str = "biharmonic"

    def __post_init__(self) -> None:
        _one_of("kind", self.kind, ("biharmonic", "linear"))


@dataclass(frozen=True)
class BM3DSettings(_Settings):
    """BM3D with the known noise level; ``profile`` is the bm3d package's (``np``:
    normal profile)."""

    profile: str = "np"


@dataclass(frozen=True)
class NLMeansSettings(_Settings):
    """Non-local means: filter strength ``h`` in units of the noise std, patch size and
    search distance in pixels (scikit-image's ``fast_mode``)."""

    h: float = 0.6
    patch_size: int = 5
    patch_distance: int = 6

    def __post_init__(self) -> None:
        _positive("NLMeansSettings", h=self.h, patch_size=self.patch_size,
                  patch_distance=self.patch_distance)


@dataclass(frozen=True)
class TVSettings(_Settings):
    """Total-variation denoising: Chambolle's weight in units of the noise std."""

    weight: float = 1.0

    def __post_init__(self) -> None:
        _positive("TVSettings", weight=self.weight)


@dataclass(frozen=True)
class WaveletSettings(_Settings):
    """Wavelet shrinkage: scikit-image's threshold rule (``BayesShrink``, as measured in
    BENCHMARKS.md, or ``VisuShrink``)."""

    method: str = "BayesShrink"

    def __post_init__(self) -> None:
        _one_of("method", self.method, ("BayesShrink", "VisuShrink"))


@dataclass(frozen=True)
class TVCSSettings(_Settings):
    """TV least squares for compressed sensing: FISTA ``iterations`` and the TV weight λ
    at measured ratios m/n (``weights``: (ratio, λ) pairs, chosen on the validation
    photos: BENCHMARKS.md), interpolated log-linearly between them and held constant
    beyond them."""

    weights: tuple[tuple[float, float], ...] = ((0.08, 1e-2), (0.33, 3e-3))
    iterations: int = 200

    def __post_init__(self) -> None:
        _positive("TVCSSettings", iterations=self.iterations)
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
        return {"weights": [list(pair) for pair in self.weights], "iterations": self.iterations}


@dataclass(frozen=True)
class ZeroFilledSettings(_Settings):
    """MRI's zero-filled reconstruction has no parameters."""


@dataclass(frozen=True)
class WienerSettings(_Settings):
    """Wiener–Hunt deconvolution: balance ``weight · σ²``, at least ``floor``."""

    weight: float = 100.0
    floor: float = 1e-3

    def __post_init__(self) -> None:
        _positive("WienerSettings", weight=self.weight, floor=self.floor)


@dataclass(frozen=True)
class IterationsSettings(_Settings):
    """An iterative answer's most iterations (unsupervised Wiener's Gibbs sampler)."""

    iterations: int = 200

    def __post_init__(self) -> None:
        _positive("IterationsSettings", iterations=self.iterations)


@dataclass(frozen=True)
class TVDeblurSettings(_Settings):
    """TV least squares for deblurring: λ = ``weight · σ`` (σ the noise std, at least
    0.001), FISTA ``iterations``."""

    weight: float = 1.0
    iterations: int = 200

    def __post_init__(self) -> None:
        _positive("TVDeblurSettings", weight=self.weight, iterations=self.iterations)


@dataclass(frozen=True)
class CSGMSettings(_Settings):
    """CSGM (Bora et al. 2017): min_z ‖A G(z) − y‖² + z_weight·‖z‖², Adam, restarts.

    Defaults are the CSGM code's CelebA setting (Adam 0.1, ℓ2 weight 1e-3) with 1000
    steps and the three restarts of Table 3.
    """

    lr: float = 0.1
    steps: int = 1000
    restarts: int = 3
    z_weight: float = 1e-3

    def __post_init__(self) -> None:
        _positive("CSGMSettings", lr=self.lr, steps=self.steps, restarts=self.restarts)
        if self.z_weight < 0:
            raise UserInputError(f"must be non-negative, got {self.z_weight}", field="z_weight")


@dataclass(frozen=True)
class DeepDecoderSettings(_Settings):
    """Deep Decoder (Heckel & Hand 2019), Table 3: Adam on the weights, fixed input.

    ``depth`` 1×1-conv layers of ``channels`` channels, each followed by bilinear ×2
    upsampling (all but the last), ReLU and channel normalisation; the seed tensor is
    ``channels × seed_side × seed_side``, so the output side is
    ``seed_side · 2**(depth-1)`` (64 px: depth 5; 128 px: depth 6).
    """

    depth: int = 5
    channels: int = 44
    lr: float = 1e-2
    steps: int = 5000
    restarts: int = 1
    seed_side: int = 4
    input_scale: float = 0.1

    def __post_init__(self) -> None:
        _positive("DeepDecoderSettings", depth=self.depth, channels=self.channels, lr=self.lr,
                  steps=self.steps, restarts=self.restarts, seed_side=self.seed_side,
                  input_scale=self.input_scale)

    @property
    def output_side(self) -> int:
        return self.seed_side * 2 ** (self.depth - 1)


@dataclass(frozen=True)
class DIPSettings(_Settings):
    """Deep Image Prior (Ulyanov et al. 2018): its encoder–decoder "skip" network.

    Fixed budget, no early stopping: ``steps`` Adam steps at ``lr`` (2000, the
    DIP paper's super-resolution budget), input noise of ``input_depth`` channels
    (uniform × 0.1) perturbed by N(0, ``input_noise``²) at every step (1/30, as in
    DIP). ``channels`` lists the width of each of the ``len(channels)`` scales; the
    image side must be divisible by ``2**len(channels)``.
    """

    channels: tuple[int, ...] = (128, 128, 128, 128, 128)
    skip_channels: int = 4
    input_depth: int = 32
    lr: float = 1e-2
    steps: int = 2000
    input_noise: float = 1 / 30
    restarts: int = 1

    def __post_init__(self) -> None:
        _positive("DIPSettings", lr=self.lr, steps=self.steps, restarts=self.restarts,
                  input_depth=self.input_depth)
        if not self.channels or min(self.channels) < 1 or self.skip_channels < 0:
            raise UserInputError(f"must be positive widths, with skip_channels non-negative; "
                                 f"got {self.channels} and {self.skip_channels}",
                                 field="channels")
        if self.input_noise < 0:
            raise UserInputError(f"must be non-negative, got {self.input_noise}",
                                 field="input_noise")


@dataclass(frozen=True)
class IAGANSettings(_Settings):
    """IAGAN (Hussein et al. 2020), Table 3.

    Stage 1 optimises z alone (Adam ``stage1_lr``, ``stage1_steps``); stage 2 jointly
    fine-tunes z (``stage2_z_lr``) and the generator's weights (``stage2_weights_lr``)
    for ``stage2_steps``. Every restart starts from the pretrained weights.
    ``back_projection`` adds IAGAN's final step x ← x + Aᵀ(AAᵀ)⁻¹(y − Ax) (for
    noiseless measurements).
    """

    stage1_lr: float = 0.1
    stage1_steps: int = 1600
    stage2_z_lr: float = 1e-4
    stage2_weights_lr: float = 1e-4
    stage2_steps: int = 600
    restarts: int = 3
    back_projection: bool = False

    def __post_init__(self) -> None:
        _positive("IAGANSettings", stage1_lr=self.stage1_lr, stage1_steps=self.stage1_steps,
                  stage2_z_lr=self.stage2_z_lr, stage2_weights_lr=self.stage2_weights_lr,
                  restarts=self.restarts)
        if self.stage2_steps < 0:
            raise UserInputError(f"must be non-negative, got {self.stage2_steps}",
                                 field="stage2_steps")


@dataclass(frozen=True)
class MGANPriorSettings(_Settings):
    """mGANprior (Gu et al. 2020), Table 3: N codes composed at layer ``layer``.

    The features of the ``codes`` latents after block ``layer`` are summed with
    per-channel importance weights (initialised 1/N) and passed through the rest of
    the generator; Adam at ``lr`` for ``steps`` on codes and weights.
    """

    codes: int = 10
    layer: int = 1
    lr: float = 3e-2
    steps: int = 5000
    restarts: int = 3

    def __post_init__(self) -> None:
        _positive("MGANPriorSettings", codes=self.codes, layer=self.layer, lr=self.lr,
                  steps=self.steps, restarts=self.restarts)


def _lasso_per_task(*, cs: float, inpaint: float, sr: float) -> dict[str, _Settings]:
    """Lasso presets per task from validated alphas; ``default`` is the CS one and
    denoising, which was not validated, takes the CS value too."""
    alphas = {"default": cs, "cs": cs, "inpaint": inpaint, "sr": sr, "denoise": cs}
    return {task: LassoSettings(alpha=alpha) for task, alpha in alphas.items()}


#: Named presets: method name → preset name → settings. ``default`` is what the
#: CLI uses when nothing else is asked for; the model/size-named ones are Table 3.
PRESETS: dict[str, dict[str, Any]] = {
    "bicubic": {"default": BicubicSettings()},
    "interpolation": {"default": InterpolationSettings(),
                      "linear": InterpolationSettings(kind="linear")},
    "bm3d": {"default": BM3DSettings()},
    "nl-means": {"default": NLMeansSettings()},
    "tv": {"default": TVSettings()},
    "tv-cs": {"default": TVCSSettings()},
    "wavelet": {"default": WaveletSettings()},
    "zero-filled": {"default": ZeroFilledSettings()},
    # MRI: λ by the fraction of k-space lines sampled (1/8, 1/4), noise-free k-space
    "tv-mri": {"default": TVCSSettings(weights=((0.125, 1e-3), (0.25, 3e-4)))},
    # deblurring at σ = 0.01 on validation photos, Gaussian and motion kernels
    "wiener": {"default": WienerSettings()},
    "unsupervised-wiener": {"default": IterationsSettings(iterations=200)},
    "tv-deblur": {"default": TVDeblurSettings(weight=0.3)},
    # alpha per task: the best of a grid on validation photos (benchmarks/lasso_alpha.py,
    # BENCHMARKS.md "Baselines"); CS was validated at m/n = 8 %.
    "lasso-dct": _lasso_per_task(cs=3e-2, inpaint=3e-3, sr=3e-4),
    "lasso-wavelet": _lasso_per_task(cs=3e-1, inpaint=1e-1, sr=1e-2),
    # the pixel basis suits images sparse as they are, so its grid ran on 10 MNIST training
    # digits at m = 25..750 (3e-3 best at m = 100 and 400); inpaint/sr not validated
    "lasso-pixel": _lasso_per_task(cs=3e-3, inpaint=3e-3, sr=3e-3),
    "csgm": {"default": CSGMSettings()},
    "deep-decoder": {
        "default": DeepDecoderSettings(),
        "64px": DeepDecoderSettings(depth=5, channels=44),
        "128px": DeepDecoderSettings(depth=6, channels=89),
    },
    "dip": {"default": DIPSettings()},
    "iagan": {
        "default": IAGANSettings(),
        "dcgan": IAGANSettings(stage1_steps=1600),
        "began": IAGANSettings(stage1_steps=1600),
        "vae": IAGANSettings(stage1_steps=1000),
    },
    "mganprior": {
        "default": MGANPriorSettings(),
        "dcgan": MGANPriorSettings(codes=10, layer=1, lr=3e-2, steps=5000),
        "began": MGANPriorSettings(codes=20, layer=2, lr=1e-3, steps=3000),
        "vae": MGANPriorSettings(codes=20, layer=1, lr=5e-3, steps=3000),
    },
}


def preset(method: str, name: str = "default") -> Any:
    """The settings dataclass named ``name`` of ``method``.

    Raises:
        UserInputError: unknown method, or unknown preset (field ``preset``); the
            message lists the known ones.
    """
    if method not in PRESETS:
        raise UserInputError(f"method {method!r} has no presets; methods with presets: "
                             f"{', '.join(PRESETS)}")
    table = PRESETS[method]
    if name not in table:
        raise UserInputError(f"is not a preset of {method}; expected one of {', '.join(table)}",
                             field="preset", value=repr(name))
    return table[name]


def auto_preset(method: str, *, model: str | None = None, image_side: int | None = None,
                task: str | None = None) -> Any:
    """The preset for a model (``iagan``, ``mganprior``: Table 3), an image size
    (``deep-decoder``: 128 px and larger take the 128 px row) or a task (``lasso-*``),
    else ``default``."""
    table = PRESETS[method]
    if task is not None and task in table:
        return table[task]
    if model is not None and model in table:
        return table[model]
    if image_side is not None and f"{image_side}px" in table:
        return table[f"{image_side}px"]
    if method == "deep-decoder" and image_side is not None and image_side >= 128:
        return table["128px"]
    return table["default"]
