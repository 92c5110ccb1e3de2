"""The hyperparameters of the batched optimisers (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass

#: Step-length rules of :class:`gs.solve.lbfgs.BatchedLBFGS`: fixed steps (torch's
#: default) or a strong-Wolfe line search per row. ``InversionSettings.line_search``
#: takes the same names.
LINE_SEARCHES = ("none", "strong_wolfe")

#: Adam iterations per outer step: the unit of the stop rules, restart screening and
#: progress reports.
ADAM_WINDOW = 20


@dataclass(eq=False)
class LBFGSOptions:
    """Row-wise L-BFGS with torch semantics, with or without strong-Wolfe line search.

    Args:
        lr: step scale ``t`` (the first iteration uses ``min(1, 1/‖g‖₁)·lr``); with a
            line search, the first trial step length.
        max_iter: inner iterations per outer step.
        history_size: curvature pairs kept per row.
        tolerance_grad, tolerance_change: torch's per-step stopping tests.
        rtol, patience, min_steps: extra permanent per-row stop, judged once per
            outer step from step ``min_steps + 1`` on: relative improvement of the
            score below ``rtol`` for ``patience`` steps (``rtol = 0`` disables).
        keep_best: return each row's lowest-score point (costs one last evaluation
            of the rows whose final point was never evaluated); off, the rows end
            where ``torch.optim.LBFGS`` would.
        line_search: ``"none"`` (fixed steps, torch's default) or ``"strong_wolfe"``.
        max_eval: evaluations per outer step (None: torch's default ``max_iter·5//4``);
            bounds the line searches of a step.
    """

    lr: float = 1.0
    max_iter: int = 20
    history_size: int = 100
    tolerance_grad: float = 1e-7
    tolerance_change: float = 1e-9
    rtol: float = 0.0
    patience: int = 1
    keep_best: bool = False
    line_search: str = "none"
    max_eval: int | None = None
    min_steps: int = 0

    def __post_init__(self) -> None:
        if self.line_search not in LINE_SEARCHES:
            raise ValueError(f"line_search must be one of {LINE_SEARCHES}, "
                             f"got {self.line_search!r}")
        if self.max_eval is None:
            self.max_eval = self.max_iter * 5 // 4


@dataclass(eq=False)
class AdamOptions:
    """Row-wise Adam (torch's update rule) with per-row step counts and early stop.

    Args:
        lr, betas, eps: torch's Adam hyperparameters.
        rtol, patience, min_steps: the per-row stop of :class:`LBFGSOptions`, judged
            once per ``window`` iterations (an outer step).
        window: iterations per outer step (step hook, convergence test).
        keep_best: return each row's lowest-score point.
    """

    lr: float = 0.1
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    rtol: float = 0.0
    patience: int = 1
    window: int = ADAM_WINDOW
    keep_best: bool = False
    min_steps: int = 0
