"""Batched optimisers in which every sample's optimisation is independent.

Each row of ``X`` (N, D) is one sample (an image × restart pair). The objective
returns one loss per row and its gradient, so the rows share compute but no
state: every row has its own L-BFGS history, step, iteration counter and
convergence test, and a row that has converged is no longer evaluated.

:class:`BatchedLBFGS` reproduces ``torch.optim.LBFGS`` without line search
(``lr``, ``max_iter`` inner iterations per outer step, ``history_size``,
``tolerance_grad``, ``tolerance_change``) row by row; with ``rtol > 0`` a row
also stops for good once its relative loss change stays below ``rtol`` for
``patience`` consecutive outer steps. A row whose loss or gradient is not
finite stops at once. With ``keep_best`` a row returns the
lowest-loss point it visited rather than its last one: without a line search
L-BFGS can step uphill and, on a non-convex loss, run away from a good point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

# f(X_rows (n, D), row_indices (n,)) -> (loss (n,), grad (n, D))
Objective = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
# after_step(outer steps done, loss (N,), done (N,)) -> rows to stop now (N,) bool
StepHook = Callable[[int, Tensor, Tensor], Tensor]


@dataclass
class OptimResult:
    """Final rows, how many objective evaluations each row cost, and why it stopped."""

    x: Tensor
    evaluations: Tensor
    converged: Tensor


def _not_finite(loss: Tensor, grad: Tensor) -> Tensor:
    """Rows (n,) whose loss or any gradient entry is NaN or infinite."""
    return ~(torch.isfinite(loss) & torch.isfinite(grad).all(dim=1))


class _BestIterate:
    """Per-row lowest loss seen so far and the point where it was seen."""

    def __init__(self, x: Tensor) -> None:
        self.x = x.detach().clone()
        self.loss = torch.full((x.shape[0],), float("inf"), dtype=torch.float64,
                               device=x.device)

    def record(self, idx: Tensor, x_rows: Tensor, loss: Tensor) -> None:
        """Remember rows ``idx`` at ``x_rows`` (n, D) where ``loss`` (n,) is their best."""
        better = loss.detach().double() < self.loss[idx]
        rows = idx[better]
        self.loss[rows] = loss.detach().double()[better]
        self.x[rows] = x_rows[better]

    def pick(self, x: Tensor, loss: Tensor) -> Tensor:
        """Each row's better of its best point and ``x`` (whose loss is ``loss``)."""
        worse = ~(loss.double() <= self.loss)  # NaN counts as worse
        return torch.where(worse[:, None], self.x, x)

    def keep(self, rows: Tensor) -> None:
        """Drop every row but ``rows`` (bool mask), keeping their order."""
        self.x, self.loss = self.x[rows], self.loss[rows]


class _Convergence:
    """Per-row early stop, checked once per outer step (a window of iterations).

    A row stops for good when its loss improved by less than ``rtol`` (relative)
    over each of ``patience`` consecutive windows. Judging whole windows rather
    than single iterations matters: L-BFGS's first iterations are scaled by
    ``1/‖g‖₁`` and a non-convex loss can sit on a plateau for a few iterations
    before it drops again.
    """

    def __init__(self, n: int, rtol: float, patience: int, device: torch.device) -> None:
        self.rtol, self.patience = rtol, patience
        self.last = torch.full((n,), float("inf"), dtype=torch.float64, device=device)
        self.calm = torch.zeros(n, dtype=torch.long, device=device)

    def update(self, idx: Tensor, loss: Tensor) -> Tensor:
        """Record the window-end ``loss`` of rows ``idx``; return which rows converged."""
        if self.rtol <= 0:
            return torch.zeros_like(idx, dtype=torch.bool)
        loss = loss.detach().double()
        small = (self.last[idx] - loss) <= self.rtol * loss.abs().clamp_min(1e-12)
        calm = torch.where(small, self.calm[idx] + 1, torch.zeros_like(idx))
        self.calm[idx] = calm
        self.last[idx] = loss
        return calm >= self.patience

    def keep(self, rows: Tensor) -> None:
        """Drop every row but ``rows`` (bool mask), keeping their order."""
        self.last, self.calm = self.last[rows], self.calm[rows]


class BatchedLBFGS:
    """Row-wise L-BFGS with torch semantics (no line search).

    Args:
        lr: step scale ``t`` (the first iteration uses ``min(1, 1/‖g‖₁)·lr``).
        max_iter: inner iterations per outer step.
        history_size: curvature pairs kept per row.
        tolerance_grad, tolerance_change: torch's per-step stopping tests.
        rtol, patience: extra permanent per-row stop, judged once per outer step:
            relative improvement below ``rtol`` for ``patience`` steps (0 disables).
        keep_best: return each row's lowest-loss point (costs one last evaluation
            of the rows whose final point was never evaluated); off, the rows end
            where ``torch.optim.LBFGS`` would.
    """

    def __init__(
        self,
        lr: float = 1.0,
        max_iter: int = 20,
        history_size: int = 100,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        rtol: float = 0.0,
        patience: int = 1,
        keep_best: bool = False,
    ) -> None:
        self.lr, self.max_iter, self.history_size = lr, max_iter, history_size
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.rtol, self.patience, self.keep_best = rtol, patience, keep_best

    def minimize(self, objective: Objective, x0: Tensor, steps: int,
                 after_step: StepHook | None = None) -> OptimResult:
        """Run ``steps`` outer steps from ``x0`` (N, D); returns the final rows.

        ``after_step`` sees every row's latest loss after each outer step and may
        stop rows for good (e.g. restarts that are already losing).

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
        all_loss = torch.full((n,), float("inf"), dtype=x0.dtype, device=dev)
        # Per stored row; ``ids`` maps a stored row to its index in x0.
        ids = torch.arange(n, device=dev)
        x = out_x.clone()
        # No more pairs can arise than iterations run; do not allocate for more.
        history = _History(n, max(1, min(self.history_size, steps * self.max_iter)), dim, x)
        d, g, g_prev = torch.zeros_like(x), torch.zeros_like(x), torch.zeros_like(x)
        t = torch.zeros(n, dtype=x.dtype, device=dev)
        loss = torch.zeros(n, dtype=x.dtype, device=dev)
        n_iter = torch.zeros(n, dtype=torch.long, device=dev)
        evals = torch.zeros(n, dtype=torch.long, device=dev)
        done = torch.zeros(n, dtype=torch.bool, device=dev)
        fresh = torch.zeros(n, dtype=torch.bool, device=dev)  # loss[r] is the loss at x[r]
        conv = _Convergence(n, self.rtol, self.patience, dev)
        best = _BestIterate(x) if self.keep_best else None

        def evaluate(idx: Tensor) -> Tensor:
            """Evaluate stored rows ``idx``; return which meet torch's gradient test."""
            if idx.numel() == 0:
                return torch.zeros(0, dtype=torch.bool, device=dev)
            f, grad = objective(x[idx], ids[idx])
            loss[idx] = f.detach().to(x.dtype)
            g[idx] = grad.detach().to(x.dtype)
            evals[idx] += 1
            fresh[idx] = True
            if best is not None:
                best.record(idx, x[idx], f)
            # A row whose loss or gradient overflowed cannot take another step.
            done[idx[_not_finite(loss[idx], g[idx])]] = True
            return g[idx].abs().amax(dim=1) <= self.tolerance_grad

        def retire(rows: Tensor) -> None:
            """Write out stored rows ``rows`` (bool mask): best or last point, counters."""
            final = best.x[rows] if best is not None else x[rows]
            out_x[ids[rows]] = final
            all_loss[ids[rows]] = (best.loss[rows].to(x.dtype) if best is not None
                                   else loss[rows])
            out_evals[ids[rows]] = evals[rows]
            out_done[ids[rows]] = done[rows]

        for step in range(steps):
            if step and after_step is not None:
                all_loss[ids] = loss
                stopped = out_done.clone()
                stopped[ids] = done
                done |= after_step(step, all_loss, stopped)[ids]
            live = torch.nonzero(~done)[:, 0]
            if live.numel() == 0:
                break
            optimal = evaluate(live)
            done[live[optimal]] = True  # x will not move again: exact early exit
            done[live[conv.update(live, loss[live])]] = True
            if done.any():
                retire(done)
                keep = ~done
                ids, x, d, g, g_prev, t, loss, n_iter, evals, done, fresh = (
                    v[keep] for v in (ids, x, d, g, g_prev, t, loss, n_iter, evals, done, fresh))
                history.keep(keep)
                conv.keep(keep)
                if best is not None:
                    best.keep(keep)
            inner = torch.arange(x.shape[0], device=dev)
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
                inner = inner[~stuck]
                prev_loss = prev_loss[~stuck]
                x[inner] += t[inner, None] * d[inner]
                fresh[inner] = False
                if it == self.max_iter:
                    break
                optimal = evaluate(inner)
                small_step = (d[inner] * t[inner, None]).abs().amax(dim=1) <= self.tolerance_change
                small_change = (loss[inner] - prev_loss).abs() < self.tolerance_change
                done[inner[optimal]] = True
                keep = ~(optimal | small_step | small_change) & ~done[inner]
                inner = inner[keep]
        if best is not None:
            evaluate(torch.nonzero(~fresh)[:, 0])
        retire(torch.ones_like(done))
        return OptimResult(x=out_x, evaluations=out_evals, converged=out_done)

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


class BatchedAdam:
    """Row-wise Adam (torch's update rule) with per-row step counts and early stop."""

    def __init__(self, lr: float = 0.1, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, rtol: float = 0.0, patience: int = 1,
                 window: int = 20, keep_best: bool = False) -> None:
        self.lr, self.betas, self.eps = lr, betas, eps
        self.rtol, self.patience, self.window = rtol, patience, window
        self.keep_best = keep_best

    def minimize(self, objective: Objective, x0: Tensor, steps: int,
                 after_step: StepHook | None = None) -> OptimResult:
        """Run ``steps`` Adam iterations from ``x0`` (N, D).

        ``after_step`` is called every ``window`` iterations (an outer step).
        """
        x = x0.detach().clone()
        n = x.shape[0]
        m = torch.zeros_like(x)
        v = torch.zeros_like(x)
        step = torch.zeros(n, dtype=x.dtype, device=x.device)
        loss = torch.zeros(n, dtype=x.dtype, device=x.device)
        evals = torch.zeros(n, dtype=torch.long, device=x.device)
        done = torch.zeros(n, dtype=torch.bool, device=x.device)
        conv = _Convergence(n, self.rtol, self.patience, x.device)
        best = _BestIterate(x) if self.keep_best else None
        rows = torch.arange(n, device=x.device)
        b1, b2 = self.betas
        for iteration in range(1, steps + 1):
            idx = rows[~done]
            if idx.numel() == 0:
                break
            f, grad = objective(x[idx], idx)
            loss[idx] = f.detach().to(x.dtype)
            evals[idx] += 1
            if best is not None:
                best.record(idx, x[idx], f)
            broken = _not_finite(f, grad)
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
            if iteration % self.window == 0:
                done[idx[conv.update(idx, f)]] = True
                if after_step is not None:
                    done |= after_step(iteration // self.window, loss, done)
        if best is not None:
            # Every row moved after its last evaluation: evaluate the final points once.
            f, _ = objective(x, rows)
            evals += 1
            x = best.pick(x, f.detach())
        return OptimResult(x=x, evaluations=evals, converged=done)
