"""The batched optimisers of :mod:`gs.optim` in numpy (for the torch-free runtime).

Same algorithms, row for row: every row of ``X`` (N, D) float32 is one
independent sample with its own L-BFGS history (torch's two-loop recursion),
step, iteration counter, convergence window and best point, and a row that has
stopped costs no more evaluations. The semantics (first step scaled by
``min(1, 1/‖g‖₁)``, torch's ``tolerance_grad``/``tolerance_change`` tests, the
score (loss or held-out residual) judged by the ``rtol``/``patience``/``min_steps``
window rule and by ``keep_best``, the per-row loss ``floor``, the step hook) are those of
:class:`gs.optim.BatchedLBFGS` and :class:`gs.optim.BatchedAdam`; the tests
compare both on the same objective. With ``line_search="strong_wolfe"`` every
row runs the same search as the torch engine (:func:`gs.line_search.strong_wolfe`,
its own step length and trials, the trials of all rows evaluated together, the
outer step's evaluations bounded by ``max_eval``). Rows keep the dtype of ``x0``
(float32, or float64 for exact comparisons); anything else becomes float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gs.line_search import strong_wolfe
from gs.optim_options import AdamOptions, LBFGSOptions

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

    def __init__(self, n: int, size: int, dim: int, dtype: np.dtype) -> None:
        self.size = size
        self.s = np.zeros((n, size, dim), dtype=dtype)
        self.y = np.zeros((n, size, dim), dtype=dtype)
        self.rho = np.zeros((n, size), dtype=dtype)
        self.head = np.zeros(n, dtype=np.int64)
        self.count = np.zeros(n, dtype=np.int64)
        self.gamma = np.ones(n, dtype=dtype)

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
        alphas = np.zeros((rows.size, max(deepest, 1)), dtype=g.dtype)
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


def _row_dtype(x0: np.ndarray) -> np.dtype:
    """float64 rows stay float64 (exact comparisons); everything else runs in float32."""
    return np.dtype(np.float64) if x0.dtype == np.float64 else np.dtype(np.float32)


class BatchedLBFGS(LBFGSOptions):
    """Row-wise L-BFGS with torch semantics, with or without strong-Wolfe line search.

    The arguments are :class:`gs.optim_options.LBFGSOptions`, as for
    :class:`gs.optim.BatchedLBFGS`.
    """

    def minimize(self, objective: Objective, x0: np.ndarray, steps: int,
                 after_step: StepHook | None = None,
                 floor: np.ndarray | None = None) -> OptimResult:
        """Run ``steps`` outer steps from ``x0`` (N, D); returns the final rows.

        ``after_step(step, loss, stopped, points)`` runs after every outer step and
        returns rows to stop for good; ``floor`` (N,) stops a row once its loss is
        at or below it.
        """
        n, dim = x0.shape
        dtype = _row_dtype(np.asarray(x0))
        x = np.array(x0, dtype=dtype)
        history = _History(n, max(1, min(self.history_size, steps * self.max_iter)), dim, dtype)
        d, g, g_prev = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
        t = np.zeros(n, dtype=dtype)
        loss = np.zeros(n, dtype=dtype)
        score = np.full(n, np.inf)
        n_iter = np.zeros(n, dtype=np.int64)
        evals = np.zeros(n, dtype=np.int64)
        done = np.zeros(n, dtype=bool)
        retired = np.zeros(n, dtype=bool)
        fresh = np.zeros(n, dtype=bool)  # loss[r] is the loss at x[r]
        conv = _Convergence(n, self.rtol, self.patience, self.min_steps)
        best = _Best(x) if self.keep_best else None

        def measure(idx: np.ndarray, points: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Evaluate rows ``idx`` at ``points``; count it, track the best."""
            f, grad, s = _unpack(objective(points, idx))
            evals[idx] += 1
            if best is not None:
                best.record(idx, points, s)
            return (np.asarray(f).astype(dtype), np.asarray(grad).astype(dtype),
                    np.asarray(s).astype(np.float64))

        def accept(idx: np.ndarray, f: np.ndarray, grad: np.ndarray, s: np.ndarray
                   ) -> np.ndarray:
            """Make (f, grad) the state of rows ``idx``; return who meets the gradient test."""
            loss[idx], g[idx], score[idx] = f, grad, s
            fresh[idx] = True
            done[idx[_not_finite(f, grad)]] = True
            if floor is not None:
                done[idx[f <= floor[idx]]] = True
            return np.abs(grad).max(axis=1) <= self.tolerance_grad

        def evaluate(idx: np.ndarray) -> np.ndarray:
            if idx.size == 0:
                return np.zeros(0, dtype=bool)
            return accept(idx, *measure(idx, x[idx]))

        def points() -> np.ndarray:
            return (best.x if best is not None else x).copy()

        for step in range(steps):
            live = np.nonzero(~done)[0]
            if live.size == 0:
                break
            # With a line search the state is already evaluated at x (but the first step).
            evaluate(live[~fresh[live]] if self.line_search else live)
            optimal = np.abs(g[live]).max(axis=1) <= self.tolerance_grad
            done[live[optimal]] = True
            judged = best.loss[live] if best is not None else score[live]
            done[live[conv.update(live, judged, step)]] = True
            retired |= done
            self._inner_loop(measure, accept, x, d, g, g_prev, t, loss, score, n_iter, done,
                             fresh, history)
            if after_step is not None:
                done |= np.asarray(after_step(step + 1, loss.copy(), done.copy(), points))
        if best is not None:
            evaluate(np.nonzero(~fresh & ~retired)[0])
            return OptimResult(x=best.x, evaluations=evals, converged=done, score=best.loss)
        return OptimResult(x=x, evaluations=evals, converged=done, score=score)

    def _inner_loop(self, measure, accept, x: np.ndarray, d: np.ndarray, g: np.ndarray,
                    g_prev: np.ndarray, t: np.ndarray, loss: np.ndarray, score: np.ndarray,
                    n_iter: np.ndarray, done: np.ndarray, fresh: np.ndarray,
                    history: _History) -> None:
        """One outer step: up to ``max_iter`` iterations of every live row."""
        inner = np.nonzero(~done)[0]
        step_evals = np.ones(x.shape[0], dtype=np.int64)
        one, lr = x.dtype.type(1.0), x.dtype.type(self.lr)
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
                scale = np.minimum(one / g1, one)
            t[inner] = np.where(first, scale * lr, lr)
            gtd = np.einsum("ij,ij->i", g[inner], d[inner])
            stuck = gtd > -self.tolerance_change
            done[inner[stuck]] = True  # the same direction would come back: stop for good
            inner, prev_loss, gtd = inner[~stuck], prev_loss[~stuck], gtd[~stuck]
            if inner.size == 0:
                break
            if self.line_search:
                step_evals[inner] += self._search(measure, accept, inner, x, d, g, t, loss,
                                                  score, gtd, self.max_eval - step_evals[inner])
                optimal = np.abs(g[inner]).max(axis=1) <= self.tolerance_grad
                if it == self.max_iter:
                    break
                stop = optimal | (step_evals[inner] >= self.max_eval)
            else:
                x[inner] += t[inner, None] * d[inner]
                fresh[inner] = False
                if it == self.max_iter:
                    break
                step_evals[inner] += 1
                optimal = accept(inner, *measure(inner, x[inner]))
                stop = optimal
            done[inner[optimal]] = True
            small_step = np.abs(d[inner] * t[inner, None]).max(axis=1) <= self.tolerance_change
            small_change = np.abs(loss[inner] - prev_loss) < self.tolerance_change
            inner = inner[~(stop | small_step | small_change) & ~done[inner]]

    @staticmethod
    def _search(measure, accept, inner: np.ndarray, x: np.ndarray, d: np.ndarray,
                g: np.ndarray, t: np.ndarray, loss: np.ndarray, score: np.ndarray,
                gtd: np.ndarray, max_ls: np.ndarray) -> np.ndarray:
        """Strong-Wolfe line search of rows ``inner``, their trials evaluated together.

        Moves each row to its accepted step, writes its loss, gradient and step
        length; returns each row's number of trials (r,).
        """
        x0, directions = x[inner], d[inner]
        searches = [
            strong_wolfe(f, slope, (g0, s0), t0, d_norm, budget)
            for f, slope, g0, s0, t0, d_norm, budget in zip(
                loss[inner].astype(np.float64).tolist(), gtd.astype(np.float64).tolist(),
                g[inner], score[inner], t[inner].astype(np.float64).tolist(),
                np.abs(directions).max(axis=1).astype(np.float64).tolist(), max_ls.tolist())
        ]
        trial = [next(search) for search in searches]
        outcome: list = [None] * len(searches)
        active = list(range(len(searches)))
        while active:
            rows = np.array(active)
            steps = np.array([trial[k] for k in active], dtype=x.dtype)
            f, grad, s = measure(inner[rows], x0[rows] + steps[:, None] * directions[rows])
            slopes = (grad * directions[rows]).sum(axis=1)
            still = []
            for j, (k, value, slope) in enumerate(zip(active, f.astype(np.float64).tolist(),
                                                      slopes.astype(np.float64).tolist())):
                if not (math.isfinite(value) and math.isfinite(slope)):
                    value, slope = math.inf, math.inf  # never accepted, bracketed away
                try:
                    trial[k] = searches[k].send((value, slope, (grad[j], s[j])))
                    still.append(k)
                except StopIteration as stop:
                    outcome[k] = stop.value
            active = still
        steps = np.array([o[0] for o in outcome], dtype=x.dtype)
        t[inner] = steps
        x[inner] = x0 + steps[:, None] * directions
        # The accepted point was evaluated (or is the start point): no new evaluation.
        accept(inner, np.array([o[1] for o in outcome], dtype=x.dtype),
               np.stack([o[2][0] for o in outcome]),
               np.array([o[2][1] for o in outcome], dtype=np.float64))
        return np.array([o[3] for o in outcome], dtype=np.int64)

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


class BatchedAdam(AdamOptions):
    """Row-wise Adam with per-row step counts and early stop; see :class:`gs.optim.BatchedAdam`."""

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
