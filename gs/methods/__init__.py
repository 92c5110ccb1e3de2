"""Everything that recovers images, behind one protocol and one registry.

Every method is a :class:`Method`: ``name``, ``prior`` (what it needs besides the
measurements: ``none``, ``artifact`` or ``generator``), ``settings`` (a typed preset),
``config()`` and ``solve(problems, *, seed, on_step=None) -> list[Recovery]``.
Problems come from :mod:`gs.problems` (through :mod:`gs.jobs` or the experiments), so
every method sees exactly the measurements the others see for the same images and seed::

    from gs.methods import build_method
    method = build_method("bicubic", task="sr")
    method = build_method("surgery", task="cs", artifact=gs.artifacts.load("dcgan_c1.pt"))
    method = build_method("iagan", generator=load_full_generator("G.pth", "dcgan"))
    recoveries = method.solve(problems, seed=0)

A new method is one file with a :class:`Method` subclass and one :func:`register_method`
line. Importing this package does not import torch; a method's module is imported when
it is built.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from gs.errors import UserInputError
from gs.methods.base import PRIORS, Method, MethodContext

__all__ = ["KINDS", "METHODS", "PRIORS", "Method", "MethodContext", "MethodInfo",
           "build_method", "method_class", "method_names", "register_method"]

#: What a method is: Generator Surgery itself, the classical answer a user already has
#: (no learned prior), or a baseline from the literature.
KINDS = ("surgery", "classical", "baseline")


@dataclass(frozen=True)
class MethodInfo:
    """A registry entry: where the method lives, what it needs, one line about it.

    ``tasks`` lists the tasks it applies to (empty: every task).
    """

    name: str
    target: str  # "module:Class"
    prior: str
    kind: str
    summary: str
    tasks: tuple[str, ...] = ()


METHODS: dict[str, MethodInfo] = {}


def register_method(info: MethodInfo) -> MethodInfo:
    """Add ``info`` to the registry (a name already taken by another target is refused)."""
    if info.prior not in PRIORS or info.kind not in KINDS:
        raise ValueError(f"method {info.name}: prior must be one of {PRIORS} and kind one of "
                         f"{KINDS}, got {info.prior!r}, {info.kind!r}")
    known = METHODS.get(info.name)
    if known is not None and known.target != info.target:
        raise ValueError(f"method {info.name!r} is already registered by {known.target}")
    METHODS[info.name] = info
    return info


for _info in (
    MethodInfo("surgery", "gs.methods.surgery:Surgery", "artifact", "surgery",
               "Generator Surgery: the artifact's cut generator inverted (gs-invert)"),
    MethodInfo("no-surgery", "gs.methods.surgery:NoSurgery", "artifact", "surgery",
               "the same weights uncut (c = 0): the generator's own range"),
    MethodInfo("classical", "gs.methods.classical.by_task:Classical", "none", "classical",
               "the task's classical answer (TV, interpolation, bicubic, BM3D)"),
    MethodInfo("bicubic", "gs.methods.classical.interpolation:Bicubic", "none", "classical",
               "cubic-spline upsampling of y (scipy)", ("sr",)),
    MethodInfo("interpolation", "gs.methods.classical.interpolation:Interpolation", "none",
               "classical",
               "biharmonic (scikit-image) or linear (scipy) fill of the missing pixels",
               ("inpaint",)),
    MethodInfo("bm3d", "gs.methods.classical.denoisers:BM3D", "none", "classical",
               "BM3D with the known noise level (bm3d package, non-commercial)",
               ("denoise",)),
    MethodInfo("nl-means", "gs.methods.classical.denoisers:NLMeans", "none", "classical",
               "non-local means with the known noise level (scikit-image)", ("denoise",)),
    MethodInfo("tv", "gs.methods.classical.denoisers:TotalVariation", "none", "classical",
               "total-variation denoising, weight by the noise level (scikit-image)",
               ("denoise",)),
    MethodInfo("wavelet", "gs.methods.classical.denoisers:WaveletShrinkage", "none",
               "classical",
               "wavelet shrinkage, BayesShrink with the noise level (scikit-image)",
               ("denoise",)),
    MethodInfo("tv-cs", "gs.methods.classical.tv:TVLeastSquares", "none", "classical",
               "total-variation least squares by FISTA (Chambolle's TV step, scikit-image)",
               ("cs",)),
    MethodInfo("zero-filled", "gs.methods.classical.fourier:ZeroFilled", "none", "classical",
               "MRI: inverse FFT of the zero-filled k-space (minimum-norm image)", ("mri",)),
    MethodInfo("tv-mri", "gs.methods.classical.tv:TVMRI", "none", "classical",
               "MRI: total-variation least squares by FISTA (scikit-image's TV step)",
               ("mri",)),
    MethodInfo("wiener", "gs.methods.classical.fourier:Wiener", "none", "classical",
               "Wiener-Hunt deconvolution, balance by the noise level (scikit-image)",
               ("deblur",)),
    MethodInfo("unsupervised-wiener", "gs.methods.classical.fourier:UnsupervisedWiener", "none",
               "classical", "Wiener-Hunt with sampled hyperparameters (scikit-image)",
               ("deblur",)),
    MethodInfo("tv-deblur", "gs.methods.classical.tv:TVDeblur", "none", "classical",
               "deblurring: total-variation least squares by FISTA (scikit-image's TV step)",
               ("deblur",)),
    MethodInfo("lasso-dct", "gs.methods.lasso:LassoDCT", "none", "classical",
               "Lasso on 2-D DCT coefficients (scikit-learn, FISTA when large)"),
    MethodInfo("lasso-wavelet", "gs.methods.lasso:LassoWavelet", "none", "classical",
               "Lasso on db4 wavelet coefficients (PyWavelets)"),
    MethodInfo("lasso-pixel", "gs.methods.lasso:LassoPixel", "none", "classical",
               "Lasso on the pixels (Bora et al. 2017's baseline for sparse images)"),
    MethodInfo("csgm", "gs.methods.csgm:CSGM", "artifact", "baseline",
               "CSGM: latent z of the uncut generator, l2 prior, Adam (.pt or .onnx)"),
    MethodInfo("deep-decoder", "gs.methods.deep_decoder:DeepDecoder", "none", "baseline",
               "Deep Decoder: untrained 1x1-conv decoder fitted per image"),
    MethodInfo("dip", "gs.methods.dip:DeepImagePrior", "none", "baseline",
               "Deep Image Prior: untrained skip network, fixed budget"),
    MethodInfo("iagan", "gs.methods.iagan:IAGAN", "generator", "baseline",
               "IAGAN: z then z and generator weights fine-tuned per image"),
    MethodInfo("mganprior", "gs.methods.mganprior:MGANPrior", "generator", "baseline",
               "mGANprior: N codes composed at a middle layer"),
):
    register_method(_info)


def method_names(kind: str | None = None, task: str | None = None) -> tuple[str, ...]:
    """Registered names, of one ``kind`` and applying to ``task`` when given."""
    return tuple(name for name, info in METHODS.items()
                 if (kind is None or info.kind == kind)
                 and (task is None or not info.tasks or task in info.tasks))


def method_class(name: str) -> type[Method]:
    """The class registered as ``name`` (imports its module).

    Raises:
        UserInputError: unknown name (field ``method``); the message lists the known ones.
    """
    if name not in METHODS:
        raise UserInputError(f"must be one of {', '.join(METHODS)}, got {name!r}",
                             field="method")
    module, cls = METHODS[name].target.split(":")
    return getattr(importlib.import_module(module), cls)


def build_method(name: str, *, task: str = "cs", artifact: Any = None, generator: Any = None,
                 settings: Any = None, device: str = "cpu",
                 image_side: int | None = None) -> Method:
    """Build method ``name`` for problems of ``task``.

    Args:
        name: a key of :data:`METHODS`.
        task: the task of the problems it will solve (presets are per task).
        artifact: a loaded gs artifact, required by ``prior == "artifact"`` methods.
        generator: the whole pretrained generator (a ``gs.models`` StagedGenerator),
            required by ``prior == "generator"`` methods.
        settings: its typed settings; None: its default (for the task, model or size).
        device: torch device of the methods that own networks.
        image_side: image side, for presets chosen by size.

    Raises:
        UserInputError: unknown name, a task it does not apply to, or the prior it
            needs was not given.
    """
    cls = method_class(name)
    info = METHODS[name]
    if info.tasks and task not in info.tasks:
        raise UserInputError(f"{name} does not apply to task {task}; it solves "
                             f"{', '.join(info.tasks)}", field="method")
    if info.prior == "artifact" and artifact is None:
        raise UserInputError(f"is required by {name}", field="artifact")
    if info.prior == "generator" and generator is None:
        raise UserInputError(f"is required by {name} (the whole pretrained generator)",
                             field="weights")
    return cls.build(MethodContext(task=task, artifact=artifact, generator=generator,
                                   settings=settings, device=device, image_side=image_side))
