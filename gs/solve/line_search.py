"""Strong-Wolfe line search for one row, as a coroutine free of any array library.

:class:`gs.solve.lbfgs.BatchedLBFGS` runs one per row and evaluates the trials of all
its rows together, whatever array library holds them.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any


def cubic_minimum(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                   bounds: tuple[float, float] | None = None) -> float:
    """Minimiser of the cubic through (x1, f1, f1') and (x2, f2, f2'), clipped to ``bounds``.

    Nocedal & Wright (2006), eq. 3.59; the midpoint of the bounds when the cubic
    has no minimum (or the data are not finite).
    """
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    with_nan = float("nan")
    try:
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        d2_square = d1 * d1 - g1 * g2
    except (ZeroDivisionError, OverflowError):
        d2_square = with_nan
    if not (d2_square >= 0 and math.isfinite(d2_square)):
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        denominator = g2 - g1 + 2 * d2
        ratio = (g2 + d2 - d1) / denominator if denominator else with_nan
        point = x2 - (x2 - x1) * ratio
    else:
        denominator = g1 - g2 + 2 * d2
        ratio = (g1 + d2 - d1) / denominator if denominator else with_nan
        point = x1 - (x1 - x2) * ratio
    if not math.isfinite(point):
        return (lo + hi) / 2.0
    return min(max(point, lo), hi)


# One row's line search as a coroutine: it yields trial step lengths and is sent
# (loss, directional derivative, gradient) at each; it returns (t, loss, gradient, trials).
# The gradient is an opaque handle to the search (the caller's gradient and score).
LineSearch = Generator[float, tuple[float, float, Any], tuple[float, float, Any, int]]


def strong_wolfe(f0: float, gtd0: float, g0: Any, t: float, d_norm: float, max_ls: int,
                  c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9
                  ) -> LineSearch:
    """Strong-Wolfe line search along d from a point with loss ``f0``, slope ``gtd0 < 0``.

    Bracketing then zoom with safeguarded cubic interpolation (Nocedal & Wright
    2006, algorithms 3.5 and 3.6), with the same trial rules, bounds and budget
    (``max_ls`` trials in all) as ``torch.optim.LBFGS(line_search_fn="strong_wolfe")``,
    so that a row follows torch's iterates.
    """
    f_new, gtd_new, g_new = yield t
    trials = 1
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f0, g0, gtd0
    found = False
    bracket: list[float] = []
    b_f: list[float] = []
    b_g: list[Any] = []
    b_gtd: list[float] = []
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > f0 + c1 * t * gtd0 or (ls_iter > 1 and f_new >= f_prev):
            bracket, b_f, b_g, b_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [
                gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd0:
            bracket, b_f, b_g, found = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            bracket, b_f, b_g, b_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [
                gtd_prev, gtd_new]
            break
        # Extrapolate: at least 1 % beyond t, at most 10 t.
        t_next = cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, gtd_new, g_new = yield t
        trials += 1
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, b_f, b_g = [0.0, t], [f0, f_new], [g0, g_new]
    low, high = (0, 1) if b_f[0] <= b_f[-1] else (1, 0)
    insufficient = False
    while not found and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_minimum(bracket[0], b_f[0], b_gtd[0], bracket[1], b_f[1], b_gtd[1])
        top, bottom = max(bracket), min(bracket)
        margin = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < margin:
            # Too close to an end: move 10 % of the bracket inside unless the last
            # trial was fine.
            if insufficient or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, gtd_new, g_new = yield t
        trials += 1
        ls_iter += 1
        if f_new > f0 + c1 * t * gtd0 or f_new >= b_f[low]:
            bracket[high], b_f[high], b_g[high], b_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if b_f[0] <= b_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd0:
                found = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], b_f[high] = bracket[low], b_f[low]
                b_g[high], b_gtd[high] = b_g[low], b_gtd[low]
            bracket[low], b_f[low], b_g[low], b_gtd[low] = t, f_new, g_new, gtd_new
    return bracket[low], b_f[low], b_g[low], trials
