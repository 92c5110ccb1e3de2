"""Which answer surgery returns: the generator's, the classical one, or a blend.

A pretrained generator is a prior that, for real photos, knows only part of what the
measurements do not see; the task's classical answer (bicubic, interpolation, BM3D, TV)
is what a user would otherwise get. With ``answer = "held_out"`` surgery computes, per
image, candidates that include the classical answer as a special case and returns the
one that best explains data the fit never saw:

* the classical answer ``x_cl`` (β = 0), computed without the held-out entries;
* blends for β in ``blend_weights``: ``convex`` ``(1 − β)·x_cl + β·G`` (β = 1 is the
  generator's image G, whose latents were fitted without the held-out entries too), or
  ``detail`` ``x_cl + β·(G − P(A G))``, the classical answer plus β times the
  generator's detail that the classical reconstructor ``P`` cannot recover from
  measurements (``P(A G)``: the classical answer of the generator's own measurements).

Each is scored by its mean squared residual on the held-out entries; a blend wins only if
its score is lower than the classical answer's by ``answer_margin`` and, with
``answer_confidence`` z > 0, by z standard errors of the paired per-entry difference.
The returned image is then rebuilt from all the measurements (the classical parts from
every entry) and, where the measurements are noise-free and ``A Aᵀ`` is diagonal
(inpainting, super-resolution), made consistent with them: observed pixels come back as observed.

Denoising measures every pixel, so its classical answer cannot leave pixels out; there
the classical answer is scored by Stein's unbiased risk estimate (Monte-Carlo divergence,
Ramani, Blu & Unser 2008) and the generator's image by its held-out residual, both
estimates of the same expected squared error ``‖x − x*‖²/n + σ²``.

The rule is an :class:`AnswerRule`, held by the method that applies it (surgery); the
held-out entries are the engine's own, returned with each inversion's result. This module
applies the rule to a batch; one image's choice is :mod:`gs.methods.answer_choice`, the
blends :mod:`gs.methods.blends`, the scores :mod:`gs.methods.answer_scores` (their names
import from here too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gs.methods.answer_choice import (
    Choice,
    choose,
    classical_answer,
    consistent_image,
    paired_lead,
    surest_candidate,
)
from gs.methods.answer_scores import held_out_residuals, held_out_score, sure_score
from gs.methods.base import Method, measurement_loss, stopwatch
from gs.problems import Problem
from gs.results import Recovery
from gs.settings import InversionSettings

__all__ = ["GENERATOR_IMAGE", "Adapt", "AnswerRule", "Choice", "Chooser", "choose",
           "classical_answer", "held_out_residuals", "held_out_score", "sure_score"]

#: One image's answer under ``answer = "held_out"``:
#: ``chooser(problem, generated, classical, held, rule, seed) -> Choice`` (see
#: :func:`gs.methods.answer_choice.choose`, the default).
Chooser = Callable[[Problem, np.ndarray, Method, np.ndarray, "AnswerRule", int], Choice]


@dataclass(frozen=True)
class AnswerRule:
    """Which answer a method returns for each image once its generator is fitted.

    Built from the settings an artifact records per task (:meth:`from_settings`); a
    method that shows the generator's own image (no surgery, a cut sweep) holds
    :data:`GENERATOR_IMAGE`, the rule that keeps the inversion's image.

    Attributes:
        answer: ``generator`` (the inversion's image), ``classical`` (the task's
            classical answer, no inversion) or ``held_out`` (per image, the classical
            answer or a blend, by the measurements held out of the fit).
        blend: ``convex`` or ``detail`` (see the module).
        blend_weights: the weights β the ``held_out`` rule considers besides β = 0.
        margin: the relative lead on the classical answer's held-out score a blend
            needs (``answer_margin``).
        confidence: the z a blend's lead must reach (``answer_confidence``; 0: none).
        quality: ``fast`` or ``best`` (then :meth:`answers` offers candidates adapted to
            each image).
        budget: the seconds per image those candidates may take.
        chooser: what picks one image's answer under ``held_out`` (a :data:`Chooser`;
            default :func:`choose`). Not a setting: a benchmark or a study passes its own
            to see each image's fit and held-out entries, or to try another choice,
            through a method that holds the rule
            (``Surgery(artifact, rule=replace(rule, chooser=mine))``); the answer it
            returns is then treated as the default's would be.
    """

    answer: str = "generator"
    blend: str = "convex"
    blend_weights: tuple[float, ...] = ()
    margin: float = 0.0
    confidence: float = 0.0
    quality: str = InversionSettings.quality
    budget: float = InversionSettings.budget
    chooser: Chooser = field(default=choose, repr=False)

    @classmethod
    def from_settings(cls, settings: InversionSettings) -> AnswerRule:
        """The rule ``settings`` record (``answer``, ``blend``, ``blend_weights``,
        ``answer_margin``, ``answer_confidence``, ``quality``, ``budget``)."""
        return cls(settings.answer, settings.blend, tuple(settings.blend_weights),
                   settings.answer_margin, settings.answer_confidence, settings.quality,
                   settings.budget)

    def recorded_in(self, settings: InversionSettings) -> InversionSettings:
        """``settings`` as they record this rule (the generator's image records its
        ``answer`` and quality alone: the blend fields do not matter to it)."""
        if self.answer == "generator":
            return settings.override(answer=self.answer, quality=self.quality,
                                     budget=self.budget)
        return settings.override(answer=self.answer, blend=self.blend,
                                 blend_weights=self.blend_weights, answer_margin=self.margin,
                                 answer_confidence=self.confidence, quality=self.quality,
                                 budget=self.budget)

    def classical_method(self, task: str) -> Method | None:
        """The task's classical method where the answer may be it; None for the
        generator's image or a task without a classical answer."""
        from gs.methods import build_method
        from gs.methods.classical import classical_available

        if self.answer == "generator" or not classical_available(task):
            return None
        return build_method("classical", task=task)

    def answers(self, problems: Sequence[Problem], fit: Callable[[], list[Recovery]],
                seed: int, details: dict[str, Any], adapt: Adapt | None = None
                ) -> list[Recovery]:
        """The answer to every problem: the classical one without calling ``fit``
        (``answer = "classical"``), or the generator's images ``fit()`` returns (one
        :class:`Recovery` per problem, each with its held-out entries), each replaced,
        with ``answer = "held_out"``, by the answer those entries prefer. With
        ``quality = "best"`` (and an answer other than the classical one),
        ``adapt(problem, recovery, budget)`` then offers candidates adapted to each image
        (:func:`gs.methods.adaptive.adaptive_candidates`), each returned only where its
        held-out residual beats the answer's by ``margin``. Every result's details start
        with ``details`` and say which answer it is and why."""
        best = self.quality == "best" and adapt is not None
        classical = self.classical_method(problems[0].operator.task)
        if classical is not None and self.answer == "classical":
            # Where the classical answer is what a task records, no generator-based answer
            # measured better, and the held-out entries cannot see the detail an adapted
            # generator adds beyond them (SR x4 on the validation photos: 4 dB below
            # bicubic with a lower held-out residual), so best keeps it too.
            return [self._classical(problem, classical, seed, details) for problem in problems]
        results = fit()
        for result in results:
            result.details = {**details, "answer": "generator"}
            result.stage_seconds = {"fit": result.seconds}
        usable = [(problem, result) for problem, result in zip(problems, results)
                  if result.failure is None and result.held_out is not None]
        choices: list[Choice | None] = [None] * len(usable)
        if classical is not None and self.answer == "held_out":
            choices = self._choose_all(usable, classical, seed)
        if best:
            for (problem, result), choice in zip(usable, choices):
                if choice is None or choice.score is None:  # the generator's image itself
                    score = float(result.held_out_score)
                    residuals = held_out_residuals(problem, result.image, result.held_out)
                else:
                    score, residuals = choice.score, choice.residuals
                self._adapt(problem, result, adapt, score, residuals)
        return results

    def _choose_all(self, usable: list[tuple[Problem, Recovery]], classical: Method,
                    seed: int) -> list[Choice]:
        """:meth:`_choose` for every (problem, result), the images on as many threads as
        this process has cores: the classical fits are numpy on one BLAS thread each
        (the limit is set once around the pool, as it is process-wide)."""
        from gs.devices import one_blas_thread, usable_cores

        workers = min(len(usable), usable_cores())
        if workers <= 1:
            return [self._choose(problem, result, classical, seed) for problem, result in usable]
        with one_blas_thread(), ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda pair: self._choose(*pair, classical, seed), usable))

    def _classical(self, problem: Problem, classical: Method, seed: int,
                   details: dict[str, Any]) -> Recovery:
        with stopwatch() as elapsed:
            image, why = classical_answer(problem, classical, seed)
        return Recovery(image=image, seconds=elapsed[0], details={**details, **why},
                        measurement_loss=measurement_loss(problem.operator, image, problem.y))

    def _choose(self, problem: Problem, result: Recovery, classical: Method,
                seed: int) -> Choice:
        """Replace ``result``'s image by the answer its held-out entries prefer (the
        :attr:`chooser`'s); that answer's :class:`Choice`."""
        with stopwatch() as elapsed:
            choice = self.chooser(problem, result.image, classical, result.held_out, self,
                                  seed)
        result.image = choice.image
        result.measurement_loss = measurement_loss(problem.operator, choice.image, problem.y)
        result.seconds += elapsed[0]
        result.details.update(choice.details)
        result.stage_seconds["answer"] = elapsed[0]
        return choice

    def _adapt(self, problem: Problem, result: Recovery, adapt: Adapt, score: float,
               residuals: np.ndarray | None) -> None:
        """Replace ``result``'s image by a candidate adapted to the image where the
        held-out entries prefer it to the answer, whose held-out score is ``score`` and
        squared ``residuals`` (k,) on those entries (None where it was scored otherwise).

        The winner is :func:`gs.methods.answer_choice.surest_candidate`'s, at ``margin``
        and :data:`gs.methods.adaptive.CANDIDATE_CONFIDENCE` standard errors."""
        from gs.methods.adaptive import CANDIDATE_CONFIDENCE

        with stopwatch() as elapsed:
            candidates = adapt(problem, result, self.budget)
        leads = {c.name: (None if residuals is None
                          else paired_lead(residuals, c.held_out_residuals))
                 for c in candidates}
        offered = {c.name: {"score": c.held_out_score, "lead_z": leads[c.name],
                            "seconds": c.seconds, "steps": c.steps,
                            "stopped_by": c.stopped_by} for c in candidates}
        chosen = surest_candidate(score, {c.name: c.held_out_score for c in candidates}, leads,
                                  self.margin, CANDIDATE_CONFIDENCE)
        winner = next((c for c in candidates if c.name == chosen), None)
        if winner is not None:
            result.image = consistent_image(problem, winner.image)
            result.measurement_loss = measurement_loss(problem.operator, result.image,
                                                       problem.y)
            result.details["answer"] = winner.name
        result.details["quality"] = {"answer_score": score, "candidates": offered,
                                     "chosen": None if winner is None else winner.name}
        result.seconds += elapsed[0]
        result.stage_seconds["adapt"] = elapsed[0]


#: Candidates adapted to one image: ``adapt(problem, recovery, budget_seconds)``.
Adapt = Callable[[Problem, Recovery, float], list[Any]]

#: The rule of methods that show what the generator itself recovers.
GENERATOR_IMAGE = AnswerRule()
