"""Row-wise Adam (torch's update rule) with per-row step counts and early stop.

Written once over the array API, like :mod:`gs.solve.lbfgs`; the stop rules, the best
iterate and the step hook are the same, judged once per ``window`` iterations.
"""

from __future__ import annotations

import math
from typing import Any

from gs.solve.arrays import array_namespace, copy, device, positions
from gs.solve.options import AdamOptions
from gs.solve.rows import (
    BestIterate,
    Convergence,
    Objective,
    OptimResult,
    StepHook,
    not_finite,
    unpack,
)


class BatchedAdam(AdamOptions):
    """Row-wise Adam; arguments: :class:`gs.solve.options.AdamOptions`."""

    def minimize(self, objective: Objective, x0: Any, steps: int,
                 after_step: StepHook | None = None, floor: Any = None) -> OptimResult:
        """Run ``steps`` Adam iterations from ``x0`` (N, D).

        ``after_step`` is called every ``window`` iterations (an outer step); ``floor``
        (N,) stops a row once its loss is at or below it.
        """
        xp = array_namespace(x0)
        dev = device(x0)
        x = copy(x0)
        n = x.shape[0]
        m, v = xp.zeros_like(x), xp.zeros_like(x)
        step = xp.zeros((n,), dtype=x.dtype, device=dev)
        loss = xp.zeros((n,), dtype=x.dtype, device=dev)
        score = xp.full((n,), math.inf, dtype=xp.float64, device=dev)
        evals = xp.zeros((n,), dtype=xp.int64, device=dev)
        done = xp.zeros((n,), dtype=xp.bool, device=dev)
        floor_all = None if floor is None else xp.astype(xp.asarray(floor, device=dev), x.dtype)
        conv = Convergence(x, self.rtol, self.patience, self.min_steps)
        best = BestIterate(x) if self.keep_best else None
        b1, b2 = self.betas
        for iteration in range(1, steps + 1):
            idx = positions(~done)
            if idx.shape[0] == 0:
                break
            f, grad, s = unpack(objective(x[idx], idx))
            f = xp.astype(f, x.dtype)
            loss[idx] = f
            score[idx] = xp.astype(s, xp.float64)
            evals[idx] += 1
            if best is not None:
                best.record(idx, x[idx], s)
            if floor_all is not None:
                done[idx[f <= floor_all[idx]]] = True
            broken = not_finite(f, grad)
            if bool(xp.any(broken)):
                done[idx[broken]] = True
                idx, grad = idx[~broken], grad[~broken]
            step[idx] += 1
            m[idx] = b1 * m[idx] + (1 - b1) * grad
            v[idx] = b2 * v[idx] + (1 - b2) * grad * grad
            k = step[idx][:, None]
            denom = xp.sqrt(v[idx] / (1 - b2**k)) + self.eps
            x[idx] -= self.lr / (1 - b1**k) * m[idx] / denom
            if iteration % self.window == 0 or iteration == steps:
                windows = -(-iteration // self.window)
                judged = best.loss[idx] if best is not None else score[idx]
                done[idx[conv.update(idx, judged, windows)]] = True
                if after_step is not None:
                    stop_now = after_step(windows, loss,
                                          copy(best.loss if best is not None else score), done,
                                          lambda: copy(best.x if best is not None else x))
                    done |= xp.asarray(stop_now, device=dev)
        if best is None:
            return OptimResult(x=x, evaluations=evals, converged=done, score=score)
        # Every row moved after its last evaluation: evaluate the final points once.
        _, _, s = unpack(objective(x, xp.arange(n, device=dev)))
        evals += 1
        x = best.pick(x, s)
        return OptimResult(x=x, evaluations=evals, converged=done, score=best.loss)
