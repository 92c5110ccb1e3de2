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
held-out entries are the engine's own, returned with each inversion's result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gs.methods.base import Method, measurement_loss, stopwatch
from gs.problems import Problem
from gs.results import Recovery
from gs.seeding import Stream, problem_rng
from gs.settings import InversionSettings


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
    """

    answer: str = "generator"
    blend: str = "convex"
    blend_weights: tuple[float, ...] = ()
    margin: float = 0.0
    confidence: float = 0.0
    quality: str = InversionSettings.quality
    budget: float = InversionSettings.budget

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
        if classical is not None and self.answer == "held_out":
            self._choose_all(usable, classical, seed)
        if best:
            for problem, result in usable:
                self._adapt(problem, result, adapt)
        return results

    def _choose_all(self, usable: list[tuple[Problem, Recovery]], classical: Method,
                    seed: int) -> None:
        """:meth:`_choose` for every (problem, result), the images on as many threads as
        this process has cores: the classical fits are numpy on one BLAS thread each
        (the limit is set once around the pool, as it is process-wide)."""
        from gs.devices import one_blas_thread, usable_cores

        workers = min(len(usable), usable_cores())
        if workers <= 1:
            for problem, result in usable:
                self._choose(problem, result, classical, seed)
            return
        with one_blas_thread(), ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda pair: self._choose(*pair, classical, seed), usable))

    def _classical(self, problem: Problem, classical: Method, seed: int,
                   details: dict[str, Any]) -> Recovery:
        with stopwatch() as elapsed:
            image, why = classical_answer(problem, classical, seed)
        return Recovery(image=image, seconds=elapsed[0], details={**details, **why},
                        measurement_loss=measurement_loss(problem.operator, image, problem.y))

    def _choose(self, problem: Problem, result: Recovery, classical: Method,
                seed: int) -> None:
        """Replace ``result``'s image by the answer its held-out entries prefer."""
        with stopwatch() as elapsed:
            image, why = choose(problem, result.image, classical, result.held_out, self, seed)
        result.image = image
        result.measurement_loss = measurement_loss(problem.operator, image, problem.y)
        result.seconds += elapsed[0]
        result.details.update(why)
        result.stage_seconds["answer"] = elapsed[0]

    def _adapt(self, problem: Problem, result: Recovery, adapt: Adapt) -> None:
        """Replace ``result``'s image by a candidate adapted to the image where the
        held-out entries prefer it to the answer by ``margin``."""
        scores = result.details.get("scores")
        weight = result.details.get("weight")
        if scores is None:  # the generator's image: its own held-out score
            score = float(result.held_out_score)
        else:
            score = scores["classical" if not weight else
                           ("generator" if "generator" in scores else f"{weight:g}")]
        with stopwatch() as elapsed:
            candidates = adapt(problem, result, self.budget)
        offered = {c.name: {"score": c.held_out_score, "seconds": c.seconds, "steps": c.steps,
                            "stopped_by": c.stopped_by} for c in candidates}
        better = [c for c in candidates if c.held_out_score < score * (1 - self.margin)]
        winner = min(better, key=lambda c: c.held_out_score) if better else None
        if winner is not None:
            result.image = _finish(problem, winner.image, winner.name, None, "", {})[0]
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


def held_out_residuals(problem: Problem, image: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Squared residuals (k,) float64 of ``image`` (C, H, W) on the ``held`` entries of y."""
    residual = (problem.operator.A(np.asarray(image, np.float64)[None])[0]
                - np.asarray(problem.y, np.float64)).reshape(-1)
    return residual[held] ** 2


def held_out_score(problem: Problem, image: np.ndarray, held: np.ndarray) -> float:
    """Mean squared residual of ``image`` (C, H, W) on the ``held`` entries of y."""
    return float(np.mean(held_out_residuals(problem, image, held)))


def sure_score(problem: Problem, method: Any, image: np.ndarray, seed: int) -> float:
    """Stein's unbiased estimate of ``‖image − x*‖²/n + σ²`` for a denoiser ``method``
    (A = I, noise σ known): ``‖y − f(y)‖²/n + 2σ²·div f/n``, the divergence by one
    Monte-Carlo probe ``bᵀ(f(y + εb) − f(y))/ε`` (b from stream BASELINE)."""
    y = np.asarray(problem.y, np.float64)
    sigma = problem.operator.noise_std
    n = y.size
    probe = problem_rng(seed, problem.index, Stream.BASELINE).standard_normal(y.shape)
    epsilon = 0.01 * max(sigma, 1e-3)
    nudged = replace(problem, y=(y + epsilon * probe).astype(np.float32))
    moved = np.asarray(method.solve([nudged], seed=seed)[0].image, np.float64)
    divergence = float(np.sum(probe * (moved - image))) / epsilon
    return float(np.sum((y - image) ** 2) / n + 2 * sigma**2 * divergence / n)


def _consistent(problem: Problem, image: np.ndarray) -> np.ndarray:
    """``image`` made consistent with noise-free measurements where that is cheap."""
    if problem.operator.noise_std > 0:
        return image
    projected = problem.operator.consistent(image, problem.y)
    return image if projected is None else projected


def classical_answer(problem: Problem, classical: Any, seed: int) -> tuple[np.ndarray, dict]:
    """The classical answer as surgery returns it with ``answer = "classical"``."""
    image = classical.solve([problem], seed=seed)[0].image
    return _finish(problem, image, "classical", None,
                   "the task's measured default: no generator-based answer measured better",
                   {})


def choose(problem: Problem, generated: np.ndarray, classical: Any, held: np.ndarray,
           rule: AnswerRule, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The answer ``answer = "held_out"`` returns for one image, and why.

    Args:
        problem: the image's problem (operator, y).
        generated: the generator's image (C, H, W) in [0, 1], fitted without ``held``.
        classical: the task's classical method (:mod:`gs.methods.classical`).
        held: the held-out entries of y (bool, flattened), the engine's own.
        rule: its ``blend``, ``blend_weights``, ``margin`` and ``confidence``.
        seed: the job's seed (the risk estimate's probe).

    Returns:
        The image (C, H, W) float32 in [0, 1], and the details a report records:
        ``answer`` (``classical``, ``generator`` or ``blend``), ``weight`` (β),
        ``rule`` and the ``scores`` of every candidate (lower is better).
    """
    generated = np.asarray(generated, np.float32)
    # TV starts at the generator's image, far nearer its answer than Aᵀy is
    fit_classical = classical.answer_without(problem, held, start=generated)
    if fit_classical is None:  # every entry is needed: risk estimates (denoising)
        full = classical.solve([problem], seed=seed)[0].image
        scores = {"classical": sure_score(problem, classical, full, seed),
                  "generator": held_out_score(problem, generated, held)}
        why = "lower estimated risk: SURE (classical) against the held-out residual"
        winner = _winner(scores, rule.margin)
        weight = 0.0 if winner == "classical" else 1.0
        return _finish(problem, full if weight == 0 else generated, _kind(weight, "convex"),
                       weight, why, scores)
    blend = _Blend(problem, generated, classical, rule.blend, seed, fit_classical, held)
    candidates = {"classical": fit_classical}
    for weight in rule.blend_weights:
        candidates[f"{weight:g}"] = blend.fit(weight)
    residuals = {name: held_out_residuals(problem, image, held)
                 for name, image in candidates.items()}
    scores = {name: float(np.mean(r)) for name, r in residuals.items()}
    winner = _winner(scores, rule.margin, _significant(residuals, rule.confidence))
    weight = 0.0 if winner == "classical" else float(winner)
    why = f"lowest residual on the held-out measurements ({rule.blend} blends)"
    return _finish(problem, blend.full(weight), _kind(weight, rule.blend), weight, why,
                   scores)


class _Blend:
    """The blends of one image: scored from the fit entries, rebuilt from all of them.

    The classical part of a blend from all the entries starts from the same answer
    without the held-out ones (:meth:`Classical.answer_from`), and the classical answer of
    the generator's measurements from the generator's image; the classical answer alone
    (β = 0) is the classical method's own."""

    def __init__(self, problem: Problem, generated: np.ndarray, classical: Any, kind: str,
                 seed: int, fit_classical: np.ndarray, held: np.ndarray) -> None:
        self.problem, self.generated, self.classical = problem, generated, classical
        self.kind, self.seed, self.held = kind, seed, held
        self.fit_classical = fit_classical
        self.by_generator = replace(problem, y=problem.operator.A(generated[None])[0])
        self._generator_fit: np.ndarray | None = None

    def fit(self, weight: float) -> np.ndarray:
        """The blend of weight β from the fit entries alone."""
        if self.kind == "convex":
            return (1 - weight) * self.fit_classical + weight * self.generated
        if self._generator_fit is None:
            self._generator_fit = self.classical.answer_without(
                self.by_generator, self.held, start=self.generated)
        return np.clip(self.fit_classical + weight * (self.generated - self._generator_fit),
                       0, 1)

    def full(self, weight: float) -> np.ndarray:
        """The blend of weight β from every entry."""
        if self.kind == "convex" and weight == 1:
            return self.generated
        if weight == 0:  # from Aᵀy: a generator image far from it is no start
            return self.classical.solve([self.problem], seed=self.seed)[0].image
        full = self.classical.answer_from(self.problem, self.fit_classical)
        if self.kind == "convex":
            return (1 - weight) * full + weight * self.generated
        if self._generator_fit is None:
            self.fit(weight)
        detail = self.generated - self.classical.answer_from(self.by_generator,
                                                             self._generator_fit)
        return full + weight * detail


def _kind(weight: float, blend: str) -> str:
    """What a report calls the answer of weight β: the classical answer (β = 0), the
    generator's image (a convex blend at β = 1) or a blend."""
    if weight == 0:
        return "classical"
    return "generator" if blend == "convex" and weight == 1 else "blend"


def _significant(residuals: dict[str, np.ndarray], z: float) -> set[str]:
    """The candidates whose lead over the classical answer is at least ``z`` standard
    errors of the paired per-entry difference of squared residuals (all for z = 0)."""
    if z == 0:
        return set(residuals)
    base = residuals["classical"]
    kept = {"classical"}
    for name, r in residuals.items():
        difference = base - r
        spread = np.std(difference, ddof=1) if difference.size > 1 else np.inf
        if np.mean(difference) > z * spread / np.sqrt(difference.size):
            kept.add(name)
    return kept


def _winner(scores: dict[str, float], margin: float, allowed: set[str] | None = None) -> str:
    """The lowest score; another than the classical answer's only if it is lower than
    that by ``margin`` (relative) and, where ``allowed`` is given, among those."""
    bar = scores["classical"] * (1 - margin)
    others = {name: s for name, s in scores.items() if name != "classical" and s < bar
              and (allowed is None or name in allowed)}
    return min(others, key=others.get) if others else "classical"


def _finish(problem: Problem, image: np.ndarray, answer: str, weight: float | None,
            rule: str, scores: dict[str, float]) -> tuple[np.ndarray, dict[str, Any]]:
    final = np.clip(_consistent(problem, np.asarray(image, np.float32)), 0, 1)
    return final.astype(np.float32), {"answer": answer, "weight": weight, "rule": rule,
                                      "scores": scores}
