"""Total-variation regularised least squares for the tasks whose operator mixes pixels:
``tv-cs`` (compressed sensing), ``tv-mri`` (the sampled k-space) and ``tv-deblur``, all
by the FISTA of :mod:`gs.methods.classical.tv_solver`; they differ in λ."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from gs.devices import one_blas_thread
from gs.methods.classical.base import ClassicalAnswer
from gs.methods.classical.tv_solver import tv_fista
from gs.problems import Problem


class TVLeastSquares(ClassicalAnswer):
    """Compressed sensing by total-variation regularised least squares,
    ``min_x ½‖y − A x‖² + λ·TV(x)``, by FISTA (Beck & Teboulle 2009) whose proximal step is
    scikit-image's Chambolle TV denoiser; the image stays in [0, 1].

    λ depends on the measurement ratio m/n (:meth:`TVCSSettings.weight_for`): fewer
    measurements need a stronger prior.
    """

    name: ClassVar[str] = "tv-cs"
    task: ClassVar[str] = "cs"

    def recover(self, problem: Problem) -> np.ndarray:
        return self._fista(problem, None, None, self.settings.iterations)

    def weight(self, operator: Any) -> float:
        """λ for ``operator``: by its measurement ratio m/n."""
        return self.settings.weight_for(operator.measurement_size / operator.image_size)

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray:
        """The TV fit of the entries of y not ``held``: from ``start`` in
        ``warm_iterations`` FISTA steps where one is given, else as :meth:`recover`."""
        iterations = self.settings.iterations if start is None else self.settings.warm_iterations
        with one_blas_thread():
            image = self._fista(problem, ~np.asarray(held, dtype=bool), start, iterations)
        return np.clip(image, 0.0, 1.0).astype(np.float32)

    def answer_from(self, problem: Problem, start: np.ndarray) -> np.ndarray:
        """The TV fit of every entry of y in ``refine_iterations`` FISTA steps from
        ``start`` (the fit without a few held-out entries)."""
        with one_blas_thread():
            image = self._fista(problem, None, start, self.settings.refine_iterations)
        return np.clip(image, 0.0, 1.0).astype(np.float32)

    def _fista(self, problem: Problem, fitted: np.ndarray | None, start: np.ndarray | None,
               iterations: int) -> np.ndarray:
        return tv_fista(problem.operator, problem.y, self.weight(problem.operator), iterations,
                        fitted=fitted, start=start)


class TVMRI(TVLeastSquares):
    """MRI by total-variation regularised least squares on the sampled k-space (the same
    FISTA as ``tv-cs``, Lustig, Donoho & Pauly 2007's model with a TV prior); λ depends on
    the fraction of k-space lines sampled (1 / acceleration)."""

    name: ClassVar[str] = "tv-mri"
    task: ClassVar[str] = "mri"

    def weight(self, operator: Any) -> float:
        lines = np.asarray(operator.lines)
        return self.settings.weight_for(float(lines.sum()) / lines.size)


class TVDeblur(TVLeastSquares):
    """Deblurring by total-variation regularised least squares (the FISTA of ``tv-cs``),
    λ = ``weight · σ`` (at least ``weight · 0.001``)."""

    name: ClassVar[str] = "tv-deblur"
    task: ClassVar[str] = "deblur"

    def weight(self, operator: Any) -> float:
        return self.settings.weight * max(operator.noise_std, 1e-3)
