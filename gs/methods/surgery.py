"""Generator Surgery as a method: invert an artifact's cut generator (c = 0: no surgery).

The artifact carries the blocks in front of its cut, so one file serves surgery at its
own cut and at every shallower one, "no surgery" (c = 0) included
(:class:`gs.artifacts.ArtifactView`). The inversion itself is :func:`gs.invert.invert`,
on whatever backend the artifact has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any, ClassVar

import numpy as np

from gs.artifacts import Artifact, at_cut
from gs.artifacts.metadata import artifact_format
from gs.errors import UserInputError
from gs.io import sha256_file
from gs.latent import InitSpec
from gs.methods.answer import GENERATOR_IMAGE, Adapt, AnswerRule
from gs.methods.base import Method, MethodContext, StepCallback, check_problems
from gs.problems import OperatorOptions, Problem, build_operator
from gs.results import Recovery
from gs.settings import InversionSettings


@cache
def file_digest(path: str) -> str:
    """sha256 of a file, computed once per path and process."""
    return sha256_file(path)


def artifact_identity(artifact: Artifact) -> dict[str, Any]:
    """What determines an artifact's generator: source weights, model and versions.

    Not the file's bytes: the same weights cut at c give the same ``G_c`` whether
    exported at c or viewed at c from a deeper export, so results computed with either
    are interchangeable.
    """
    meta = artifact.metadata
    return {"source_sha256": meta.source_sha256, "model": meta.model,
            "model_config": meta.model_config, "gs_version": meta.gs_version,
            "torch_version": meta.torch_version}


def _shallower(settings: InversionSettings, cut: int, artifact_cut: int) -> InversionSettings:
    """For an artifact cut at ``artifact_cut`` seen at the shallower ``cut``: ``settings``
    with a progressive schedule ending at ``cut`` (dropped when that leaves one stage)."""
    if cut == artifact_cut or not settings.schedule:
        return settings
    schedule = tuple(k for k in settings.schedule if k < cut) + (cut,)
    return settings.override(schedule=schedule if len(schedule) > 1 else ())


class Surgery(Method):
    """Invert an artifact at cut ``cut`` (default its own; 0 = no surgery).

    Args:
        artifact: a loaded artifact (its own cut ≥ ``cut``), of any format.
        task: which of the artifact's recommended settings to use.
        settings: the settings to run with; None: the artifact's recommendation for
            ``task`` (its ``gs.json``). A progressive schedule stops at ``cut``.
        cut: the cut to solve at; None: the artifact's own.
        init: None (the artifact's init), an :class:`InitSpec`, or ``"lasso"``:
            LassoInv, start from the latent that best explains ``warm_start``'s
            recovery (fitted with A = I, no noise, all restarts), then solve from
            that single start.
        init_name: the name tables show for ``init``.
        warm_start: the method whose recovery LassoInv fits (Lasso-DCT).
        overrides: non-None values replace those of the settings (and of the A = I
            fit of LassoInv), e.g. ``{"steps": 2}`` for smoke runs.
        rule: which answer to return once the generator is fitted
            (:class:`gs.methods.answer.AnswerRule`); None: the one the settings record.
            The settings then record the rule held (``self.rule``).
    """

    name: ClassVar[str] = "surgery"
    prior: ClassVar[str] = "artifact"
    #: The rule a method of this class holds when none is given (None: the settings').
    default_rule: ClassVar[AnswerRule | None] = None

    def __init__(self, artifact: Artifact, task: str = "cs",
                 settings: InversionSettings | None = None, cut: int | None = None,
                 init: InitSpec | str | None = None, init_name: str | None = None,
                 warm_start: Method | None = None,
                 overrides: dict[str, Any] | None = None,
                 rule: AnswerRule | None = None) -> None:
        if init == "lasso" and warm_start is None:
            raise ValueError("init 'lasso' needs a warm_start method (Lasso-DCT)")
        cut = artifact.metadata.cut if cut is None else cut
        self.artifact = at_cut(artifact, cut)
        self.cut = cut
        overrides = overrides or {}
        rule = rule or self.default_rule
        base = settings or artifact.metadata.settings_for(task)
        if rule is not None:  # recorded before the overrides, which must agree with it
            base = rule.recorded_in(base)
        self.settings = _shallower(base.override(**overrides), cut, artifact.metadata.cut)
        self.rule = AnswerRule.from_settings(self.settings) if rule is None else rule
        self.settings = self.rule.recorded_in(self.settings)
        if self.rule.quality == "best" and artifact_format(artifact.path) == "onnx":
            raise UserInputError(f"best needs a .pt artifact: {artifact.path.name} is ONNX, "
                                 "whose generator cannot be fine-tuned", field="quality")
        self.init = init
        self.init_name = init_name
        self.warm_start = warm_start
        self.raw_settings = None
        if init == "lasso":
            self.raw_settings = _shallower(
                artifact.metadata.settings_for("raw").override(**overrides), cut,
                artifact.metadata.cut)

    @classmethod
    def build(cls, context: MethodContext) -> Surgery:
        return cls(context.artifact, task=context.task, settings=context.settings)

    def describe(self) -> dict[str, Any]:
        return {"method": "no surgery" if self.cut == 0 else "gs", "cut": self.cut,
                "init": self.init_name}

    def config(self) -> dict[str, Any]:
        """Labels are left out and an init equal to the artifact's own is recorded as
        the default, so studies share results (the sweep's c = 1 cells are the init
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
            "raw_settings": None if self.raw_settings is None else self.raw_settings.to_json(),
        }

    def solve(self, problems: Sequence[Problem], *, seed: int = 0,
              on_step: StepCallback | None = None) -> list[Recovery]:
        """Invert every problem in one batch (each image with all its restarts), then
        return the answer this method's rule (``self.rule``) chooses."""
        check_problems(problems)
        return self.rule.answers(problems, lambda: self._fit(problems, seed, on_step), seed,
                                 {"cut": self.cut}, adapt=self._adapter(seed, on_step))

    def _adapter(self, seed: int, on_step: StepCallback | None) -> Adapt:
        """The candidates ``quality = "best"`` adapts to each image from its fit."""
        def adapt(problem: Problem, fit: Recovery, budget: float) -> list[Any]:
            from gs.methods.adaptive import adaptive_candidates

            return adaptive_candidates(self.artifact, problem, fit, budget_seconds=budget,
                                       seed=seed, on_step=on_step)
        return adapt

    def _fit(self, problems: Sequence[Problem], seed: int,
             on_step: StepCallback | None) -> list[Recovery]:
        """The generator's image of every problem (:func:`gs.invert.invert`): the mean
        of ``settings.ensemble`` independent fits (one from a LassoInv warm start)."""
        from gs.invert import invert

        operators = [p.operator for p in problems]
        ys = [p.y for p in problems]
        indices = [p.index for p in problems]
        if self.init == "lasso":
            return invert(self.artifact, operators, ys, self.settings.override(restarts=1),
                          seed=seed, image_indices=indices,
                          initial=self._lasso_latents(problems, seed), on_step=on_step)
        fits = [invert(self.artifact, operators, ys, self.settings, seed=seed,
                       image_indices=indices,
                       init=self.init if isinstance(self.init, InitSpec) else None,
                       on_step=on_step, draw=draw)
                for draw in range(self.settings.ensemble)]
        return [average_fits(problem, list(members))
                for problem, members in zip(problems, zip(*fits))]

    def _lasso_latents(self, problems: Sequence[Problem], seed: int) -> list[list[np.ndarray]]:
        """LassoInv: per problem, the latents whose image best explains the warm start's
        recovery (A = I, no noise; best of the settings' restarts)."""
        from gs.invert import invert

        warm = self.warm_start.solve(problems, seed=seed)
        shape = tuple(self.artifact.metadata.image_shape)
        identity = [build_operator(OperatorOptions("raw"), shape, seed, p.index)
                    for p in problems]
        fits = invert(self.artifact, identity, [w.image for w in warm], self.raw_settings,
                      seed=seed, image_indices=[p.index for p in problems])
        return [fit.latents for fit in fits]


def average_fits(problem: Problem, fits: Sequence[Recovery]) -> Recovery:
    """One image's independent fits (:attr:`InversionSettings.ensemble`) as one result:
    the mean of their images, with the first usable fit's latents and records, the
    losses of the mean image (fitted and held-out entries) and the fits' time and
    evaluations summed. A fit that failed is left out; all failing, the first is
    returned."""
    usable = [fit for fit in fits if fit.failure is None]
    if len(fits) == 1 or not usable:
        return fits[0]
    image = np.mean([np.asarray(fit.image, np.float64) for fit in usable], axis=0)
    first = usable[0]
    residual = (problem.operator.A(image[None])[0]
                - np.asarray(problem.y, np.float64)).reshape(-1) ** 2
    held = first.held_out
    fitted = residual if held is None else residual[~held]
    return replace(
        first, image=image.astype(np.float32), measurement_loss=float(np.mean(fitted)),
        held_out_score=None if held is None else float(np.mean(residual[held])),
        seconds=sum(fit.seconds for fit in fits),
        evaluations=sum(fit.evaluations for fit in fits),
        total_evaluations=sum(fit.total_evaluations for fit in fits))


class NoSurgery(Surgery):
    """The same weights at c = 0 (plain CSGM-style inversion of the whole generator): the
    generator's own image, never the classical answer, so that it shows what the uncut
    generator can do."""

    name: ClassVar[str] = "no-surgery"
    default_rule: ClassVar[AnswerRule | None] = GENERATOR_IMAGE

    def __init__(self, artifact: Artifact, task: str = "cs",
                 settings: InversionSettings | None = None, **options: Any) -> None:
        super().__init__(artifact, task=task, settings=settings, cut=0, **options)
