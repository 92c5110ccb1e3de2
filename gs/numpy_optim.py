"""The batched optimisers of :mod:`gs.optim` in numpy (for the torch-free runtime).

Same algorithms, row for row: every row of ``X`` (N, D) float32 is one
independent sample with its own L-BFGS history (torch's two-loop recursion),
step, iteration counter, convergence window and best point, and a row that has
stopped costs no more evaluations. The semantics (first step scaled by
``min(1, 1/‖g‖₁)``, torch's ``tolerance_grad``/``tolerance_change`` tests, the
score (loss or held-out residual) judged by the ``rtol``/``patience``/``min_steps``
window rule and by ``keep_best``, the per-row loss ``floor``, the step hook) are those of
:class:`gs.optim.BatchedLBFGS` and :class:`gs.optim.BatchedAdam`; the tests
compare both on the same objective. The strong-Wolfe line search is not
mirrored: the ONNX runtime refuses ``line_search="strong_wolfe"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# f(X_rows (n, D) float32, row_indices (n,)) -> (loss (n,), grad (n, D)[, score (n,)])
Objective = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]
# after_step(outer steps done, loss (N,), stopped (N,), points) -> rows to stop now (N,) bool
StepHook = Callable[[int, np.ndarray, np.ndarray, Callable[[], np.ndarray]], np.ndarray]


@dataclass
class OptimResult:
    """Final rows (N, D), objective evaluations per row (N,), and which rows converged."""

    x: np.ndarray
    evaluations: np.ndarray
    converged: np.ndarray
    score: np.ndarray | None = None


def _not_finite(loss: np.ndarray, grad: np.ndarray) -> np.ndarray:
    return ~(np.isfinite(loss) & np.isfinite(grad).all(axis=1))


def _unpack(out: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loss, grad[, score]) → (loss, grad, score), the score defaulting to the loss."""
    return out[0], out[1], (out[2] if len(out) > 2 else out[0])


class _Best:
    """Per-row lowest score seen so far and where it was seen."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x.copy()
        self.loss = np.full(x.shape[0], np.inf)

    def record(self, idx: np.ndarray, x_rows: np.ndarray, score: np.ndarray) -> None:
        better = score.astype(np.float64) < self.loss[idx]
        self.loss[idx[better]] = score[better]
        self.x[idx[better]] = x_rows[better]


class _Convergence:
    """Stop a row once its score improved by less than ``rtol`` over ``patience`` windows,
    judged only after ``min_steps`` windows."""

    def __init__(self, n: int, rtol: float, patience: int, min_steps: int) -> None:
        self.rtol, self.patience, self.min_steps = rtol, patience, min_steps
        self.last = np.full(n, np.inf)
        self.calm = np.zeros(n, dtype=np.int64)

    def update(self, idx: np.ndarray, score: np.ndarray, windows: int) -> np.ndarray:
        if self.rtol <= 0:
            return np.zeros(idx.shape, dtype=bool)
        score = score.astype(np.float64)
        with np.errstate(invalid="ignore"):
            small = (self.last[idx] - score) <= self.rtol * np.maximum(np.abs(score), 1e-12)
        calm = np.where(small, self.calm[idx] + 1, 0)
        if windows <= self.min_steps:
            calm = np.zeros_like(calm)
        self.calm[idx] = calm
        self.last[idx] = score
        return calm >= self.patience


class _History:
    """Per-row ring buffers of L-BFGS pairs; ``apply`` is torch's two-loop recursion."""

    def __init__(self, n: int, size: int, dim: int) -> None:
        self.size = size
        self.s = np.zeros((n, size, dim), dtype=np.float32)
        self.y = np.zeros((n, size, dim), dtype=np.float32)
        self.rho = np.zeros((n, size), dtype=np.float32)
        self.head = np.zeros(n, dtype=np.int64)
        self.count = np.zeros(n, dtype=np.int64)
        self.gamma = np.ones(n, dtype=np.float32)

    def reset(self, rows: np.ndarray) -> None:
        self.count[rows] = 0
        self.head[rows] = 0
        self.gamma[rows] = 1.0

    def push(self, rows: np.ndarray, s: np.ndarray, y: np.ndarray, ys: np.ndarray) -> None:
        slot = self.head[rows]
        self.s[rows, slot] = s
        self.y[rows, slot] = y
        self.rho[rows, slot] = 1.0 / ys
        self.gamma[rows] = ys / np.einsum("ij,ij->i", y, y)
        self.head[rows] = (slot + 1) % self.size
        self.count[rows] = np.minimum(self.count[rows] + 1, self.size)

    def apply(self, rows: np.ndarray, g: np.ndarray) -> np.ndarray:
        """``H·g`` (r, D) for ``rows``, H the L-BFGS inverse-Hessian estimate."""
        q = g.copy()
        count = self.count[rows]
        deepest = int(count.max()) if rows.size else 0
        alphas = np.zeros((rows.size, max(deepest, 1)), dtype=np.float32)
        for age in range(deepest):  # newest pair first
            sel = np.nonzero(count > age)[0]
            r, slot = rows[sel], (self.head[rows[sel]] - 1 - age) % self.size
            s, y = self.s[r, slot], self.y[r, slot]
            a = self.rho[r, slot] * np.einsum("ij,ij->i", s, q[sel])
            alphas[sel, age] = a
            q[sel] -= a[:, None] * y
        out = q * self.gamma[rows, None]
        for age in reversed(range(deepest)):  # oldest pair first
            sel = np.nonzero(count > age)[0]
            r, slot = rows[sel], (self.head[rows[sel]] - 1 - age) % self.size
            s, y = self.s[r, slot], self.y[r, slot]
            b = self.rho[r, slot] * np.einsum("ij,ij->i", y, out[sel])
            out[sel] += s * (alphas[sel, age] - b)[:, None]
        return out


class BatchedLBFGS:
    """Row-wise L-BFGS with torch semantics (no line search); see :class:`gs.optim.BatchedLBFGS`."""

    def __init__(self, lr: float = 1.0, max_iter: int = 20, history_size: int = 100,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 rtol: float = 0.0, patience: int = 1, keep_best: bool = False,
                 min_steps: int = 0) -> None:
        self.lr, self.max_iter, self.history_size = lr, max_iter, history_size
        self.min_steps = min_steps
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.rtol, self.patience, self.keep_best = rtol, patience, keep_best

    def minimize(self, objective: Objective, x0: np.ndarray, steps: int,
                 after_step: StepHook | None = None,
                 floor: np.ndarray | None = None) -> OptimResult:
        """Run ``steps`` outer steps from ``x0`` (N, D) float32; returns the final rows.

        ``after_step(step, loss, stopped, points)`` runs after every outer step and
        returns rows to stop for good; ``floor`` (N,) stops a row once its loss is
        at or below it.
        """
        n, dim = x0.shape
        x = np.array(x0, dtype=np.float32)
        history = _History(n, max(1, min(self.history_size, steps * self.max_iter)), dim)
        d, g, g_prev = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
        t = np.zeros(n, dtype=np.float32)
        loss = np.zeros(n, dtype=np.float32)
        score = np.full(n, np.inf)
        n_iter = np.zeros(n, dtype=np.int64)
        evals = np.zeros(n, dtype=np.int64)
        done = np.zeros(n, dtype=bool)
        retired = np.zeros(n, dtype=bool)
        fresh = np.zeros(n, dtype=bool)
        conv = _Convergence(n, self.rtol, self.patience, self.min_steps)
        best = _Best(x) if self.keep_best else None

        def evaluate(idx: np.ndarray) -> np.ndarray:
            """Evaluate rows ``idx``; return which meet torch's gradient test."""
            if idx.size == 0:
                return np.zeros(0, dtype=bool)
            f, grad, s = _unpack(objective(x[idx], idx))
            evals[idx] += 1
            if best is not None:
                best.record(idx, x[idx], s)
            loss[idx], g[idx], score[idx] = f, grad, s
            fresh[idx] = True
            done[idx[_not_finite(f, grad)]] = True
            if floor is not None:
                done[idx[f <= floor[idx]]] = True
            return np.abs(grad).max(axis=1) <= self.tolerance_grad

        def points() -> np.ndarray:
            return (best.x if best is not None else x).copy()

        for step in range(steps):
            live = np.nonzero(~done)[0]
            if live.size == 0:
                break
            evaluate(live)
            optimal = np.abs(g[live]).max(axis=1) <= self.tolerance_grad
            done[live[optimal]] = True
            judged = best.loss[live] if best is not None else score[live]
            done[live[conv.update(live, judged, step)]] = True
            retired |= done
            self._inner_loop(evaluate, x, d, g, g_prev, t, loss, n_iter, done, fresh, history)
            if after_step is not None:
                done |= np.asarray(after_step(step + 1, loss.copy(), done.copy(), points))
        if best is not None:
            evaluate(np.nonzero(~fresh & ~retired)[0])
            return OptimResult(x=best.x, evaluations=evals, converged=done, score=best.loss)
        return OptimResult(x=x, evaluations=evals, converged=done, score=score)

    def _inner_loop(self, evaluate: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                    d: np.ndarray, g: np.ndarray, g_prev: np.ndarray, t: np.ndarray,
                    loss: np.ndarray, n_iter: np.ndarray, done: np.ndarray, fresh: np.ndarray,
                    history: _History) -> None:
        """One outer step: up to ``max_iter`` iterations of every live row."""
        inner = np.nonzero(~done)[0]
        for it in range(1, self.max_iter + 1):
            if inner.size == 0:
                break
            n_iter[inner] += 1
            first = n_iter[inner] == 1
            self._direction(inner, first, g, g_prev, d, t, history)
            g_prev[inner] = g[inner]
            prev_loss = loss[inner].copy()
            g1 = np.abs(g[inner]).sum(axis=1)
            with np.errstate(divide="ignore"):
                scale = np.minimum(np.float32(1.0) / g1, np.float32(1.0))
            t[inner] = np.where(first, scale * np.float32(self.lr), np.float32(self.lr))
            gtd = np.einsum("ij,ij->i", g[inner], d[inner])
            stuck = gtd > -self.tolerance_change
            done[inner[stuck]] = True  # the same direction would come back: stop for good
            inner, prev_loss = inner[~stuck], prev_loss[~stuck]
            if inner.size == 0:
                break
            x[inner] += t[inner, None] * d[inner]
            fresh[inner] = False
            if it == self.max_iter:
                break
            optimal = evaluate(inner)
            done[inner[optimal]] = True
            small_step = np.abs(d[inner] * t[inner, None]).max(axis=1) <= self.tolerance_change
            small_change = np.abs(loss[inner] - prev_loss) < self.tolerance_change
            keep = ~(optimal | small_step | small_change) & ~done[inner]
            inner = inner[keep]

    @staticmethod
    def _direction(idx: np.ndarray, first: np.ndarray, g: np.ndarray, g_prev: np.ndarray,
                   d: np.ndarray, t: np.ndarray, history: _History) -> None:
        new = idx[~first]
        if new.size:
            y = g[new] - g_prev[new]
            s = d[new] * t[new, None]
            ys = np.einsum("ij,ij->i", y, s)
            accept = ys > 1e-10
            if accept.any():
                history.push(new[accept], s[accept], y[accept], ys[accept])
        history.reset(idx[first])
        d[idx] = np.where(first[:, None], -g[idx], -history.apply(idx, g[idx]))


class BatchedAdam:
    """Row-wise Adam with per-row step counts and early stop; see :class:`gs.optim.BatchedAdam`."""

    def __init__(self, lr: float = 0.1, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, rtol: float = 0.0, patience: int = 1,
                 window: int = 20, keep_best: bool = False, min_steps: int = 0) -> None:
        self.lr, self.betas, self.eps = lr, betas, eps
        self.min_steps = min_steps
        self.rtol, self.patience, self.window = rtol, patience, window
        self.keep_best = keep_best

    def minimize(self, objective: Objective, x0: np.ndarray, steps: int,
                 after_step: StepHook | None = None,
                 floor: np.ndarray | None = None) -> OptimResult:
        """Run ``steps`` Adam iterations from ``x0`` (N, D); hooks run once per window."""
        x = np.array(x0, dtype=np.float32)
        n = x.shape[0]
        m, v = np.zeros_like(x), np.zeros_like(x)
        step = np.zeros(n, dtype=np.float32)
        loss = np.zeros(n, dtype=np.float32)
        score = np.full(n, np.inf)
        evals = np.zeros(n, dtype=np.int64)
        done = np.zeros(n, dtype=bool)
        conv = _Convergence(n, self.rtol, self.patience, self.min_steps)
        best = _Best(x) if self.keep_best else None
        b1, b2 = self.betas
        for iteration in range(1, steps + 1):
            idx = np.nonzero(~done)[0]
            if idx.size == 0:
                break
            f, grad, s = _unpack(objective(x[idx], idx))
            loss[idx], score[idx] = f, s
            evals[idx] += 1
            if best is not None:
                best.record(idx, x[idx], s)
            broken = _not_finite(f, grad)
            if floor is not None:
                done[idx[f <= floor[idx]]] = True
            if broken.any():
                done[idx[broken]] = True
                idx, grad = idx[~broken], grad[~broken]
            step[idx] += 1
            m[idx] = b1 * m[idx] + (1 - b1) * grad
            v[idx] = b2 * v[idx] + (1 - b2) * grad * grad
            k = step[idx, None]
            denom = np.sqrt(v[idx] / (1 - b2**k)) + self.eps
            x[idx] -= (self.lr / (1 - b1**k) * m[idx] / denom).astype(np.float32)
            if iteration % self.window == 0 or iteration == steps:
                windows = -(-iteration // self.window)
                judged = best.loss[idx] if best is not None else score[idx]
                done[idx[conv.update(idx, judged, windows)]] = True
                if after_step is not None:
                    done |= np.asarray(after_step(
                        windows, loss.copy(), done.copy(),
                        lambda: (best.x if best is not None else x).copy()))
        if best is not None:
            _, _, s = _unpack(objective(x, np.arange(n)))
            evals += 1
            worse = ~(s.astype(np.float64) <= best.loss)
            best.loss = np.where(worse, best.loss, s)
            return OptimResult(x=np.where(worse[:, None], best.x, x), evaluations=evals,
                               converged=done, score=best.loss)
        return OptimResult(x=x, evaluations=evals, converged=done, score=score)
