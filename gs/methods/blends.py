"""The blends of one image's classical answer with the generator's image, the candidates
of the held-out answer rule (:mod:`gs.methods.answer`) for β > 0:

* ``convex``: ``(1 − β)·x_cl + β·G`` (β = 1 is the generator's image G);
* ``detail``: ``x_cl + β·(G − P(A G))``, the classical answer plus β times the
  generator's detail that the classical reconstructor ``P`` cannot recover from
  measurements (``P(A G)``: the classical answer of the generator's own measurements).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from gs.problems import Problem


class Blends:
    """The blends of one image: scored from the fit entries, rebuilt from all of them.

    The classical part of a blend from all the entries starts from the same answer
    without the held-out ones (:meth:`Classical.answer_from`), and the classical answer of
    the generator's measurements from the generator's image; the classical answer alone
    (β = 0) is the classical method's own.

    Args:
        problem: the image's problem (operator, y).
        generated: the generator's image G (C, H, W) float32 in [0, 1], fitted without
            ``held``.
        classical: the task's classical method (:mod:`gs.methods.classical`).
        kind: ``convex`` or ``detail``.
        seed: the job's seed.
        fit_classical: the classical answer without ``held`` (C, H, W) in [0, 1].
        held: the held-out entries of y (bool, flattened).
    """

    def __init__(self, problem: Problem, generated: np.ndarray, classical: Any, kind: str,
                 seed: int, fit_classical: np.ndarray, held: np.ndarray) -> None:
        self.problem, self.generated, self.classical = problem, generated, classical
        self.kind, self.seed, self.held = kind, seed, held
        self.fit_classical = fit_classical
        self.by_generator = replace(problem, y=problem.operator.A(generated[None])[0])
        self._generator_fit: np.ndarray | None = None

    def fit(self, weight: float) -> np.ndarray:
        """The blend of weight β from the fit entries alone, (C, H, W)."""
        if self.kind == "convex":
            return (1 - weight) * self.fit_classical + weight * self.generated
        if self._generator_fit is None:
            self._generator_fit = self.classical.answer_without(
                self.by_generator, self.held, start=self.generated)
        return np.clip(self.fit_classical + weight * (self.generated - self._generator_fit),
                       0, 1)

    def full(self, weight: float) -> np.ndarray:
        """The blend of weight β from every entry, (C, H, W) (not clipped)."""
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
