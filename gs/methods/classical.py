"""The classical answers: what a user gets in milliseconds from a well-kept library.

One method per well-known answer, each on the observation alone (no learned prior):

* ``bicubic`` (super-resolution): cubic-spline upsampling of y (scipy.ndimage.zoom,
  centre-aligned as the operator's blocks are).
* ``interpolation`` (inpainting): biharmonic (scikit-image) or linear (scipy) fill of
  the missing pixels; kept pixels come back as observed.
* ``bm3d`` (denoising, the ``bm3d`` package, an optional extra: free for non-commercial
  use only), ``nl-means``, ``tv`` and ``wavelet`` (scikit-image, BSD) with the known noise
  level.
* ``lasso-dct`` / ``lasso-wavelet`` (compressed sensing): :mod:`gs.methods.lasso`.

``classical`` picks the task's own (:data:`gs.operators.registry.Task.classical`, the
first of its preferences whose library is installed), so every comparison the product
shows can put the classical answer beside surgery.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from gs.errors import UserInputError
from gs.methods.base import Method, MethodContext, answer, stopwatch
from gs.methods.presets import auto_preset
from gs.operators import get_task
from gs.problems import Problem
from gs.results import Recovery


def _single_thread() -> Any:
    """Run the library call on one BLAS thread: the images are small, and an idle pool of
    threads fighting a loaded machine costs far more than it gains."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


class _Classical(Method):
    """A classical answer: settings default to the method's preset; one image at a time."""

    prior: ClassVar[str] = "none"
    #: The task this method answers (its operator's attributes are read).
    task: ClassVar[str]
    #: The Python package the method needs beyond gs's own dependencies, if any.
    requires: ClassVar[str | None] = None

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings or auto_preset(self.name)

    @classmethod
    def available(cls) -> bool:
        """Whether the library this method needs is installed."""
        return cls.requires is None or importlib.util.find_spec(cls.requires) is not None

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        if not cls.available():
            raise UserInputError(f"{cls.name} needs the {cls.requires} package; install it "
                                 f"with pip install 'gs[{cls.requires}]'", field="method")
        return cls(context.settings)

    def solve_one(self, problem: Problem, seed: int) -> Recovery:
        if problem.operator.task != self.task:
            raise UserInputError(f"{self.name} answers {self.task} problems, not "
                                 f"{problem.operator.task}", field="method")
        with stopwatch() as elapsed, _single_thread():
            image = self.recover(problem)
        return answer(problem, image, elapsed[0], answer=self.name)

    def recover(self, problem: Problem) -> np.ndarray:
        """The (C, H, W) answer to one problem (clipped to [0, 1] by the caller)."""
        raise NotImplementedError

    def answer_without(self, problem: Problem, held: np.ndarray) -> np.ndarray | None:
        """The answer from the entries of y not ``held`` (bool, flattened y), clipped to
        [0, 1]; None where the method needs every entry (the denoisers)."""
        return None


class Bicubic(_Classical):
    """Cubic-spline upsampling of the low-resolution observation (scipy.ndimage.zoom).

    ``grid_mode=True`` aligns pixel *areas*, as the operator's s×s blocks are (each
    measurement sits at its block's centre); the border is reflected.
    """

    name: ClassVar[str] = "bicubic"
    task: ClassVar[str] = "sr"

    def recover(self, problem: Problem) -> np.ndarray:
        from scipy.ndimage import zoom

        s = problem.operator.scale
        return zoom(np.asarray(problem.y, dtype=np.float64), (1, s, s), order=self.settings.order,
                    grid_mode=True, mode=self.settings.mode)

    def answer_without(self, problem: Problem, held: np.ndarray) -> np.ndarray:
        """The held-out low-resolution pixels filled from their neighbours (biharmonic),
        then upsampled."""
        from skimage.restoration import inpaint_biharmonic

        y = np.asarray(problem.y, dtype=np.float64)
        missing = held.reshape(y.shape).any(axis=0)
        filled = inpaint_biharmonic(y.transpose(1, 2, 0), missing, channel_axis=-1)
        with _single_thread():
            image = self.recover(replace(problem, y=filled.transpose(2, 0, 1)))
        return np.clip(image, 0.0, 1.0).astype(np.float32)


class Interpolation(_Classical):
    """Fill the missing pixels from the observed ones; observed pixels stay as observed.

    ``biharmonic``: skimage.restoration.inpaint_biharmonic (smooth, per channel);
    ``linear``: scipy.interpolate.griddata on the Delaunay triangulation of the kept
    pixels, nearest kept pixel outside their convex hull.
    """

    name: ClassVar[str] = "interpolation"
    task: ClassVar[str] = "inpaint"

    def recover(self, problem: Problem) -> np.ndarray:
        keep = np.asarray(problem.operator.mask, dtype=bool)
        observed = np.asarray(problem.y, dtype=np.float64)
        if keep.all():
            return observed
        if self.settings.kind == "biharmonic":
            from skimage.restoration import inpaint_biharmonic

            filled = inpaint_biharmonic(observed.transpose(1, 2, 0), ~keep, channel_axis=-1)
            filled = filled.transpose(2, 0, 1)
        else:
            filled = _linear_fill(observed, keep)
        return np.where(keep[None], observed, filled)

    def answer_without(self, problem: Problem, held: np.ndarray) -> np.ndarray:
        """Interpolation from the observed pixels that are not held out."""
        y = np.asarray(problem.y)
        kept = problem.operator.mask & ~held.reshape(y.shape).any(axis=0)
        operator = type(problem.operator).from_mask(kept, problem.operator.image_shape,
                                                    problem.operator.noise_std)
        with _single_thread():
            image = self.recover(replace(problem, operator=operator, y=y * kept[None]))
        return np.clip(image, 0.0, 1.0).astype(np.float32)


def _linear_fill(observed: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(C, H, W) with the pixels where ``keep`` is False filled linearly (nearest outside)."""
    from scipy.interpolate import griddata
    from scipy.spatial import QhullError

    known = np.argwhere(keep)
    missing = np.argwhere(~keep)
    out = observed.copy()
    for channel in out:
        values = channel[keep]
        nearest = griddata(known, values, missing, method="nearest")
        try:  # linear inside the kept pixels' convex hull
            linear = griddata(known, values, missing, method="linear")
        except (QhullError, ValueError):  # fewer than 3 kept pixels, or all on one line
            linear = nearest
        channel[~keep] = np.where(np.isnan(linear), nearest, linear)
    return out


class _Denoiser(_Classical):
    """A denoiser with the known noise level σ; noise-free observations come back as they are."""

    task: ClassVar[str] = "denoise"

    def recover(self, problem: Problem) -> np.ndarray:
        y = np.asarray(problem.y, dtype=np.float64)
        sigma = problem.operator.noise_std
        return self.denoise(y, sigma) if sigma > 0 else y

    def denoise(self, y: np.ndarray, sigma: float) -> np.ndarray:
        """The (C, H, W) estimate from ``y`` (C, H, W) with noise std ``sigma`` > 0."""
        raise NotImplementedError


class BM3D(_Denoiser):
    """BM3D (Dabov et al. 2007) with the known noise level, the ``bm3d`` package.

    The package is free for non-commercial use only (Tampere University's licence),
    so it is an optional extra: ``pip install 'gs[bm3d]'``.
    """

    name: ClassVar[str] = "bm3d"
    requires: ClassVar[str | None] = "bm3d"

    def denoise(self, y: np.ndarray, sigma: float) -> np.ndarray:
        import bm3d

        profile = self.settings.profile
        if y.shape[0] == 3:
            return bm3d.bm3d_rgb(y.transpose(1, 2, 0), sigma, profile=profile).transpose(2, 0, 1)
        return np.stack([bm3d.bm3d(channel, sigma, profile=profile) for channel in y])


class NLMeans(_Denoiser):
    """Non-local means (Buades et al. 2005), scikit-image, with the known noise level."""

    name: ClassVar[str] = "nl-means"

    def denoise(self, y: np.ndarray, sigma: float) -> np.ndarray:
        from skimage.restoration import denoise_nl_means

        s = self.settings
        return denoise_nl_means(y, h=s.h * sigma, sigma=sigma, patch_size=s.patch_size,
                                patch_distance=s.patch_distance, fast_mode=True,
                                channel_axis=0)


class TotalVariation(_Denoiser):
    """Total-variation denoising (Chambolle 2004), scikit-image, weight ∝ noise level."""

    name: ClassVar[str] = "tv"

    def denoise(self, y: np.ndarray, sigma: float) -> np.ndarray:
        from skimage.restoration import denoise_tv_chambolle

        return denoise_tv_chambolle(y, weight=self.settings.weight * sigma, channel_axis=0)


class WaveletShrinkage(_Denoiser):
    """Wavelet shrinkage (BayesShrink, Chang, Yu & Vetterli 2000), scikit-image, with the
    known noise level, colour channels in YCbCr."""

    name: ClassVar[str] = "wavelet"

    def denoise(self, y: np.ndarray, sigma: float) -> np.ndarray:
        from skimage.restoration import denoise_wavelet

        colour = y.shape[0] == 3
        return denoise_wavelet(y, sigma=sigma, method=self.settings.method, mode="soft",
                               channel_axis=0, convert2ycbcr=colour, rescale_sigma=True)


class TVLeastSquares(_Classical):
    """Compressed sensing by total-variation regularised least squares,
    ``min_x ½‖y − A x‖² + λ·TV(x)``, by FISTA (Beck & Teboulle 2009) whose proximal step is
    scikit-image's Chambolle TV denoiser; the image stays in [0, 1].

    λ depends on the measurement ratio m/n (:meth:`TVCSSettings.weight_for`): fewer
    measurements need a stronger prior.
    """

    name: ClassVar[str] = "tv-cs"
    task: ClassVar[str] = "cs"

    def recover(self, problem: Problem) -> np.ndarray:
        return self._fista(problem, None)

    def answer_without(self, problem: Problem, held: np.ndarray) -> np.ndarray:
        """The TV fit of the entries of y not ``held``."""
        with _single_thread():
            image = self._fista(problem, ~np.asarray(held, dtype=bool))
        return np.clip(image, 0.0, 1.0).astype(np.float32)

    def _fista(self, problem: Problem, fitted: np.ndarray | None) -> np.ndarray:
        from skimage.restoration import denoise_tv_chambolle

        operator = problem.operator
        y = np.asarray(problem.y, dtype=np.float64)[None]
        keep = 1.0 if fitted is None else fitted.reshape(y.shape).astype(np.float64)
        weight = self.settings.weight_for(operator.measurement_size / operator.image_size)
        # 1/L with L = ‖A‖² bounds ‖A_S‖² of any subset S of the rows too; 1 % margin for
        # the power-iteration estimate.
        step = 1.0 / (operator.norm() ** 2 * 1.01)
        x = np.clip(np.asarray(operator.A_adjoint(y * keep)), 0, 1)
        v, t = x, 1.0
        for _ in range(self.settings.iterations):
            gradient = np.asarray(operator.A_adjoint((operator.A(v) - y) * keep))
            z = (v - step * gradient)[0].transpose(1, 2, 0)
            x_next = np.clip(denoise_tv_chambolle(z, weight=step * weight, channel_axis=-1),
                             0, 1).transpose(2, 0, 1)[None]
            t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
            v = x_next + ((t - 1) / t_next) * (x_next - x)
            x, t = x_next, t_next
        return x[0]


def classical_available(task: str) -> bool:
    """Whether ``task`` has a classical answer installed here."""
    try:
        classical_name(task)
    except UserInputError:
        return False
    return True


def classical_name(task: str) -> str:
    """The registered classical answer of ``task``: its first preference that is installed.

    Raises:
        UserInputError: the task has no classical answer (field ``task``).
    """
    from gs.methods import method_class

    preferences = get_task(task).classical
    for name in preferences:
        cls = method_class(name)
        if getattr(cls, "available", lambda: True)():
            return name
    raise UserInputError(f"{task} has no classical answer installed"
                         + (f" (it takes {', '.join(preferences)})" if preferences else ""),
                         field="task")


class Classical(Method):
    """The classical answer of the problems' task (see :func:`classical_name`)."""

    name: ClassVar[str] = "classical"
    prior: ClassVar[str] = "none"

    def __init__(self, task: str = "cs", settings: Any = None) -> None:
        from gs.methods import build_method

        self.inner = build_method(classical_name(task), task=task, settings=settings)
        self.settings = self.inner.settings

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        return cls(context.task, context.settings)

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def solve(self, problems, *, seed=0, on_step=None) -> list[Recovery]:
        return self.inner.solve(problems, seed=seed)
