"""The method interface of the runner, and surgery / no surgery as methods.

A method recovers a batch of :class:`gs.jobs.Problem` (operator, observation y,
truth) built once by the runner, so every method sees the same measurements for
a given image and seed. Baselines of :mod:`gs.baselines` plug in through the
same interface (:mod:`gs.experiments.registry`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import numpy as np

from gs.artifacts import Artifact, at_cut
from gs.errors import UserInputError
from gs.io import sha256_file
from gs.jobs import Problem, build_operator
from gs.latent import InitSpec
from gs.settings import InversionSettings


@dataclass
class Recovery:
    """One recovered image: (C, H, W) float32 in [0, 1], wall seconds per image."""

    image: np.ndarray
    seconds: float
    measurement_loss: float | None = None


class Method(Protocol):
    """What the runner needs of a method."""

    def columns(self) -> dict[str, Any]:
        """Table columns that name this method: ``method``, ``cut``, ``init``."""

    def config(self) -> dict[str, Any]:
        """Everything that changes its results (hashed into the cache key)."""

    def recover(self, problems: Sequence[Problem], seed: int) -> list[Recovery]:
        """Recover every problem (same order); ``seed`` keys the method's own randomness."""


@cache
def file_digest(path: str) -> str:
    """sha256 of a file, computed once per path and process."""
    return sha256_file(path)


def artifact_identity(artifact: Artifact) -> dict[str, Any]:
    """What determines an artifact's generator: source weights, model and versions.

    Not the file's bytes: the same weights cut at c give the same ``G_c`` whether
    exported at c or viewed at c from a deeper export, so their cells are shared.
    """
    meta = artifact.metadata
    return {"source_sha256": meta.source_sha256, "model": meta.model,
            "model_config": meta.model_config, "gs_version": meta.gs_version,
            "torch_version": meta.torch_version}


#: ``--inits`` names: the supplement's Fig. 5 strategies.
INIT_CHOICES = ("zero", "clamped_normal", "normal:5", "normal:10", "lasso")
INIT_LABELS = {"zero": "Zero", "clamped_normal": "CN(0,1)", "normal:5": "N(0,5)",
               "normal:10": "N(0,10)", "lasso": "LassoInv"}


def parse_init(text: str, field: str = "inits") -> InitSpec | str:
    """An init name → its :class:`InitSpec`, or ``"lasso"`` for LassoInv.

    ``normal:V`` is N(0, V) with V the *variance*, as the supplement writes it.
    """
    if text == "lasso":
        return text
    if text in ("zero", "clamped_normal"):
        return InitSpec(text)
    if text.startswith("normal:"):
        try:
            variance = float(text.split(":", 1)[1])
        except ValueError:
            variance = float("nan")
        if math.isfinite(variance) and variance > 0:
            return InitSpec("normal", std=math.sqrt(variance))
    raise UserInputError(f"entries must be zero, clamped_normal, normal:VARIANCE or lasso, "
                         f"got {text!r}", field=field)


class SurgeryMethod:
    """Invert an artifact at cut ``cut`` (0 = no surgery) with :func:`gs.invert.invert`.

    Args:
        artifact: a loaded artifact (its own cut ≥ ``cut``).
        cut: the cut to solve at; ``artifact.metadata.cut`` for plain surgery.
        task: which recommended settings of the artifact to use.
        settings: override of the recommended settings.
        init: None (the artifact's init), an :class:`InitSpec`, or ``"lasso"``:
            LassoInv, start from the latent that best explains ``warm_start``'s
            recovery (fitted with A = I, no noise, all restarts), then solve from
            that single start.
        init_name: the ``--inits`` name recorded in tables.
        warm_start: the method whose recovery LassoInv fits (Lasso-DCT).
        overrides: non-None values replace those of the settings (and of the A = I
            fit of LassoInv), e.g. ``{"steps": 2}`` for smoke runs.
    """

    def __init__(self, artifact: Artifact, cut: int, task: str = "cs",
                 settings: InversionSettings | None = None, init: InitSpec | str | None = None,
                 init_name: str | None = None, warm_start: Method | None = None,
                 overrides: dict[str, Any] | None = None) -> None:
        if init == "lasso" and warm_start is None:
            raise ValueError("init 'lasso' needs a warm_start method (Lasso-DCT)")
        self.artifact = at_cut(artifact, cut)
        self.cut = cut
        overrides = overrides or {}
        chosen = (settings or artifact.metadata.settings_for(task)).override(**overrides)
        # A progressive schedule stops at this cut; an init strategy is compared from the
        # start at the cut itself (the supplement's protocol), so it solves at the cut only.
        schedule = tuple(k for k in chosen.schedule if k < cut) + (cut,)
        if init is not None or not chosen.schedule or schedule == (cut,):
            schedule = ()
        self.settings = chosen.override(schedule=schedule)
        raw = artifact.metadata.settings_for("raw").override(**overrides)
        raw_schedule = tuple(k for k in raw.schedule if k < cut) + (cut,)
        self.raw_settings = raw.override(schedule=raw_schedule if len(raw_schedule) > 1 else ())
        self.init = init
        self.init_name = init_name
        self.warm_start = warm_start

    def columns(self) -> dict[str, Any]:
        return {"method": "no surgery" if self.cut == 0 else "gs", "cut": self.cut,
                "init": self.init_name}

    def config(self) -> dict[str, Any]:
        """Labels are left out and an init equal to the artifact's own is recorded as
        the default, so studies share cells (the sweep's c = 1 cells are the init
        study's CN(0,1) cells)."""
        init: Any = self.init
        if isinstance(init, InitSpec):
            own = {spec.init for spec in self.artifact.metadata.spec.inputs}
            init = None if own == {init} else init.to_json()
        return {
            "method": "surgery",
            "cut": self.cut,
            "artifact": artifact_identity(self.artifact),
            "settings": self.settings.to_json(),
            "init_spec": init,
            "warm_start": None if self.warm_start is None else self.warm_start.config(),
            "raw_settings": self.raw_settings.to_json() if self.init == "lasso" else None,
        }

    def recover(self, problems: Sequence[Problem], seed: int) -> list[Recovery]:
        from gs.invert import invert

        start = time.perf_counter()
        operators = [p.operator for p in problems]
        ys = [p.y for p in problems]
        indices = [p.index for p in problems]
        if self.init == "lasso":
            initial = self._lasso_latents(problems, seed)
            settings = self.settings.override(restarts=1)
            results = invert(self.artifact, operators, ys, settings, seed=seed,
                             image_indices=indices, initial=initial)
        else:
            results = invert(self.artifact, operators, ys, self.settings, seed=seed,
                             image_indices=indices,
                             init=self.init if isinstance(self.init, InitSpec) else None)
        seconds = (time.perf_counter() - start) / len(problems)
        return [Recovery(r.image, seconds, r.measurement_loss) for r in results]

    def _lasso_latents(self, problems: Sequence[Problem], seed: int) -> list[list[np.ndarray]]:
        """LassoInv: per problem, the latents whose image best explains the warm start's
        recovery (A = I, no noise; best of the settings' restarts)."""
        from gs.experiments.grid import TaskPoint
        from gs.invert import invert

        if self.warm_start is None:
            raise ValueError("init 'lasso' needs a warm_start method")
        warm = self.warm_start.recover(problems, seed)
        options = TaskPoint("raw").options()
        shape = tuple(self.artifact.metadata.image_shape)
        identity = [build_operator(options, shape, seed, p.index) for p in problems]
        fits = invert(self.artifact, identity, [w.image for w in warm], self.raw_settings,
                      seed=seed, image_indices=[p.index for p in problems])
        return [fit.latents for fit in fits]
