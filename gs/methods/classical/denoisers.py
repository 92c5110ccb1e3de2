"""The denoisers, each with the known noise level: ``bm3d`` (the ``bm3d`` package, an
optional extra: free for non-commercial use only), ``nl-means``, ``tv`` and ``wavelet``
(scikit-image, BSD)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from gs.methods.classical.base import ClassicalAnswer
from gs.problems import Problem


class _Denoiser(ClassicalAnswer):
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
