"""Row-wise L-BFGS in which every sample's optimisation is independent.

:class:`BatchedLBFGS` reproduces ``torch.optim.LBFGS`` row by row (``lr``,
``max_iter`` inner iterations per outer step, ``history_size``, ``max_eval``,
``tolerance_grad``, ``tolerance_change``), with or without its strong-Wolfe line
search (``line_search="strong_wolfe"``: every row brackets and zooms on its own step
length with its own number of trials; the trials of all rows are evaluated together).
On top of torch's per-step tests a row stops for good:

* once its loss or gradient is not finite;
* once its loss reaches a per-row ``floor`` (the discrepancy principle: with noise of
  known variance σ² a residual below σ² fits noise);
* once its *score* — the loss itself, or a held-out residual the objective returns as
  a third output — has improved by less than ``rtol`` (relative) over each of
  ``patience`` consecutive outer steps, judged only after ``min_steps`` outer steps.

With ``keep_best`` a row returns the point of lowest score it visited rather than its
last one: without a line search L-BFGS can step uphill, and with a held-out score the
best point is where the fit stopped generalising (early stopping by cross-validation,
Ward 2009). Rows that stop are retired and the state of the others compacted, so a
batch whose rows stopped costs what a batch of the live rows costs.

Written once over the array API: ``x0`` may be a numpy array or a torch tensor (on any
device), and the objective answers in the same namespace.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gs.solve.arrays import (
    array_namespace,
    copy,
    device,
    positions,
    solve_triangular,
    to_list,
)
from gs.solve.line_search import strong_wolfe
from gs.solve.options import LBFGSOptions
from gs.solve.rows import (
    BestIterate,
    Convergence,
    Objective,
    OptimResult,
    StepHook,
    not_finite,
    unpack,
)


def _max_abs(rows: Any) -> Any:
    """Largest absolute entry of each row of a (n, D) array: (n,)."""
    xp = array_namespace(rows)
    return xp.max(xp.abs(rows), axis=1)


class BatchedLBFGS(LBFGSOptions):
    """Row-wise L-BFGS with torch semantics; arguments: :class:`gs.solve.options.LBFGSOptions`."""

    def minimize(self, objective: Objective, x0: Any, steps: int,
                 after_step: StepHook | None = None, floor: Any = None) -> OptimResult:
        """Run ``steps`` outer steps from ``x0`` (N, D); returns the final rows.

        ``after_step`` sees every row's latest loss after each outer step and may stop
        rows for good (e.g. restarts that are already losing); an exception it raises
        propagates (that is how a caller cancels). ``floor`` (N,) stops a row once its
        loss is at or below it.
        """
        xp = array_namespace(x0)
        dev = device(x0)
        n, dim = x0.shape
        searching = self.line_search != "none"

        def zeros(dtype: Any, fill: float = 0) -> Any:
            return xp.full((n,), fill, dtype=dtype, device=dev)

        out_x = copy(x0)
        out_evals = zeros(xp.int64)
        out_done = zeros(xp.bool, False)
        out_score = zeros(xp.float64, math.inf)
        all_loss = zeros(x0.dtype, math.inf)
        floor_all = None if floor is None else xp.astype(xp.asarray(floor, device=dev), x0.dtype)
        # Per stored row; ``ids`` maps a stored row to its index in x0.
        ids = xp.arange(n, device=dev)
        x = copy(out_x)
        # No more pairs can arise than iterations run; do not allocate for more.
        history = _History(n, max(1, min(self.history_size, steps * self.max_iter)), dim, x)
        d, g, g_prev = xp.zeros_like(x), xp.zeros_like(x), xp.zeros_like(x)
        t, loss = zeros(x.dtype), zeros(x.dtype)
        score = zeros(xp.float64, math.inf)
        n_iter, evals = zeros(xp.int64), zeros(xp.int64)
        done = zeros(xp.bool, False)
        fresh = zeros(xp.bool, False)  # loss[r] is the loss at x[r]
        conv = Convergence(x, self.rtol, self.patience, self.min_steps)
        best = BestIterate(x) if self.keep_best else None

        def measure(idx: Any, points: Any) -> tuple[Any, Any, Any]:
            """Evaluate stored rows ``idx`` at ``points``; count it, track the best."""
            f, grad, s = unpack(objective(points, ids[idx]))
            evals[idx] += 1
            if best is not None:
                best.record(idx, points, s)
            return xp.astype(f, x.dtype), xp.astype(grad, x.dtype), xp.astype(s, xp.float64)

        def accept(idx: Any, f: Any, grad: Any, s: Any) -> Any:
            """Make (f, grad) the state of rows ``idx``; return who meets the gradient test."""
            loss[idx], g[idx], score[idx] = f, grad, s
            fresh[idx] = True
            # A row whose loss or gradient overflowed cannot take another step.
            done[idx[not_finite(f, grad)]] = True
            if floor_all is not None:
                done[idx[f <= floor_all[ids[idx]]]] = True
            return _max_abs(grad) <= self.tolerance_grad

        def evaluate(idx: Any) -> None:
            if idx.shape[0]:
                accept(idx, *measure(idx, x[idx]))

        def retire(rows: Any) -> None:
            """Write out stored rows ``rows`` (bool mask): best or last point, counters."""
            out_x[ids[rows]] = best.x[rows] if best is not None else x[rows]
            all_loss[ids[rows]] = loss[rows]
            out_score[ids[rows]] = best.loss[rows] if best is not None else score[rows]
            out_evals[ids[rows]] = evals[rows]
            out_done[ids[rows]] = done[rows]

        def points() -> Any:
            now = copy(out_x)
            now[ids] = best.x if best is not None else x
            return now

        for step in range(steps):
            live = positions(~done)
            if live.shape[0] == 0:
                break
            # With a line search the state is already evaluated at x (but the first step).
            evaluate(live[~fresh[live]] if searching else live)
            done[live[_max_abs(g[live]) <= self.tolerance_grad]] = True  # x cannot move again
            judged = best.loss[live] if best is not None else score[live]
            done[live[conv.update(live, judged, step)]] = True
            if bool(xp.any(done)):
                retire(done)
                keep = ~done
                ids, x, d, g, g_prev, t, loss, score, n_iter, evals, done, fresh = (
                    v[keep] for v in (ids, x, d, g, g_prev, t, loss, score, n_iter, evals,
                                      done, fresh))
                history.keep(keep)
                conv.keep(keep)
                if best is not None:
                    best.keep(keep)
            self._inner_loop(measure, accept, x, d, g, g_prev, t, loss, score, n_iter, done,
                             fresh, history)
            if after_step is not None:
                all_loss[ids] = loss
                judged = copy(out_score)
                judged[ids] = best.loss if best is not None else score
                stopped = copy(out_done)
                stopped[ids] = done
                stop_now = after_step(step + 1, all_loss, judged, stopped, points)
                done |= xp.asarray(stop_now, device=dev)[ids]
        if best is not None:
            evaluate(positions(~fresh))
        retire(xp.ones_like(done))
        return OptimResult(x=out_x, evaluations=out_evals, converged=out_done, score=out_score)

    def _inner_loop(self, measure, accept, x: Any, d: Any, g: Any, g_prev: Any, t: Any,
                    loss: Any, score: Any, n_iter: Any, done: Any, fresh: Any,
                    history: _History) -> None:
        """One outer step: up to ``max_iter`` iterations of every live stored row."""
        xp = array_namespace(x)
        inner = positions(~done)
        step_evals = xp.ones((x.shape[0],), dtype=xp.int64, device=device(x))
        for it in range(1, self.max_iter + 1):
            if inner.shape[0] == 0:
                break
            n_iter[inner] += 1
            first = n_iter[inner] == 1
            self._direction(inner, first, g, g_prev, d, t, history)
            g_prev[inner] = g[inner]
            prev_loss = loss[inner]
            g1 = xp.sum(xp.abs(g[inner]), axis=1)
            # min(1, 1/‖g‖₁)·lr on a row's first iteration (1/0 is capped at 1 alike).
            scale = xp.clip(1.0 / xp.clip(g1, min=1e-30), max=1.0)
            t[inner] = xp.where(first, scale * self.lr, xp.full_like(g1, self.lr))
            gtd = xp.sum(g[inner] * d[inner], axis=1)
            stuck = gtd > -self.tolerance_change
            done[inner[stuck]] = True  # the same direction would come back: stop for good
            inner, prev_loss, gtd = inner[~stuck], prev_loss[~stuck], gtd[~stuck]
            if inner.shape[0] == 0:
                break
            if self.line_search != "none":
                step_evals[inner] += self._search(measure, accept, inner, x, d, g, t, loss,
                                                  score, gtd, self.max_eval - step_evals[inner])
                optimal = _max_abs(g[inner]) <= self.tolerance_grad
                if it == self.max_iter:
                    break
                stop = optimal | (step_evals[inner] >= self.max_eval)
            else:
                x[inner] += t[inner][:, None] * d[inner]
                fresh[inner] = False
                if it == self.max_iter:
                    break
                step_evals[inner] += 1
                optimal = accept(inner, *measure(inner, x[inner]))
                stop = optimal
            done[inner[optimal]] = True
            small_step = _max_abs(d[inner] * t[inner][:, None]) <= self.tolerance_change
            small_change = xp.abs(loss[inner] - prev_loss) < self.tolerance_change
            inner = inner[~(stop | small_step | small_change) & ~done[inner]]

    @staticmethod
    def _search(measure, accept, inner: Any, x: Any, d: Any, g: Any, t: Any, loss: Any,
                score: Any, gtd: Any, max_ls: Any) -> Any:
        """Strong-Wolfe line search of rows ``inner``, their trials evaluated together.

        Moves each row to its accepted step, writes its loss, gradient and step length;
        returns each row's number of trials (r,).
        """
        xp = array_namespace(x)
        dev = device(x)
        x0, directions = x[inner], d[inner]
        searches = [
            strong_wolfe(f, slope, (g0, s0), t0, d_norm, budget)
            for f, slope, g0, s0, t0, d_norm, budget in zip(
                to_list(xp.astype(loss[inner], xp.float64)), to_list(xp.astype(gtd, xp.float64)),
                g[inner], score[inner], to_list(xp.astype(t[inner], xp.float64)),
                to_list(xp.astype(_max_abs(directions), xp.float64)), to_list(max_ls))
        ]
        trial = [next(search) for search in searches]
        outcome: list[Any] = [None] * len(searches)
        active = list(range(len(searches)))
        while active:
            rows = xp.asarray(active, device=dev)
            steps = xp.asarray([trial[k] for k in active], dtype=x.dtype, device=dev)
            f, grad, s = measure(inner[rows], x0[rows] + steps[:, None] * directions[rows])
            slopes = xp.sum(grad * directions[rows], axis=1)
            still = []
            for j, (k, value, slope) in enumerate(zip(
                    active, to_list(xp.astype(f, xp.float64)),
                    to_list(xp.astype(slopes, xp.float64)))):
                if not (math.isfinite(value) and math.isfinite(slope)):
                    value, slope = math.inf, math.inf  # never accepted, bracketed away
                try:
                    trial[k] = searches[k].send((value, slope, (grad[j], s[j])))
                    still.append(k)
                except StopIteration as stop:
                    outcome[k] = stop.value
            active = still
        steps = xp.asarray([o[0] for o in outcome], dtype=x.dtype, device=dev)
        t[inner] = steps
        x[inner] = x0 + steps[:, None] * directions
        # The accepted point was evaluated (or is the start point): no new evaluation.
        accept(inner, xp.asarray([o[1] for o in outcome], dtype=x.dtype, device=dev),
               xp.stack([o[2][0] for o in outcome]),
               xp.astype(xp.stack([xp.asarray(o[2][1]) for o in outcome]), xp.float64))
        return xp.asarray([o[3] for o in outcome], dtype=xp.int64, device=dev)

    @staticmethod
    def _direction(idx: Any, first: Any, g: Any, g_prev: Any, d: Any, t: Any,
                   history: _History) -> None:
        """Add the latest curvature pair of rows ``idx`` and write their new direction."""
        xp = array_namespace(g)
        new = idx[~first]
        if new.shape[0]:
            y = g[new] - g_prev[new]
            s = d[new] * t[new][:, None]
            ys = xp.sum(y * s, axis=1)
            curved = ys > 1e-10
            if bool(xp.any(curved)):
                history.push(new[curved], s[curved], y[curved], ys[curved])
        history.reset(idx[first])
        d[idx] = xp.where(first[:, None], -g[idx], -history.apply(idx, g[idx]))


class _History:
    """Per-row L-BFGS curvature pairs in ring buffers, applied in compact form.

    ``apply`` computes ``H·g`` with the compact representation of Byrd, Nocedal and
    Schnabel (1994, eq. 3.13) — the same product as the two-loop recursion of
    ``torch.optim.LBFGS`` — from batched products with the stored pairs plus small
    per-row triangular solves, so its cost is a few passes over the history instead of
    hundreds of small vector operations. ``SᵀY`` and ``YᵀY`` are kept up to date one
    pair at a time.
    """

    def __init__(self, n: int, size: int, dim: int, like: Any) -> None:
        xp = self.xp = array_namespace(like)
        dev = device(like)
        opts = {"dtype": like.dtype, "device": dev}
        self.size = size
        self.s = xp.zeros((n, size, dim), **opts)
        self.y = xp.zeros((n, size, dim), **opts)
        self.sy = xp.zeros((n, size, size), **opts)  # sy[r, i, j] = s_i · y_j
        self.yy = xp.zeros((n, size, size), **opts)
        self.head = xp.zeros((n,), dtype=xp.int64, device=dev)
        self.count = xp.zeros((n,), dtype=xp.int64, device=dev)
        self.gamma = xp.ones((n,), **opts)  # H0 = gamma·I, torch's H_diag
        self.age = xp.arange(size, device=dev)
        self.upper = xp.asarray(np.triu(np.ones((size, size), dtype=bool)), device=dev)
        self.eye = xp.eye(size, **opts)

    def _rows(self, array: Any, rows: Any) -> Any:
        # ``rows`` is increasing: as many as stored means every row (a view, no gather).
        return array if rows.shape[0] == self.s.shape[0] else array[rows]

    def keep(self, rows: Any) -> None:
        """Drop every row but ``rows`` (bool mask), keeping their order."""
        for name in ("s", "y", "sy", "yy", "head", "count", "gamma"):
            setattr(self, name, getattr(self, name)[rows])

    def reset(self, rows: Any) -> None:
        self.count[rows] = 0
        self.head[rows] = 0
        self.gamma[rows] = 1.0

    def push(self, rows: Any, s: Any, y: Any, ys: Any) -> None:
        """Store pair (s, y) of ``rows`` in place of their oldest one."""
        xp = self.xp
        slot = self.head[rows]
        self.s[rows, slot] = s
        self.y[rows, slot] = y
        s_all, y_all = self._rows(self.s, rows), self._rows(self.y, rows)
        self.sy[rows, slot, :] = xp.matmul(s[:, None, :], xp.matrix_transpose(y_all))[:, 0]
        self.sy[rows, :, slot] = xp.matmul(s_all, y[:, :, None])[:, :, 0]
        yy = xp.matmul(y_all, y[:, :, None])[:, :, 0]
        self.yy[rows, slot, :] = yy
        self.yy[rows, :, slot] = yy
        self.gamma[rows] = ys / xp.sum(y * y, axis=1)
        self.head[rows] = (slot + 1) % self.size
        self.count[rows] = xp.clip(self.count[rows] + 1, max=self.size)

    def apply(self, rows: Any, g: Any) -> Any:
        """``H·g`` for ``rows`` (g: (r, D)), H the L-BFGS inverse-Hessian estimate."""
        xp, size = self.xp, self.size
        r = rows.shape[0]
        count, head = self.count[rows][:, None], self.head[rows][:, None]
        # order[r, a] = storage slot of the a-th oldest pair (a cyclic shift of the
        # slots); slot_age is its inverse. Ages past count are unused.
        order = (head - count + self.age) % size
        slot_age = (self.age - head + count) % size
        valid = xp.astype(self.age < count, g.dtype)
        s_all, y_all = self._rows(self.s, rows), self._rows(self.y, rows)
        p_s = xp.take_along_axis(xp.matmul(s_all, g[:, :, None])[:, :, 0], order, axis=1) * valid
        p_y = xp.take_along_axis(xp.matmul(y_all, g[:, :, None])[:, :, 0], order, axis=1) * valid

        by_row = xp.broadcast_to(order[:, :, None], (r, size, size))
        by_column = xp.broadcast_to(order[:, None, :], (r, size, size))

        def by_age(matrix: Any) -> Any:
            m = xp.take_along_axis(xp.take_along_axis(matrix[rows], by_row, axis=1), by_column,
                                   axis=2)
            return m * valid[:, :, None] * valid[:, None, :]

        sy, yy = by_age(self.sy), by_age(self.yy)
        # R: upper triangle of SᵀY; unused slots get a unit diagonal and so decouple.
        upper = xp.where(self.upper, sy, xp.zeros_like(sy)) + self.eye * (1.0 - valid)[:, :, None]
        diag = xp.linalg.diagonal(sy)
        gamma = self.gamma[rows][:, None]
        u = solve_triangular(upper, p_s[:, :, None], upper=True)[:, :, 0]
        rhs = diag * u + gamma * xp.matmul(yy, u[:, :, None])[:, :, 0] - gamma * p_y
        top = solve_triangular(xp.matrix_transpose(upper), rhs[:, :, None], upper=False)[:, :, 0]
        coef_s = xp.take_along_axis(top * valid, slot_age, axis=1)
        coef_y = xp.take_along_axis(-gamma * u * valid, slot_age, axis=1)
        return (gamma * g + xp.matmul(coef_s[:, None, :], s_all)[:, 0]
                + xp.matmul(coef_y[:, None, :], y_all)[:, 0])
