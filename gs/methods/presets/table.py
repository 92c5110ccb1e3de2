"""Named presets: method name → preset name → settings, and the lookups by name and by
model, image size or task."""

from __future__ import annotations

from typing import Any

from gs.errors import UserInputError
from gs.methods.presets.classical import (
    BicubicSettings,
    BM3DSettings,
    InterpolationSettings,
    IterationsSettings,
    NLMeansSettings,
    TVCSSettings,
    TVDeblurSettings,
    TVSettings,
    WaveletSettings,
    WienerSettings,
    ZeroFilledSettings,
)
from gs.methods.presets.generator_priors import CSGMSettings, IAGANSettings, MGANPriorSettings
from gs.methods.presets.lasso import lasso_per_task
from gs.methods.presets.untrained import DeepDecoderSettings, DIPSettings

#: Named presets: method name → preset name → settings. ``default`` is what the
#: CLI uses when nothing else is asked for; the model/size-named ones are Table 3.
METHOD_PRESETS: dict[str, dict[str, Any]] = {
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
    "lasso-dct": lasso_per_task(cs=3e-2, inpaint=3e-3, sr=3e-4),
    "lasso-wavelet": lasso_per_task(cs=3e-1, inpaint=1e-1, sr=1e-2),
    # the pixel basis suits images sparse as they are, so its grid ran on 10 MNIST training
    # digits at m = 25..750 (3e-3 best at m = 100 and 400); inpaint/sr not validated
    "lasso-pixel": lasso_per_task(cs=3e-3, inpaint=3e-3, sr=3e-3),
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
    if method not in METHOD_PRESETS:
        raise UserInputError(f"method {method!r} has no presets; methods with presets: "
                             f"{', '.join(METHOD_PRESETS)}")
    table = METHOD_PRESETS[method]
    if name not in table:
        raise UserInputError(f"is not a preset of {method}; expected one of {', '.join(table)}",
                             field="preset", value=repr(name))
    return table[name]


def auto_preset(method: str, *, model: str | None = None, image_side: int | None = None,
                task: str | None = None) -> Any:
    """The preset for a model (``iagan``, ``mganprior``: Table 3), an image size
    (``deep-decoder``: 128 px and larger take the 128 px row) or a task (``lasso-*``),
    else ``default``."""
    table = METHOD_PRESETS[method]
    if task is not None and task in table:
        return table[task]
    if model is not None and model in table:
        return table[model]
    if image_side is not None and f"{image_side}px" in table:
        return table[f"{image_side}px"]
    if method == "deep-decoder" and image_side is not None and image_side >= 128:
        return table["128px"]
    return table["default"]
