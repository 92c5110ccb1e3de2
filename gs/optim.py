"""Batched optimisers in which every sample's optimisation is independent.

Each row of ``X`` (N, D) is one sample (an image × restart pair). The objective
returns one loss per row and its gradient (and optionally a *score* per row,
see below), so the rows share compute but no state: every row has its own
L-BFGS history, step, line search, iteration counter and stopping rule, and a
row that has stopped is no longer evaluated.

:class:`BatchedLBFGS` reproduces ``torch.optim.LBFGS`` row by row (``lr``,
``max_iter`` inner iterations per outer step, ``history_size``, ``max_eval``,
``tolerance_grad``, ``tolerance_change``), with or without its strong-Wolfe
line search (``line_search="strong_wolfe"``: every row brackets and zooms on
its own step length with its own number of trials; the trials of all rows are
evaluated together). On top of torch's per-step tests a row stops for good:

* once its loss or gradient is not finite;
* once its loss reaches a per-row ``floor`` (the discrepancy principle: with
  noise of known variance σ² a residual below σ² fits noise);
* once its *score* — the loss itself, or a held-out residual the objective
  returns as a third output — has improved by less than ``rtol`` (relative)
  over each of ``patience`` consecutive outer steps, judged only after
  ``min_steps`` outer steps.

With ``keep_best`` a row returns the point of lowest score it visited rather
than its last one: without a line search L-BFGS can step uphill, and with a
held-out score the best point is where the fit stopped generalising (early
stopping by cross-validation, Ward 2009).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from gs.line_search import strong_wolfe
from gs.optim_options import AdamOptions, LBFGSOptions

# f(X_rows (n, D), row_indices (n,)) -> (loss (n,), grad (n, D)[, score (n,)])
Objective = Callable[[Tensor, Tensor], tuple[Tensor, ...]]
# after_step(outer steps done, loss (N,), done (N,), points) -> rows to stop now (N,) bool;
# ``points()`` returns every row's current point (N, D) (its best one under keep_best).
StepHook = Callable[[int, Tensor, Tensor, Callable[[], Tensor]], Tensor]


@dataclass
class OptimResult:
    """Final rows, how many objective evaluations each row cost, and why it stopped.

    ``score`` is each row's score at its returned point (the loss when the
    objective returns no score; +inf for a row never evaluated).
    """

    x: Tensor
    evaluations: Tensor
    converged: Tensor
    score: Tensor | None = None


def _unpack(out: tuple[Tensor, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """(loss, grad[, score]) → (loss, grad, score), the score defaulting to the loss."""
    loss, grad = out[0].detach(), out[1].detach()
    return loss, grad, (out[2].detach() if len(out) > 2 else loss)


def _not_finite(loss: Tensor, grad: Tensor) -> Tensor:
    """Rows (n,) whose loss or any gradient entry is NaN or infinite."""
    return ~(torch.isfinite(loss) & torch.isfinite(grad).all(dim=1))


class _BestIterate:
    """Per-row lowest score seen so far and the point where it was seen."""

    def __init__(self, x: Tensor) -> None:
        self.x = x.detach().clone()
        self.loss = torch.full((x.shape[0],), float("inf"), dtype=torch.float64,
                               device=x.device)

    def record(self, idx: Tensor, x_rows: Tensor, score: Tensor) -> None:
        """Remember rows ``idx`` at ``x_rows`` (n, D) where ``score`` (n,) is their best."""
        better = score.detach().double() < self.loss[idx]
        rows = idx[better]
        self.loss[rows] = score.detach().double()[better]
        self.x[rows] = x_rows[better]

    def pick(self, x: Tensor, score: Tensor) -> Tensor:
        """Each row's better of its best point and ``x`` (whose score is ``score``)."""
        worse = ~(score.double() <= self.loss)  # NaN counts as worse
        self.loss = torch.where(worse, self.loss, score.double())
        return torch.where(worse[:, None], self.x, x)

    def keep(self, rows: Tensor) -> None:
        """Drop every row but ``rows`` (bool mask), keeping their order."""
        self.x, self.loss = self.x[rows], self.loss[rows]


class _Convergence:
    """Per-row early stop, checked once per outer step (a window of iterations).

    A row stops for good when its score improved by less than ``rtol``
    (relative) over each of ``patience`` consecutive windows. Judging whole
    windows rather than single iterations matters: L-BFGS's first iterations
    are scaled by ``1/‖g‖₁`` and a non-convex loss can sit on a plateau for a
    few iterations before it drops again. Before ``min_steps`` windows the
    scores are recorded but nobody is judged: a warm-started row whose first
    iterations barely move gets a fair chance.
    """

    def __init__(self, n: int, rtol: float, patience: int, device: torch.device,
                 min_steps: int = 0) -> None:
        self.rtol, self.patience, self.min_steps = rtol, patience, min_steps
        self.last = torch.full((n,), float("inf"), dtype=torch.float64, device=device)
        self.calm = torch.zeros(n, dtype=torch.long, device=device)

    def update(self, idx: Tensor, score: Tensor, windows: int) -> Tensor:
        """Record the window-end ``score`` of rows ``idx`` after ``windows`` windows;
        return which rows converged."""
        if self.rtol <= 0:
            return torch.zeros_like(idx, dtype=torch.bool)
        score = score.detach().double()
        small = (self.last[idx] - score) <= self.rtol * score.abs().clamp_min(1e-12)
        calm = torch.where(small, self.calm[idx] + 1, torch.zeros_like(idx))
        if windows <= self.min_steps:
            calm = torch.zeros_like(calm)
        self.calm[idx] = calm
        self.last[idx] = score
        return calm >= self.patience

    def keep(self, rows: Tensor) -> None:
        """Drop every row but ``rows`` (bool mask), keeping their order."""
        self.last, self.calm = self.last[rows], self.calm[rows]


class BatchedLBFGS(LBFGSOptions):
    """Row-wise L-BFGS with torch semantics; arguments: :class:`gs.optim_options.LBFGSOptions`."""

    def minimize(self, objective: Objective, x0: Tensor, steps: int,
                 after_step: StepHook | None = None, floor: Tensor | None = None
                 ) -> OptimResult:
        """Run ``steps`` outer steps from ``x0`` (N, D); returns the final rows.

        ``after_step`` sees every row's latest loss after each outer step and may
        stop rows for good (e.g. restarts that are already losing); an exception
        it raises propagates (that is how a caller cancels). ``floor`` (N,) stops
        a row once its loss is at or below it.

        Rows that stop are retired at the next outer step: their result is
        written out and the optimiser state of the others is compacted, so a
        batch whose rows stopped costs what a batch of the live rows costs
        (gathering a subset of the curvature history at every iteration would
        cost more than the evaluation itself).
        """
        n, dim = x0.shape
        dev = x0.device
        out_x = x0.detach().clone()
        out_evals = torch.zeros(n, dtype=torch.long, device=dev)
        out_done = torch.zeros(n, dtype=torch.bool, device=dev)
        out_score = torch.full((n,), float("inf"), dtype=torch.float64, device=dev)
        all_loss = torch.full((n,), float("inf"), dtype=x0.dtype, device=dev)
        floor_all = None if floor is None else floor.to(device=dev, dtype=x0.dtype)
        # Per stored row; ``ids`` maps a stored row to its index in x0.
        ids = torch.arange(n, device=dev)
        x = out_x.clone()
        # No more pairs can arise than iterations run; do not allocate for more.
        history = _History(n, max(1, min(self.history_size, steps * self.max_iter)), dim, x)
        d, g, g_prev = torch.zeros_like(x), torch.zeros_like(x), torch.zeros_like(x)
        t = torch.zeros(n, dtype=x.dtype, device=dev)
        loss = torch.zeros(n, dtype=x.dtype, device=dev)
        score = torch.full((n,), float("inf"), dtype=torch.float64, device=dev)
        n_iter = torch.zeros(n, dtype=torch.long, device=dev)
        evals = torch.zeros(n, dtype=torch.long, device=dev)
        done = torch.zeros(n, dtype=torch.bool, device=dev)
        fresh = torch.zeros(n, dtype=torch.bool, device=dev)  # loss[r] is the loss at x[r]
        conv = _Convergence(n, self.rtol, self.patience, dev, self.min_steps)
        best = _BestIterate(x) if self.keep_best else None

        def measure(idx: Tensor, points: Tensor) -> tuple[Tensor, Tensor]:
            """Evaluate stored rows ``idx`` at ``points``; count it, track the best."""
            f, grad, s = _unpack(objective(points, ids[idx]))
            evals[idx] += 1
            if best is not None:
                best.record(idx, points, s)
            return f.to(x.dtype), grad.to(x.dtype), s.double()

        def accept(idx: Tensor, f: Tensor, grad: Tensor, s: Tensor) -> Tensor:
            """Make (f, grad) the state of rows ``idx``; return who meets the gradient test."""
            loss[idx], g[idx], score[idx] = f, grad, s
            fresh[idx] = True
            # A row whose loss or gradient overflowed cannot take another step.
            done[idx[_not_finite(f, grad)]] = True
            if floor_all is not None:
                done[idx[f <= floor_all[ids[idx]]]] = True
            return grad.abs().amax(dim=1) <= self.tolerance_grad

        def evaluate(idx: Tensor) -> Tensor:
            if idx.numel() == 0:
                return torch.zeros(0, dtype=torch.bool, device=dev)
            return accept(idx, *measure(idx, x[idx]))

        def retire(rows: Tensor) -> None:
            """Write out stored rows ``rows`` (bool mask): best or last point, counters."""
            final = best.x[rows] if best is not None else x[rows]
            out_x[ids[rows]] = final
            all_loss[ids[rows]] = loss[rows]
            out_score[ids[rows]] = best.loss[rows] if best is not None else score[rows]
            out_evals[ids[rows]] = evals[rows]
            out_done[ids[rows]] = done[rows]

        def points() -> Tensor:
            now = out_x.clone()
            now[ids] = best.x if best is not None else x
            return now

        for step in range(steps):
            live = torch.nonzero(~done)[:, 0]
            if live.numel() == 0:
                break
            # With a line search the state is already evaluated at x (but the first step).
            evaluate(live[~fresh[live]] if self.line_search else live)
            optimal = g[live].abs().amax(dim=1) <= self.tolerance_grad
            done[live[optimal]] = True  # x will not move again: exact early exit
            judged = best.loss[live] if best is not None else score[live]
            done[live[conv.update(live, judged, step)]] = True
            if done.any():
                retire(done)
                keep = ~done
                ids, x, d, g, g_prev, t, loss, score, n_iter, evals, done, fresh = (
                    v[keep] for v in (ids, x, d, g, g_prev, t, loss, score, n_iter, evals,
                                      done, fresh))
                history.keep(keep)
                conv.keep(keep)
                if best is not None:
                    best.keep(keep)
            self._inner_loop(measure, accept, x, d, g, g_prev, t, loss, score, n_iter, done, fresh,
                             history)
            if after_step is not None:
                all_loss[ids] = loss
                stopped = out_done.clone()
                stopped[ids] = done
                stop_now = after_step(step + 1, all_loss, stopped, points)
                done |= stop_now.to(dev)[ids]
        if best is not None:
            evaluate(torch.nonzero(~fresh)[:, 0])
        retire(torch.ones_like(done))
        return OptimResult(x=out_x, evaluations=out_evals, converged=out_done, score=out_score)

    def _inner_loop(self, measure, accept, x: Tensor, d: Tensor, g: Tensor, g_prev: Tensor,
                    t: Tensor, loss: Tensor, score: Tensor, n_iter: Tensor, done: Tensor,
                    fresh: Tensor, history: _History) -> None:
        """One outer step: up to ``max_iter`` iterations of every live stored row."""
        inner = torch.nonzero(~done)[:, 0]
        step_evals = torch.ones(x.shape[0], dtype=torch.long, device=x.device)
        for it in range(1, self.max_iter + 1):
            if inner.numel() == 0:
                break
            n_iter[inner] += 1
            first = n_iter[inner] == 1
            self._direction(inner, first, g, g_prev, d, t, history)
            g_prev[inner] = g[inner]
            prev_loss = loss[inner].clone()
            g1 = g[inner].abs().sum(dim=1)
            t[inner] = torch.where(first, torch.clamp(1.0 / g1, max=1.0) * self.lr,
                                   torch.full_like(g1, self.lr))
            gtd = (g[inner] * d[inner]).sum(dim=1)
            stuck = gtd > -self.tolerance_change
            done[inner[stuck]] = True  # the same direction would come back: stop for good
            inner, prev_loss, gtd = inner[~stuck], prev_loss[~stuck], gtd[~stuck]
            if inner.numel() == 0:
                break
            if self.line_search:
                step_evals[inner] += self._search(measure, accept, inner, x, d, g, t, loss, score,
                                                  gtd, self.max_eval - step_evals[inner])
                optimal = g[inner].abs().amax(dim=1) <= self.tolerance_grad
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
            small_step = (d[inner] * t[inner, None]).abs().amax(dim=1) <= self.tolerance_change
            small_change = (loss[inner] - prev_loss).abs() < self.tolerance_change
            inner = inner[~(stop | small_step | small_change) & ~done[inner]]

    def _search(self, measure, accept, inner: Tensor, x: Tensor, d: Tensor, g: Tensor,
                t: Tensor, loss: Tensor, score: Tensor, gtd: Tensor, max_ls: Tensor) -> Tensor:
        """Strong-Wolfe line search of rows ``inner``, their trials evaluated together.

        Moves each row to its accepted step, writes its loss, gradient and step
        length; returns each row's number of trials.
        """
        x0, directions = x[inner], d[inner]
        searches = [
            strong_wolfe(f, slope, (g0, s0), t0, d_norm, budget)
            for f, slope, g0, s0, t0, d_norm, budget in zip(
                loss[inner].double().tolist(), gtd.double().tolist(), g[inner], score[inner],
                t[inner].double().tolist(), directions.abs().amax(dim=1).double().tolist(),
                max_ls.tolist())
        ]
        trial = [next(search) for search in searches]
        outcome: list[tuple[float, float, Tensor, int]] = [None] * len(searches)  # type: ignore[list-item]
        active = list(range(len(searches)))
        while active:
            rows = torch.tensor(active, device=x.device)
            steps = torch.tensor([trial[k] for k in active], dtype=x.dtype, device=x.device)
            f, grad, s = measure(inner[rows], x0[rows] + steps[:, None] * directions[rows])
            slopes = (grad * directions[rows]).sum(dim=1)
            still = []
            for j, (k, value, slope) in enumerate(zip(active, f.double().tolist(),
                                                      slopes.double().tolist())):
                if not (math.isfinite(value) and math.isfinite(slope)):
                    value, slope = math.inf, math.inf  # never accepted, bracketed away
                try:
                    trial[k] = searches[k].send((value, slope, (grad[j], s[j])))
                    still.append(k)
                except StopIteration as stop:
                    outcome[k] = stop.value
            active = still
        steps = torch.tensor([o[0] for o in outcome], dtype=x.dtype, device=x.device)
        t[inner] = steps
        x[inner] = x0 + steps[:, None] * directions
        # The accepted point was evaluated (or is the start point): no new evaluation.
        f = torch.tensor([o[1] for o in outcome], dtype=x.dtype, device=x.device)
        grads = torch.stack([o[2][0] for o in outcome])
        accept(inner, f, grads, torch.stack([o[2][1] for o in outcome]))
        return torch.tensor([o[3] for o in outcome], dtype=torch.long, device=x.device)

    def _direction(self, idx: Tensor, first: Tensor, g: Tensor, g_prev: Tensor, d: Tensor,
                   t: Tensor, history: _History) -> None:
        """Add the latest curvature pair of rows ``idx`` and write their new direction."""
        new = idx[~first]
        if new.numel():
            y = g[new] - g_prev[new]
            s = d[new] * t[new, None]
            ys = (y * s).sum(dim=1)
            accept = ys > 1e-10
            if accept.any():
                history.push(new[accept], s[accept], y[accept], ys[accept])
        history.reset(idx[first])
        d[idx] = torch.where(first[:, None], -g[idx], -history.apply(idx, g[idx]))


class _History:
    """Per-row L-BFGS curvature pairs in ring buffers, applied in compact form.

    ``apply`` computes ``H·g`` with the compact representation of Byrd, Nocedal
    and Schnabel (1994, eq. 3.13) — the same product as the two-loop recursion
    of ``torch.optim.LBFGS`` — from batched products with the stored pairs plus
    small per-row triangular solves, so its cost is a few passes over the
    history instead of hundreds of small vector operations. ``SᵀY`` and ``YᵀY``
    are kept up to date one pair at a time.
    """

    def __init__(self, n: int, size: int, dim: int, like: Tensor) -> None:
        opts = {"dtype": like.dtype, "device": like.device}
        self.size = size
        self.s = torch.zeros(n, size, dim, **opts)
        self.y = torch.zeros(n, size, dim, **opts)
        self.sy = torch.zeros(n, size, size, **opts)  # sy[r, i, j] = s_i · y_j
        self.yy = torch.zeros(n, size, size, **opts)
        self.head = torch.zeros(n, dtype=torch.long, device=like.device)
        self.count = torch.zeros(n, dtype=torch.long, device=like.device)
        self.gamma = torch.ones(n, **opts)  # H0 = gamma·I, torch's H_diag
        self.all_rows = torch.arange(n, device=like.device)

    def _rows(self, tensor: Tensor, rows: Tensor) -> Tensor:
        full = rows.numel() == self.all_rows.numel()
        return tensor if full else tensor[rows]  # a view when every row takes part

    def keep(self, rows: Tensor) -> None:
        """Drop every row but ``rows`` (bool mask), keeping their order."""
        for name in ("s", "y", "sy", "yy", "head", "count", "gamma"):
            setattr(self, name, getattr(self, name)[rows])
        self.all_rows = torch.arange(self.s.shape[0], device=self.s.device)

    def reset(self, rows: Tensor) -> None:
        self.count[rows] = 0
        self.head[rows] = 0
        self.gamma[rows] = 1.0

    def push(self, rows: Tensor, s: Tensor, y: Tensor, ys: Tensor) -> None:
        """Store pair (s, y) of ``rows`` in place of their oldest one."""
        slot = self.head[rows]
        self.s[rows, slot] = s
        self.y[rows, slot] = y
        s_all, y_all = self._rows(self.s, rows), self._rows(self.y, rows)
        self.sy[rows, slot, :] = torch.bmm(s[:, None, :], y_all.transpose(1, 2))[:, 0]
        self.sy[rows, :, slot] = torch.bmm(s_all, y[:, :, None])[:, :, 0]
        yy = torch.bmm(y_all, y[:, :, None])[:, :, 0]
        self.yy[rows, slot, :] = yy
        self.yy[rows, :, slot] = yy
        self.gamma[rows] = ys / (y * y).sum(dim=1)
        self.head[rows] = (slot + 1) % self.size
        self.count[rows] = torch.clamp(self.count[rows] + 1, max=self.size)

    def apply(self, rows: Tensor, g: Tensor) -> Tensor:
        """``H·g`` for ``rows`` (g: (r, D)), H the L-BFGS inverse-Hessian estimate."""
        size = self.size
        age = torch.arange(size, device=g.device)
        count = self.count[rows]
        # order[r, a] = storage slot of the a-th oldest pair; slots past count are unused.
        order = (self.head[rows, None] - count[:, None] + age) % size
        valid = (age < count[:, None]).to(g.dtype)
        s_all, y_all = self._rows(self.s, rows), self._rows(self.y, rows)
        p_s = torch.bmm(s_all, g[:, :, None])[:, :, 0].gather(1, order) * valid
        p_y = torch.bmm(y_all, g[:, :, None])[:, :, 0].gather(1, order) * valid

        def by_age(matrix: Tensor) -> Tensor:
            m = matrix[rows].gather(1, order[:, :, None].expand(-1, -1, size))
            m = m.gather(2, order[:, None, :].expand(-1, size, -1))
            return m * valid[:, :, None] * valid[:, None, :]

        sy, yy = by_age(self.sy), by_age(self.yy)
        # R: upper triangle of SᵀY; unused slots get a unit diagonal and so decouple.
        r = torch.triu(sy) + torch.diag_embed(1.0 - valid)
        diag = torch.diagonal(sy, dim1=1, dim2=2)
        gamma = self.gamma[rows, None]
        u = torch.linalg.solve_triangular(r, p_s[:, :, None], upper=True)[:, :, 0]
        rhs = diag * u + gamma * torch.bmm(yy, u[:, :, None])[:, :, 0] - gamma * p_y
        top = torch.linalg.solve_triangular(r.transpose(1, 2), rhs[:, :, None],
                                            upper=False)[:, :, 0]
        coef_s = torch.zeros_like(top).scatter_(1, order, top * valid)
        coef_y = torch.zeros_like(u).scatter_(1, order, -gamma * u * valid)
        return (gamma * g + torch.bmm(coef_s[:, None, :], s_all)[:, 0]
                + torch.bmm(coef_y[:, None, :], y_all)[:, 0])


class BatchedAdam(AdamOptions):
    """Row-wise Adam (torch's update rule) with per-row step counts and early stop;
    arguments: :class:`gs.optim_options.AdamOptions`."""

    def minimize(self, objective: Objective, x0: Tensor, steps: int,
                 after_step: StepHook | None = None, floor: Tensor | None = None
                 ) -> OptimResult:
        """Run ``steps`` Adam iterations from ``x0`` (N, D).

        ``after_step`` is called every ``window`` iterations (an outer step);
        ``floor`` (N,) stops a row once its loss is at or below it.
        """
        x = x0.detach().clone()
        n = x.shape[0]
        m = torch.zeros_like(x)
        v = torch.zeros_like(x)
        step = torch.zeros(n, dtype=x.dtype, device=x.device)
        loss = torch.zeros(n, dtype=x.dtype, device=x.device)
        score = torch.full((n,), float("inf"), dtype=torch.float64, device=x.device)
        evals = torch.zeros(n, dtype=torch.long, device=x.device)
        done = torch.zeros(n, dtype=torch.bool, device=x.device)
        conv = _Convergence(n, self.rtol, self.patience, x.device, self.min_steps)
        best = _BestIterate(x) if self.keep_best else None
        rows = torch.arange(n, device=x.device)
        b1, b2 = self.betas
        for iteration in range(1, steps + 1):
            idx = rows[~done]
            if idx.numel() == 0:
                break
            f, grad, s = _unpack(objective(x[idx], idx))
            loss[idx] = f.to(x.dtype)
            score[idx] = s.double()
            evals[idx] += 1
            if best is not None:
                best.record(idx, x[idx], s)
            broken = _not_finite(f, grad)
            if floor is not None:
                done[idx[f.to(x.dtype) <= floor.to(x.device, x.dtype)[idx]]] = True
            if broken.any():
                done[idx[broken]] = True
                keep = ~broken
                idx, f, grad = idx[keep], f[keep], grad[keep]
            step[idx] += 1
            m[idx] = b1 * m[idx] + (1 - b1) * grad
            v[idx] = b2 * v[idx] + (1 - b2) * grad * grad
            k = step[idx, None]
            denom = (v[idx] / (1 - b2**k)).sqrt() + self.eps
            x[idx] -= self.lr / (1 - b1**k) * m[idx] / denom
            if iteration % self.window == 0 or iteration == steps:
                windows = -(-iteration // self.window)
                judged = best.loss[idx] if best is not None else score[idx]
                done[idx[conv.update(idx, judged, windows)]] = True
                if after_step is not None:
                    done |= after_step(windows, loss, done,
                                       lambda: best.x.clone() if best is not None else x.clone())
        final_score = score
        if best is not None:
            # Every row moved after its last evaluation: evaluate the final points once.
            f, _, s = _unpack(objective(x, rows))
            evals += 1
            x = best.pick(x, s)
            final_score = best.loss
        return OptimResult(x=x, evaluations=evals, converged=done, score=final_score)
