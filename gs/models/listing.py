"""What models are installed, described for people (``gs models``) and machines (``--json``).

Each registered model is built once per process with its default configuration on the
meta device (shapes only: no memory, no weights; on the CPU where its specs read
weights) to read its cuts and the latent shapes at each cut. A model that cannot be
described this way is listed with the reason, and the plug-ins that were left out are
listed apart; nothing here raises for a broken model.
"""

from __future__ import annotations

import functools
from collections.abc import Container
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

import gs
from gs.discovery import GS_SOURCE, Registry, first_line
from gs.models.base import StagedGenerator
from gs.models.registry import MODELS


@dataclass(frozen=True)
class ModelDescription:
    """One installed model as its default configuration has it.

    ``latents[c]`` lists ``(name, shape)`` of each input at cut ``c``; empty when the
    model is built from options it ``needs`` (``module``: its code and blocks) or when
    its default configuration fails (``note`` says how).
    """

    name: str
    source: str
    trainer: bool
    export_options: tuple[str, ...]
    recommended_cut: int | None = None
    image_shape: tuple[int, ...] | None = None
    latents: dict[int, list[tuple[str, tuple[int, ...]]]] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["latents"] = {str(c): [{"name": n, "shape": list(s)} for n, s in inputs]
                           for c, inputs in self.latents.items()}
        data["cuts"] = sorted(self.latents)
        return data


@dataclass(frozen=True)
class Unavailable:
    """A plug-in that was left out: its entry point name, distribution and why."""

    name: str
    kind: str
    source: str
    problem: str


def _source(name: str) -> str:
    origin = MODELS.origin(name)
    return f"gs {gs.__version__}" if origin == GS_SOURCE else origin


def describe(name: str, trainers: Container[str] = ()) -> ModelDescription:
    """The description of registered model ``name`` (never raises for a broken model);
    ``trainers``: the names gs-train trains."""
    cls = MODELS[name]
    base = {"name": name, "source": _source(name), "trainer": name in trainers,
            "export_options": tuple(cls.export_options)}
    try:
        required = cls.required_options()
        if required:
            return ModelDescription(**base, needs=required)
        shapes = default_shapes(cls)
    except Exception as exc:  # noqa: BLE001 - a plug-in's bug must not stop the listing
        return ModelDescription(**base, note=f"its default configuration fails: "
                                             f"{first_line(exc)}")
    return ModelDescription(**base, **shapes)


@functools.cache
def default_shapes(cls: type[StagedGenerator]) -> dict[str, Any]:
    """``recommended_cut``, ``image_shape`` and ``latents`` (``(name, shape)`` of the inputs
    at every cut) of ``cls()``, built on the meta device, or on the CPU where its specs
    read the weights (BigGAN's embedding spread); computed once per class."""
    try:
        with torch.device("meta"):
            model = cls()
        specs = [model.cut_spec(c) for c in model.valid_cuts]
    except RuntimeError:
        model = cls()
        specs = [model.cut_spec(c) for c in model.valid_cuts]
    return {"recommended_cut": model.recommended_cut, "image_shape": tuple(model.image_shape),
            "latents": {spec.cut: list(zip(spec.names, spec.shapes)) for spec in specs}}


def describe_models(trainers: Registry | None = None
                    ) -> tuple[list[ModelDescription], list[Unavailable]]:
    """Every installed model, by name, and the plug-ins left out.

    ``trainers`` is gs-train's registry (``gs.train.models.TRAINERS``), which the library
    does not import: with it, each model says whether it can be trained and the trainer
    plug-ins left out are listed too.
    """
    registries = [MODELS] if trainers is None else [MODELS, trainers]
    trained: Container[str] = () if trainers is None else trainers
    models = [describe(name, trained) for name in sorted(MODELS)]
    left_out = [Unavailable(f.name, f.kind, f.origin, f.problem)
                for registry in registries for f in registry.failures.values()]
    return models, left_out
