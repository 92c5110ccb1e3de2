"""The settings of Lasso in a transform basis, and its presets per task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from gs.methods.presets.base import Settings
from gs.params import Param

LASSO_SOLVERS = ("auto", "sklearn", "fista")


@dataclass(frozen=True)
class LassoSettings(Settings):
    """Lasso in an orthonormal transform basis: min_w ½‖y − AΨᵀw‖² + alpha·‖w‖₁.

    Both solvers minimise this same objective, so ``alpha`` means the same for
    either. ``alpha`` was chosen on validation images that
    are not among the benchmark's test images (``benchmarks/lasso_alpha.py``;
    BENCHMARKS.md, "Baselines").

    Attributes:
        alpha: ℓ1 weight (> 0).
        solver: ``sklearn`` (coordinate descent on the m×n design matrix AΨᵀ, built
            row by row without any n×n basis matrix), ``fista`` (matrix-free, only
            applies A, Aᵀ, Ψ and Ψᵀ), or ``auto``: sklearn while the design matrix has
            at most ``max_design_entries`` entries, FISTA beyond.
        max_iter: solver iterations (coordinate-descent epochs or FISTA steps).
        tol: sklearn's duality-gap tolerance; FISTA stops when the relative change
            of w over one step falls below it.
        max_design_entries: see ``solver``; 2**24 float64 entries = 128 MiB.
    """

    alpha: Annotated[float, Param("l1 weight.", min=0, min_open=True)] = 1e-4
    solver: Annotated[str, Param("Lasso solver.", choices=LASSO_SOLVERS)] = "auto"
    max_iter: Annotated[int, Param("Solver iterations.", min=1)] = 1000
    tol: Annotated[float, Param("Solver tolerance.", min=0, min_open=True)] = 1e-4
    max_design_entries: Annotated[int, Param("Largest design matrix the auto solver builds.",
                                             min=1)] = 2**24


def lasso_per_task(*, cs: float, inpaint: float, sr: float) -> dict[str, Settings]:
    """Lasso presets per task from validated alphas; ``default`` is the CS one and
    denoising, which was not validated, takes the CS value too."""
    alphas = {"default": cs, "cs": cs, "inpaint": inpaint, "sr": sr, "denoise": cs}
    return {task: LassoSettings(alpha=alpha) for task, alpha in alphas.items()}
