"""Interpolation of what the operator left out: ``bicubic`` (super-resolution) and
``interpolation`` (inpainting)."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import numpy as np

from gs.devices import one_blas_thread
from gs.methods.classical.base import ClassicalAnswer, recover_filled
from gs.problems import Problem


class Bicubic(ClassicalAnswer):
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
        return recover_filled(self.recover, problem, held)


class Interpolation(ClassicalAnswer):
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
            filled = linear_fill(observed, keep)
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


def linear_fill(observed: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(C, H, W) ``observed`` with the pixels where ``keep`` (H, W) is False filled
    linearly from the kept ones (the nearest kept pixel outside their convex hull)."""
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
