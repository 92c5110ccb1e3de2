"""Lasso-DCT, Lasso-Wavelet and Lasso-pixel: sparse coefficients in an orthonormal basis.

Solves ``min_w ½‖y − AΨᵀw‖² + alpha·Σᵢ dᵢ|wᵢ|`` and returns ``x = clamp(Ψᵀw, 0, 1)``,
where ``d = Ψ.penalty_weights()`` (all ones for the DCT and the pixel basis; 0 on the
wavelet approximation band, the standard wavelet estimator). Lasso-pixel (Ψ = I) is the
classical baseline of Bora et al. 2017 for images that are sparse as they are (MNIST).
Two solvers give the same minimiser:

* scikit-learn's ``Lasso`` (coordinate descent) on the design matrix ``M = AΨᵀ``.
  Its rows are ``(ΨAᵀe_j)ᵀ``, so M is built from m adjoint applications and m
  analysis transforms; no n×n basis matrix is ever formed. Rows of A that are
  identically zero (pixels an inpainting mask drops) are left out; sklearn's
  objective divides the residual by the m' rows it sees, so it gets alpha/m'.
  Weighted coefficients are rescaled columns (``wᵢ = vᵢ/dᵢ``); unpenalised ones are
  least-squares coefficients, projected out of the problem before the Lasso
  (Frisch–Waugh) and fitted after it.
* FISTA (Beck & Teboulle 2009, eq. 4.1–4.3) with step 1/L, L = ‖A‖², applying
  only A, Aᵀ, Ψ and Ψᵀ: for large m·n where the design matrix would not fit, and for
  any operator that has no cheap rows.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from gs.methods.base import Method, measurement_loss, stopwatch
from gs.methods.presets import LassoSettings, auto_preset
from gs.methods.transforms import DCT2, Wavelet2
from gs.operators import Operator, StructuredCS
from gs.problems import Problem
from gs.results import Recovery

_ROW_CHUNK = 256  # adjoint applications per block while the design matrix is built


def design_matrix(operator: Operator, transform, chunk: int = _ROW_CHUNK
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(M, rows)``: the nonzero rows of ``AΨᵀ`` as float64 (m', n), and their indices
    into the flattened measurements (so ``y.ravel()[rows]`` pairs with M)."""
    m = int(np.prod(operator.measurement_shape))
    blocks, kept = [], []
    for start in range(0, m, chunk):
        stop = min(m, start + chunk)
        unit = np.zeros((stop - start, m), dtype=np.float64)
        unit[np.arange(stop - start), np.arange(start, stop)] = 1.0
        columns = operator.A_adjoint(unit.reshape(stop - start, *operator.measurement_shape))
        rows = transform.analysis(np.asarray(columns, dtype=np.float64))
        nonzero = np.flatnonzero(np.any(rows != 0, axis=1))
        blocks.append(rows[nonzero])
        kept.append(nonzero + start)
    return np.concatenate(blocks), np.concatenate(kept)


def lasso_sklearn(matrix: np.ndarray, target: np.ndarray, alpha: float, max_iter: int,
                  tol: float, weights: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Coordinate-descent Lasso (no intercept) of sklearn's objective
    ``1/(2m)‖target − M w‖² + alpha·Σᵢ dᵢ|wᵢ|`` (``weights`` d ≥ 0, default ones);
    returns (w, iterations run)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    d = np.ones(matrix.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    free, penalised = d == 0, d > 0
    design, residual_target = matrix, target  # no copy of the (large) design matrix
    if not penalised.all():
        design = design[:, penalised]
    if np.any(d[penalised] != 1):
        design = design / d[penalised]
    if free.any():  # project the unpenalised columns' span out of the problem
        basis = _orthonormal_basis(matrix[:, free])
        design = design - basis @ (basis.T @ design)
        residual_target = target - basis @ (basis.T @ target)
    model = Lasso(alpha=alpha, fit_intercept=False, max_iter=max_iter, tol=tol,
                  selection="cyclic")
    with warnings.catch_warnings():
        # The iteration budget is a documented setting; hitting it is not an error.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(design, residual_target)
    w = np.zeros(matrix.shape[1])
    w[penalised] = model.coef_ / d[penalised]
    if free.any():  # the unpenalised coefficients: least squares on what is left
        rest = target - matrix @ w  # w is 0 on the free columns here
        w[free] = np.linalg.lstsq(matrix[:, free], rest, rcond=None)[0]
    return w, int(model.n_iter_)


def _orthonormal_basis(columns: np.ndarray) -> np.ndarray:
    """(m, r) orthonormal basis of the span of ``columns`` (m, k), r = its numerical rank."""
    u, sv, _ = np.linalg.svd(columns, full_matrices=False)
    rank = int(np.sum(sv > sv[:1].max(initial=0.0) * max(columns.shape) * np.finfo(float).eps))
    return u[:, :rank]


def lasso_fista(operator: Operator, transform, y: np.ndarray, alpha: float, max_iter: int,
                tol: float, fitted: np.ndarray | None = None,
                weights: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """FISTA on ``½‖y − AΨᵀw‖² + alpha·Σᵢ dᵢ|wᵢ|`` (``weights`` d, default ones; only the
    entries ``fitted``, a bool mask of y, when given); returns (w, iterations run)."""
    y = np.asarray(y, dtype=np.float64)[None]
    keep = 1.0 if fitted is None else np.asarray(fitted, dtype=np.float64).reshape(y.shape)
    lipschitz = operator.norm() ** 2
    if lipschitz == 0:
        return np.zeros(int(np.prod(operator.image_shape))), 0
    step = 1.0 / (lipschitz * 1.01)  # 1 % margin: ‖A‖ is a power-iteration estimate

    def gradient(w: np.ndarray) -> np.ndarray:
        residual = (operator.A(transform.synthesis(w)) - y) * keep
        return transform.analysis(np.asarray(operator.A_adjoint(residual)))

    w = np.zeros((1, int(np.prod(operator.image_shape))))
    threshold = step * alpha * (1.0 if weights is None else np.asarray(weights)[None])
    v, t = w, 1.0
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        z = v - step * gradient(v)
        w_next = np.sign(z) * np.maximum(np.abs(z) - threshold, 0.0)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        v = w_next + ((t - 1) / t_next) * (w_next - w)
        change = np.linalg.norm(w_next - w) / max(np.linalg.norm(w_next), 1e-12)
        w, t = w_next, t_next
        if change < tol:
            break
    return w[0], iterations


class Pixels:
    """The identity basis Ψ = I on (B, C, H, W) numpy images, with the interface of
    :mod:`gs.methods.transforms` (coefficients flattened to (B, C·H·W), all penalised)."""

    name = "pixel"

    def __init__(self, image_shape: tuple[int, int, int]) -> None:
        self.image_shape = tuple(image_shape)

    def analysis(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x).reshape(-1, int(np.prod(self.image_shape)))

    def synthesis(self, w: np.ndarray) -> np.ndarray:
        return np.asarray(w).reshape(-1, *self.image_shape)

    def penalty_weights(self) -> np.ndarray:
        return np.ones(int(np.prod(self.image_shape)))


_BASES = {"dct": DCT2, "wavelet": Wavelet2, "pixel": Pixels}


class _Lasso(Method):
    """Shared body of the Lasso methods (``transform_name`` differs)."""

    name: ClassVar[str]
    prior: ClassVar[str] = "none"
    transform_name: ClassVar[str]

    def __init__(self, settings: LassoSettings | None = None) -> None:
        self.settings = settings

    def settings_for(self, task: str) -> LassoSettings:
        """The configured settings, or the preset validated for ``task``."""
        return self.settings or auto_preset(self.name, task=task)

    def _transform(self, image_shape: tuple[int, int, int]):
        return _BASES[self.transform_name](image_shape)

    def solver_for(self, operator: Operator) -> str:
        """``sklearn`` or ``fista``: what ``auto`` picks for this operator (FISTA for the
        structured CS operator and for design matrices over ``max_design_entries``)."""
        settings = self.settings_for(operator.task)
        if settings.solver != "auto":
            return settings.solver
        if isinstance(operator, StructuredCS):
            return "fista"  # its fast transform is the point; m adjoint calls would waste it
        m = int(np.prod(operator.measurement_shape))
        n = int(np.prod(operator.image_shape))
        return "sklearn" if m * n <= settings.max_design_entries else "fista"

    def _fit(self, problem: Problem, fitted: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, int, str]:
        """(image (C, H, W) in [0, 1], w, iterations, solver) from the entries of y that
        ``fitted`` (bool, flattened y; None: all) keeps."""
        operator = problem.operator
        s = self.settings_for(operator.task)
        transform = self._transform(tuple(operator.image_shape))
        solver = self.solver_for(operator)
        weights = transform.penalty_weights()
        y = np.asarray(problem.y, dtype=np.float64)
        if solver == "sklearn":
            matrix, rows = design_matrix(operator, transform)
            if fitted is not None:
                chosen = np.asarray(fitted, dtype=bool)[rows]
                matrix, rows = matrix[chosen], rows[chosen]
            # sklearn minimises 1/(2m')‖r‖² + a‖w‖₁: the same minimiser at a = alpha/m'.
            alpha = s.alpha / max(len(rows), 1)
            w, iterations = lasso_sklearn(matrix, y.ravel()[rows], alpha, s.max_iter, s.tol,
                                          weights)
        else:
            w, iterations = lasso_fista(operator, transform, y, s.alpha, s.max_iter, s.tol,
                                        fitted, weights)
        image = np.clip(transform.synthesis(w[None])[0], 0.0, 1.0).astype(np.float32)
        return image, w, iterations, solver

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray:
        """The Lasso fitted to the entries of y not ``held`` (bool, flattened y)."""
        return self._fit(problem, ~np.asarray(held, dtype=bool))[0]

    def solve_one(self, problem: Problem, seed: int) -> Recovery:
        """Recover one problem; deterministic, so ``seed`` is unused."""
        operator, y = problem.operator, np.asarray(problem.y, dtype=np.float64)
        s = self.settings_for(operator.task)
        with stopwatch() as elapsed:
            image, w, iterations, solver = self._fit(problem)
        return Recovery(
            image=image, measurement_loss=measurement_loss(operator, image, y),
            seconds=elapsed[0], restart_losses=[], evaluations=iterations,
            total_evaluations=iterations,
            details={"solver": solver, "alpha": s.alpha,
                     "nonzero_coefficients": int(np.count_nonzero(w))},
        )


class LassoDCT(_Lasso):
    """Lasso with the orthonormal 2-D DCT of each channel as the sparsifying basis."""

    name = "lasso-dct"
    transform_name = "dct"


class LassoWavelet(_Lasso):
    """Lasso with the db4 wavelet basis of each channel (PyWavelets), as in CSGM, the
    approximation band unpenalised."""

    name = "lasso-wavelet"
    transform_name = "wavelet"


class LassoPixel(_Lasso):
    """Lasso on the pixels themselves (Ψ = I), as Bora et al. 2017 compare on MNIST."""

    name = "lasso-pixel"
    transform_name = "pixel"
