"""One image's answer under the held-out rule: the candidate that best explains the
held-out entries of y, by a margin and, where asked, a significant lead, then rebuilt
from every entry and made consistent with noise-free measurements.

:func:`choose` is what :class:`gs.methods.answer.AnswerRule` calls for each image by
default (its ``chooser``); :class:`Choice` is what it returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gs.methods.answer_scores import held_out_residuals, held_out_score, sure_score
from gs.methods.blends import Blends
from gs.problems import Problem

if TYPE_CHECKING:
    from gs.methods.answer import AnswerRule


@dataclass(frozen=True, eq=False)
class Choice:
    """One image's answer and why.

    Unpacks as ``image, details = choice``, the pair a report needs.

    Attributes:
        image: the answer (C, H, W) float32 in [0, 1].
        details: what a report records: ``answer`` (``classical``, ``generator`` or
            ``blend``), ``weight`` (β), ``rule`` (why, in words) and the ``scores`` of every
            candidate (lower is better; empty where none was scored).
        candidate: the winning candidate's key in ``scores`` (``classical``, a weight such
            as ``0.5``, or ``generator`` for denoising); None where none was scored.
        score: its score (≥ 0 for a held-out residual; a risk estimate may be below 0);
            None where it was not scored: the answer is then measured by its fit's own
            held-out score.
        residuals: its squared residuals (k,) on the held-out entries, before the answer
            was made consistent with them; None where it was scored otherwise or not at all.
    """

    image: np.ndarray
    details: dict[str, Any]
    candidate: str | None = None
    score: float | None = None
    residuals: np.ndarray | None = None

    def __iter__(self):
        return iter((self.image, self.details))


def choose(problem: Problem, generated: np.ndarray, classical: Any, held: np.ndarray,
           rule: AnswerRule, seed: int) -> Choice:
    """The answer ``answer = "held_out"`` returns for one image, and why.

    Args:
        problem: the image's problem (operator, y).
        generated: the generator's image (C, H, W) in [0, 1], fitted without ``held``.
        classical: the task's classical method (:mod:`gs.methods.classical`).
        held: the held-out entries of y (bool, flattened), the engine's own.
        rule: its ``blend``, ``blend_weights``, ``margin`` and ``confidence``.
        seed: the job's seed (the risk estimate's probe).

    Returns:
        The :class:`Choice`: the image (C, H, W) float32 in [0, 1], the details a report
        records, and the winning candidate with its score.
    """
    generated = np.asarray(generated, np.float32)
    # TV starts at the generator's image, far nearer its answer than Aᵀy is
    fit_classical = classical.answer_without(problem, held, start=generated)
    if fit_classical is None:  # every entry is needed: risk estimates (denoising)
        full = classical.solve([problem], seed=seed)[0].image
        scores = {"classical": sure_score(problem, classical, full, seed),
                  "generator": held_out_score(problem, generated, held)}
        why = "lower estimated risk: SURE (classical) against the held-out residual"
        winner = winning_candidate(scores, rule.margin)
        weight = 0.0 if winner == "classical" else 1.0
        return _choice(problem, full if weight == 0 else generated, _kind(weight, "convex"),
                       weight, why, scores, winner)
    blend = Blends(problem, generated, classical, rule.blend, seed, fit_classical, held)
    candidates = {"classical": fit_classical}
    for weight in rule.blend_weights:
        candidates[f"{weight:g}"] = blend.fit(weight)
    residuals = {name: held_out_residuals(problem, image, held)
                 for name, image in candidates.items()}
    scores = {name: float(np.mean(r)) for name, r in residuals.items()}
    winner = winning_candidate(scores, rule.margin,
                               significant_leads(residuals, rule.confidence))
    weight = 0.0 if winner == "classical" else float(winner)
    why = f"lowest residual on the held-out measurements ({rule.blend} blends)"
    return _choice(problem, blend.full(weight), _kind(weight, rule.blend), weight, why,
                   scores, winner, residuals[winner])


def classical_answer(problem: Problem, classical: Any, seed: int) -> Choice:
    """The classical answer as surgery returns it with ``answer = "classical"`` (not
    scored)."""
    image = classical.solve([problem], seed=seed)[0].image
    details = {"answer": "classical", "weight": None,
               "rule": "the task's measured default: no generator-based answer measured better",
               "scores": {}}
    return Choice(consistent_image(problem, image), details)


def consistent_image(problem: Problem, image: np.ndarray) -> np.ndarray:
    """``image`` (C, H, W) as an answer: float32, made consistent with noise-free
    measurements where that is cheap (observed pixels as observed), clipped to [0, 1]."""
    final = np.clip(_consistent(problem, np.asarray(image, np.float32)), 0, 1)
    return final.astype(np.float32)


def significant_leads(residuals: dict[str, np.ndarray], z: float) -> set[str]:
    """The candidates whose lead over the classical answer is at least ``z`` standard
    errors of the paired per-entry difference of squared residuals (all for z = 0).

    ``residuals`` maps each candidate (``classical`` among them) to its squared
    residuals (k,) on the same held-out entries."""
    if z == 0:
        return set(residuals)
    base = residuals["classical"]
    return {"classical"} | {name for name, r in residuals.items()
                            if significant_lead(base, r, z)}


def significant_lead(base: np.ndarray, residuals: np.ndarray, z: float) -> bool:
    """Whether squared residuals (k,) lead ``base`` (k,), on the same held-out entries,
    by more than ``z`` standard errors of their paired per-entry difference (z = 0: any
    lead, or none, passes)."""
    return z == 0 or paired_lead(base, residuals) > z


def paired_lead(base: np.ndarray, residuals: np.ndarray) -> float:
    """How far squared residuals (k,) lead ``base`` (k,) on the same held-out entries:
    the mean per-entry difference ``base − residuals`` in standard errors of that
    difference (positive: ``residuals`` lower; ±inf where every entry differs alike;
    −inf for fewer than 2 entries, too few to tell)."""
    difference = np.asarray(base, np.float64) - np.asarray(residuals, np.float64)
    if difference.size < 2:
        return -math.inf
    mean, spread = float(np.mean(difference)), float(np.std(difference, ddof=1))
    if spread == 0:
        return math.copysign(math.inf, mean) if mean else 0.0
    return mean / (spread / math.sqrt(difference.size))


def surest_candidate(score: float, scores: dict[str, float],
                     leads: dict[str, float | None], margin: float,
                     confidence: float) -> str | None:
    """The candidate, among ``scores`` (held-out scores of images adapted after the answer),
    that replaces the answer whose score is ``score``: of those scored lower by ``margin``
    (relative, in [0, 1)) whose paired lead (:func:`paired_lead`, in ``leads``) is more
    than ``confidence``, the surest lead; where a lead is None (the answer had no
    residuals to pair with) the lowest score. None where no candidate qualifies."""
    better = [name for name, s in scores.items() if s < score * (1 - margin)
              and (leads[name] is None or leads[name] > confidence)]
    if not better:
        return None
    if any(leads[name] is None for name in better):
        return min(better, key=scores.__getitem__)
    return max(better, key=lambda name: leads[name])


def winning_candidate(scores: dict[str, float], margin: float,
                      allowed: set[str] | None = None) -> str:
    """The candidate of the lowest score; another than ``classical`` only if its score is
    lower than the classical answer's by ``margin`` (relative, in [0, 1)) and, where
    ``allowed`` is given, among those."""
    bar = scores["classical"] * (1 - margin)
    others = {name: s for name, s in scores.items() if name != "classical" and s < bar
              and (allowed is None or name in allowed)}
    return min(others, key=others.get) if others else "classical"


def _choice(problem: Problem, image: np.ndarray, answer: str, weight: float, rule: str,
            scores: dict[str, float], winner: str,
            residuals: np.ndarray | None = None) -> Choice:
    details = {"answer": answer, "weight": weight, "rule": rule, "scores": scores}
    return Choice(consistent_image(problem, image), details, winner, scores[winner],
                  residuals)


def _kind(weight: float, blend: str) -> str:
    """What a report calls the answer of weight β: the classical answer (β = 0), the
    generator's image (a convex blend at β = 1) or a blend."""
    if weight == 0:
        return "classical"
    return "generator" if blend == "convex" and weight == 1 else "blend"


def _consistent(problem: Problem, image: np.ndarray) -> np.ndarray:
    """``image`` made consistent with noise-free measurements where that is cheap."""
    if problem.operator.noise_std > 0:
        return image
    projected = problem.operator.consistent(image, problem.y)
    return image if projected is None else projected
