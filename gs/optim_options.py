"""The hyperparameters of the batched optimisers, defined once for both engines.

:mod:`gs.optim` (torch) and :mod:`gs.numpy_optim` (numpy, for the torch-free ONNX
runtime) implement the same algorithms row for row; their ``BatchedLBFGS`` and
``BatchedAdam`` take these fields as constructor arguments by subclassing the
dataclasses below. Imports nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Step-length rules of BatchedLBFGS: fixed steps (torch's default) or strong Wolfe.
LINE_SEARCHES = (None, "strong_wolfe")


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
        line_search: None (fixed steps, torch's default) or ``"strong_wolfe"``.
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
    line_search: str | None = None
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
    window: int = 20
    keep_best: bool = False
    min_steps: int = 0
