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
* ``tv-mri`` and ``zero-filled`` (MRI): TV least squares on the sampled k-space, and the
  zero-filled inverse FFT.
* ``tv-deblur``, ``wiener`` and ``unsupervised-wiener`` (deblurring): TV least squares,
  and scikit-image's Wiener–Hunt deconvolutions under the operator's periodic boundary.

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
from gs.seeding import Stream, problem_rng


def one_blas_thread() -> Any:
    """Run the library call on one BLAS thread: the images are small, and an idle pool of
    threads fighting a loaded machine costs far more than it gains."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _recover_filled(recover, problem: Problem, held: np.ndarray) -> np.ndarray:
    """``recover`` (an image-observed task's classical answer) of ``problem`` whose
    ``held`` entries (flat bool over y) are filled from their neighbours first
    (biharmonic), so that the answer does not see them; (C, H, W) float32 in [0, 1]."""
    from skimage.restoration import inpaint_biharmonic

    y = np.asarray(problem.y, dtype=np.float64)
    missing = held.reshape(y.shape).any(axis=0)
    filled = inpaint_biharmonic(y.transpose(1, 2, 0), missing, channel_axis=-1)
    with one_blas_thread():
        image = recover(replace(problem, y=filled.transpose(2, 0, 1)))
    return np.clip(image, 0.0, 1.0).astype(np.float32)


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
        with stopwatch() as elapsed, one_blas_thread():
            image = self.recover(problem)
        return answer(problem, image, elapsed[0], answer=self.name)

    def recover(self, problem: Problem) -> np.ndarray:
        """The (C, H, W) answer to one problem (clipped to [0, 1] by the caller)."""
        raise NotImplementedError

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray | None:
        """The answer from the entries of y not ``held`` (bool, flattened y), clipped to
        [0, 1]; None where the method needs every entry (the denoisers). ``start``, an
        image (C, H, W) in [0, 1] near the answer, is where an iterative method may start
        (others ignore it)."""
        return None

    def answer_from(self, problem: Problem, start: np.ndarray) -> np.ndarray:
        """The answer from every entry of y, (C, H, W) float32 in [0, 1]; an iterative
        method may start at ``start``, the answer of nearly the same problem (its answer
        without a few held-out entries)."""
        return self.solve([problem])[0].image


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

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray:
        """The held-out low-resolution pixels filled from their neighbours (biharmonic),
        then upsampled."""
        return _recover_filled(self.recover, problem, held)


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

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray:
        """Interpolation from the observed pixels that are not held out."""
        y = np.asarray(problem.y)
        kept = problem.operator.mask & ~held.reshape(y.shape).any(axis=0)
        operator = type(problem.operator).from_mask(kept, problem.operator.image_shape,
                                                    problem.operator.noise_std)
        with one_blas_thread():
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
        from skimage.restoration import denoise_tv_chambolle

        operator = problem.operator
        # float32 like the operator's matrix: a float64 iterate would copy the matrix to
        # float64 on every product, and the answer agrees with float64's to ~1e-6.
        y = np.asarray(problem.y, dtype=np.float32)[None]
        keep = np.float32(1) if fitted is None else fitted.reshape(y.shape).astype(np.float32)
        weight = self.weight(operator)
        # 1/L with L = ‖A‖² bounds ‖A_S‖² of any subset S of the rows too; 1 % margin for
        # the power-iteration estimate.
        step = np.float32(1.0 / (operator.norm() ** 2 * 1.01))
        x = (np.clip(np.asarray(operator.A_adjoint(y * keep)), 0, 1) if start is None
             else np.asarray(start, np.float32)[None])
        v, t = x, 1.0
        for _ in range(iterations):
            gradient = np.asarray(operator.A_adjoint((operator.A(v) - y) * keep))
            z = (v - step * gradient)[0].transpose(1, 2, 0)
            x_next = np.clip(denoise_tv_chambolle(z, weight=float(step * weight),
                                                  channel_axis=-1),
                             0, 1).transpose(2, 0, 1)[None].astype(np.float32)
            t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
            v = x_next + np.float32((t - 1) / t_next) * (x_next - x)
            x, t = x_next, t_next
        return x[0]


class TVMRI(TVLeastSquares):
    """MRI by total-variation regularised least squares on the sampled k-space (the same
    FISTA as ``tv-cs``, Lustig, Donoho & Pauly 2007's model with a TV prior); λ depends on
    the fraction of k-space lines sampled (1 / acceleration)."""

    name: ClassVar[str] = "tv-mri"
    task: ClassVar[str] = "mri"

    def weight(self, operator: Any) -> float:
        lines = np.asarray(operator.lines)
        return self.settings.weight_for(float(lines.sum()) / lines.size)


class ZeroFilled(_Classical):
    """MRI's zero-filled reconstruction: the inverse FFT of the sampled k-space with zeros
    elsewhere, as the minimum-norm image ``Aᵀ (A Aᵀ)⁻¹ y``
    (:meth:`gs.operators.mri.MRI.zero_filled`)."""

    name: ClassVar[str] = "zero-filled"
    task: ClassVar[str] = "mri"

    def recover(self, problem: Problem) -> np.ndarray:
        y = np.asarray(problem.y, dtype=np.float64)
        return np.asarray(problem.operator.zero_filled(y[None])[0])

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray:
        """Zero-filled without the held-out entries (a held-out group is an entry with its
        mirror, so the others keep their weights)."""
        y = np.asarray(problem.y, dtype=np.float64)
        kept = y * ~np.asarray(held, dtype=bool).reshape(y.shape)
        image = np.asarray(problem.operator.zero_filled(kept[None])[0])
        return np.clip(image, 0.0, 1.0).astype(np.float32)


class _Deconvolution(_Classical):
    """A deconvolution of the blurred observation with the operator's kernel, channel by
    channel, under the operator's own periodic boundary."""

    task: ClassVar[str] = "deblur"

    def recover(self, problem: Problem) -> np.ndarray:
        y = np.asarray(problem.y, dtype=np.float64)
        psf = _centred_psf(problem.operator)
        return np.stack([self.deconvolve(channel, psf, problem.operator.noise_std, problem)
                         for channel in y])

    def deconvolve(self, y: np.ndarray, psf: np.ndarray, sigma: float,
                   problem: Problem) -> np.ndarray:
        """The (H, W) estimate from one blurred channel ``y`` (H, W), the (H, W) kernel
        ``psf`` centred at (H // 2, W // 2), and the noise std ``sigma``."""
        raise NotImplementedError

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray:
        """The held-out blurred pixels filled from their neighbours (biharmonic), then
        deconvolved."""
        return _recover_filled(self.recover, problem, held)


def _centred_psf(operator: Any) -> np.ndarray:
    """(H, W) float64: the operator's kernel wrapped onto the image grid with its centre
    at (H // 2, W // 2), where scikit-image's ``uft.ir2tf`` expects it, so the transfer
    function it computes is the operator's own."""
    impulse = np.real(np.fft.ifft2(np.asarray(operator.transfer)))
    return np.fft.fftshift(impulse)


class Wiener(_Deconvolution):
    """Wiener–Hunt deconvolution (scikit-image ``restoration.wiener``, Laplacian
    regulariser) with balance ``weight · σ²`` (the noise-to-signal ratio grows with the
    noise variance), at least ``floor``."""

    name: ClassVar[str] = "wiener"

    def deconvolve(self, y: np.ndarray, psf: np.ndarray, sigma: float,
                   problem: Problem) -> np.ndarray:
        from skimage.restoration import wiener

        balance = max(self.settings.weight * sigma**2, self.settings.floor)
        return wiener(y, psf, balance, clip=False)


class UnsupervisedWiener(_Deconvolution):
    """Unsupervised Wiener–Hunt deconvolution (Orieux, Giovannelli & Rodet 2010,
    scikit-image ``restoration.unsupervised_wiener``): the noise and image precisions are
    sampled (Gibbs) rather than given; seeded by the problem."""

    name: ClassVar[str] = "unsupervised-wiener"

    def deconvolve(self, y: np.ndarray, psf: np.ndarray, sigma: float,
                   problem: Problem) -> np.ndarray:
        from skimage.restoration import unsupervised_wiener

        rng = problem_rng(0, problem.index, Stream.BASELINE)
        image, _ = unsupervised_wiener(y, psf, clip=False, rng=rng,
                                       user_params={"max_num_iter": self.settings.iterations})
        return image


class TVDeblur(TVLeastSquares):
    """Deblurring by total-variation regularised least squares (the FISTA of ``tv-cs``),
    λ = ``weight · σ`` (at least ``weight · 0.001``)."""

    name: ClassVar[str] = "tv-deblur"
    task: ClassVar[str] = "deblur"

    def weight(self, operator: Any) -> float:
        return self.settings.weight * max(operator.noise_std, 1e-3)


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

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray | None:
        """The classical answer computed without the ``held`` entries of y (see
        :meth:`_Classical.answer_without`); None where it needs every entry."""
        return self.inner.answer_without(problem, held, start)

    def answer_from(self, problem: Problem, start: np.ndarray) -> np.ndarray:
        """The classical answer of every entry of y (:meth:`_Classical.answer_from`)."""
        return self.inner.answer_from(problem, start)
