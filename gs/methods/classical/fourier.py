"""The answers computed in Fourier space: MRI's ``zero-filled`` inverse FFT, and the
``wiener`` and ``unsupervised-wiener`` deconvolutions (scikit-image) under the deblurring
operator's periodic boundary."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from gs.methods.classical.base import ClassicalAnswer, recover_filled
from gs.problems import Problem
from gs.seeding import Stream, problem_rng


class ZeroFilled(ClassicalAnswer):
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


class _Deconvolution(ClassicalAnswer):
    """A deconvolution of the blurred observation with the operator's kernel, channel by
    channel, under the operator's own periodic boundary."""

    task: ClassVar[str] = "deblur"

    def recover(self, problem: Problem) -> np.ndarray:
        y = np.asarray(problem.y, dtype=np.float64)
        psf = centred_psf(problem.operator)
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
        return recover_filled(self.recover, problem, held)


def centred_psf(operator: Any) -> np.ndarray:
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
