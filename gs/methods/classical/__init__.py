"""The classical answers: what a user gets in milliseconds from a well-kept library.

One method per well-known answer, each on the observation alone (no learned prior), one
module per kind of answer:

* :mod:`~gs.methods.classical.interpolation`: ``bicubic`` (super-resolution): cubic-spline
  upsampling of y (scipy.ndimage.zoom, centre-aligned as the operator's blocks are);
  ``interpolation`` (inpainting): biharmonic (scikit-image) or linear (scipy) fill of the
  missing pixels; kept pixels come back as observed.
* :mod:`~gs.methods.classical.denoisers`: ``bm3d`` (the ``bm3d`` package, an optional
  extra: free for non-commercial use only), ``nl-means``, ``tv`` and ``wavelet``
  (scikit-image, BSD) with the known noise level.
* :mod:`~gs.methods.classical.tv`: ``tv-cs``, ``tv-mri`` and ``tv-deblur``, TV least
  squares by the FISTA of :mod:`~gs.methods.classical.tv_solver`.
* :mod:`~gs.methods.classical.fourier`: ``zero-filled`` (MRI: the zero-filled inverse
  FFT), ``wiener`` and ``unsupervised-wiener`` (deblurring: scikit-image's Wiener–Hunt
  deconvolutions under the operator's periodic boundary).
* ``lasso-dct`` / ``lasso-wavelet`` (compressed sensing): :mod:`gs.methods.lasso`.

:mod:`~gs.methods.classical.base` holds what they share (:class:`ClassicalAnswer`), and
:mod:`~gs.methods.classical.by_task` the method ``classical``: the task's own
(:data:`gs.operators.registry.Task.classical`, the first of its preferences whose library
is installed), so every comparison the product shows can put the classical answer beside
surgery. Every name below imports from ``gs.methods.classical`` as well.
"""

from __future__ import annotations

from gs.devices import one_blas_thread
from gs.methods.classical.base import ClassicalAnswer, recover_filled
from gs.methods.classical.by_task import Classical, classical_available, classical_name
from gs.methods.classical.denoisers import BM3D, NLMeans, TotalVariation, WaveletShrinkage
from gs.methods.classical.fourier import UnsupervisedWiener, Wiener, ZeroFilled, centred_psf
from gs.methods.classical.interpolation import Bicubic, Interpolation
from gs.methods.classical.tv import TVMRI, TVDeblur, TVLeastSquares
from gs.methods.classical.tv_solver import tv_fista

__all__ = ["BM3D", "TVMRI", "Bicubic", "Classical", "ClassicalAnswer", "Interpolation",
           "NLMeans", "TVDeblur", "TVLeastSquares", "TotalVariation", "UnsupervisedWiener",
           "WaveletShrinkage", "Wiener", "ZeroFilled", "centred_psf", "classical_available",
           "classical_name", "one_blas_thread", "recover_filled", "tv_fista"]
