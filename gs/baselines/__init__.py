"""Baselines that Generator Surgery is compared with, behind one interface.

Every method is an object with ``name``, ``prior`` (what it needs besides the
measurements: ``none``, ``artifact`` or ``generator``), ``settings`` (a typed preset
from :mod:`gs.baselines.presets`) and
``solve(problems, *, seed) -> list[BaselineResult]``; see :class:`Method`.
Problems come from :func:`gs.jobs.load_problems`, so every method sees exactly
the measurements gs-invert sees for the same images and seed::

    from gs.baselines import get_method
    method = get_method("lasso-dct")
    method = get_method("csgm", artifact=gs.artifacts.load("dcgan_c0.pt"))
    method = get_method("iagan", generator=load_full_generator("G.pth", "dcgan"))
    results = method.solve(problems, seed=0)

Importing this package does not import torch; a method's module is imported when
:func:`get_method` builds it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from gs.artifacts import Artifact
from gs.baselines.base import PRIORS, BaselineResult, Method, ProblemLike

__all__ = ["METHODS", "PRIORS", "BaselineResult", "Method", "MethodInfo", "ProblemLike",
           "get_method", "method_class"]


@dataclass(frozen=True)
class MethodInfo:
    """A registry entry: where the method lives, what it needs, one line about it."""

    name: str
    target: str  # "module:Class"
    prior: str
    summary: str


METHODS: dict[str, MethodInfo] = {info.name: info for info in (
    MethodInfo("lasso-dct", "gs.baselines.lasso:LassoDCT", "none",
               "Lasso on 2-D DCT coefficients (scikit-learn, FISTA when large)"),
    MethodInfo("lasso-wavelet", "gs.baselines.lasso:LassoWavelet", "none",
               "Lasso on db4 wavelet coefficients (PyWavelets)"),
    MethodInfo("csgm", "gs.baselines.csgm:CSGM", "artifact",
               "CSGM: latent z of the uncut generator, l2 prior, Adam"),
    MethodInfo("deep-decoder", "gs.baselines.deep_decoder:DeepDecoder", "none",
               "Deep Decoder: untrained 1x1-conv decoder fitted per image"),
    MethodInfo("dip", "gs.baselines.dip:DeepImagePrior", "none",
               "Deep Image Prior: untrained skip network, fixed budget"),
    MethodInfo("iagan", "gs.baselines.iagan:IAGAN", "generator",
               "IAGAN: z then z and generator weights fine-tuned per image"),
    MethodInfo("mganprior", "gs.baselines.mganprior:MGANPrior", "generator",
               "mGANprior: N codes composed at a middle layer"),
    MethodInfo("surgery", "gs.baselines.surgery:Surgery", "artifact",
               "Generator Surgery (gs-invert) on the given artifact"),
)}


def method_class(name: str) -> type:
    """The class registered as ``name`` (imports its module).

    Raises:
        ValueError: unknown name; the message lists the known ones.
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    module, cls = METHODS[name].target.split(":")
    return getattr(importlib.import_module(module), cls)


def get_method(name: str, *, settings: Any = None, artifact: Artifact | None = None,
               generator: Any = None, device: str = "cpu") -> Method:
    """Build method ``name``.

    Args:
        name: a key of :data:`METHODS`.
        settings: its preset (``gs.baselines.presets``); None = the default or the
            Table 3 row for the model / image size.
        artifact: a loaded gs artifact, required by ``prior == "artifact"`` methods.
        generator: the whole pretrained generator (a ``gs.models`` StagedGenerator),
            required by ``prior == "generator"`` methods.
        device: torch device of the methods that own networks.

    Raises:
        ValueError: unknown name, or the prior it needs was not given.
    """
    cls = method_class(name)
    prior = METHODS[name].prior
    if prior == "artifact":
        if artifact is None:
            raise ValueError(f"method {name} needs artifact (a loaded gs artifact)")
        return cls(artifact, settings)
    if prior == "generator":
        if generator is None:
            raise ValueError(f"method {name} needs generator (the whole pretrained generator)")
        return cls(generator, settings, device=device)
    if name in ("lasso-dct", "lasso-wavelet"):
        return cls(settings)
    return cls(settings, device=device)
