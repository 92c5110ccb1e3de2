"""Per-row bookkeeping shared by the batched optimisers.

Each row of ``X`` (N, D) is one sample (an image × restart pair); the objective
returns one loss per row and its gradient, and optionally a *score* per row (a
held-out residual) that the stop rules and the best iterate judge instead of the loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gs.solve.arrays import array_namespace, device

# f(X_rows (n, D), row_indices (n,)) -> (loss (n,), grad (n, D)[, score (n,)])
Objective = Callable[[Any, Any], tuple[Any, ...]]
# after_step(outer steps done, loss (N,), score (N,), stopped (N,), points) -> rows to stop
# now (N,) bool. ``loss`` is each row's latest loss, ``score`` the score the stop rules
# judge (its best under keep_best), ``points()`` every row's current point (N, D) (its
# best one under keep_best).
StepHook = Callable[[int, Any, Any, Any, Callable[[], Any]], Any]


@dataclass
class OptimResult:
    """Final rows (N, D), objective evaluations per row (N,), which rows stopped by a
    rule (N,) bool, and each row's score at its returned point (N,) float64 (the loss
    when the objective returns no score; +inf for a row never evaluated)."""

    x: Any
    evaluations: Any
    converged: Any
    score: Any


def unpack(out: tuple[Any, ...]) -> tuple[Any, Any, Any]:
    """(loss, grad[, score]) → (loss, grad, score), the score defaulting to the loss."""
    return out[0], out[1], (out[2] if len(out) > 2 else out[0])


def not_finite(loss: Any, grad: Any) -> Any:
    """Rows (n,) whose loss or any gradient entry is NaN or infinite."""
    xp = array_namespace(loss)
    return ~(xp.isfinite(loss) & xp.all(xp.isfinite(grad), axis=1))


class BestIterate:
    """Per-row lowest score seen so far (float64) and the point where it was seen."""

    def __init__(self, x: Any) -> None:
        xp = array_namespace(x)
        self.x = xp.asarray(x, copy=True)
        self.loss = xp.full((x.shape[0],), float("inf"), dtype=xp.float64,
                            device=device(x))

    def record(self, idx: Any, x_rows: Any, score: Any) -> None:
        """Remember rows ``idx`` at ``x_rows`` (n, D) where ``score`` (n,) is their best."""
        xp = array_namespace(score)
        score = xp.astype(score, xp.float64)
        better = score < self.loss[idx]  # NaN is never better
        rows = idx[better]
        self.loss[rows] = score[better]
        self.x[rows] = x_rows[better]

    def pick(self, x: Any, score: Any) -> Any:
        """Each row's better of its best point and ``x`` (whose score is ``score``)."""
        xp = array_namespace(score)
        score = xp.astype(score, xp.float64)
        worse = ~(score <= self.loss)  # NaN counts as worse
        self.loss = xp.where(worse, self.loss, score)
        return xp.where(worse[:, None], self.x, x)

    def keep(self, rows: Any) -> None:
        """Drop every row but ``rows`` (bool mask), keeping their order."""
        self.x, self.loss = self.x[rows], self.loss[rows]


class Convergence:
    """Per-row early stop, checked once per outer step (a window of iterations).

    A row stops for good when its score improved by less than ``rtol`` (relative)
    over each of ``patience`` consecutive windows. Judging whole windows rather than
    single iterations matters: L-BFGS's first iterations are scaled by ``1/‖g‖₁``
    and a non-convex loss can sit on a plateau for a few iterations before it drops
    again. Before ``min_steps`` windows the scores are recorded but nobody is judged:
    a warm-started row whose first iterations barely move gets a fair chance.
    """

    def __init__(self, like: Any, rtol: float, patience: int, min_steps: int = 0) -> None:
        xp = array_namespace(like)
        n = like.shape[0]
        self.rtol, self.patience, self.min_steps = rtol, patience, min_steps
        self.last = xp.full((n,), float("inf"), dtype=xp.float64, device=device(like))
        self.calm = xp.zeros((n,), dtype=xp.int64, device=device(like))

    def update(self, idx: Any, score: Any, windows: int) -> Any:
        """Record the window-end ``score`` of rows ``idx`` after ``windows`` windows;
        return which of them converged (bool, like ``idx``)."""
        xp = array_namespace(idx)
        if self.rtol <= 0:
            return xp.zeros(idx.shape, dtype=xp.bool, device=device(idx))
        score = xp.astype(score, xp.float64)
        floor = xp.clip(xp.abs(score), min=1e-12)
        small = (self.last[idx] - score) <= self.rtol * floor  # inf - inf is NaN: not small
        calm = xp.where(small, self.calm[idx] + 1, xp.zeros_like(self.calm[idx]))
        if windows <= self.min_steps:
            calm = xp.zeros_like(calm)
        self.calm[idx] = calm
        self.last[idx] = score
        return calm >= self.patience

    def keep(self, rows: Any) -> None:
        """Drop every row but ``rows`` (bool mask), keeping their order."""
        self.last, self.calm = self.last[rows], self.calm[rows]
