"""The side-by-side picture of a recovery: truth, observation, then each method.

One picture for the command line (``gs-invert --compare``) and the web page
(``gs-serve``): columns are labelled in the image, and each recovery's caption
carries its PSNR and SSIM against the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gs.io import image_grid
from gs.operators import Operator

#: Cells are enlarged (nearest neighbour) to at least this width so captions fit.
MIN_CELL_WIDTH = 192


def observation_preview(operator: Operator, y: np.ndarray) -> np.ndarray:
    """What a person sees of the observation ``y``, as a (C, H, W) image in [0, 1].

    Inpainting shows the kept pixels on grey; super-resolution the low-resolution
    image enlarged (nearest neighbour); denoising the noisy image; compressed
    sensing the back-projection ``Aᵀy`` stretched to [0, 1] (it is not an image
    a person can read, which is the point of the method).
    """
    y = np.asarray(y, dtype=np.float32)
    task = operator.task
    if task == "inpaint":
        keep = operator.mask.astype(bool)
        return np.where(keep[None], y, np.float32(0.5)).astype(np.float32)
    if task == "sr":
        scale = operator.scale
        return np.clip(y.repeat(scale, axis=1).repeat(scale, axis=2), 0, 1).astype(np.float32)
    if task == "denoise":
        return np.clip(y, 0, 1).astype(np.float32)
    back = np.asarray(operator.A_adjoint(y[None])[0], dtype=np.float32)
    low, high = np.percentile(back, [1, 99])
    return np.clip((back - low) / max(float(high - low), 1e-12), 0, 1).astype(np.float32)


def describe_operator(operator: Operator) -> str:
    """A short label of the forward model, e.g. ``CS m/n = 10 %`` or ``SR x4``."""
    task = operator.task
    if task == "cs":
        n = int(np.prod(operator.image_shape))
        return f"CS m/n = {100 * operator.measurements / n:.3g} %"
    if task == "inpaint":
        return f"{100 * float(operator.mask.mean()):.3g} % of pixels kept"
    if task == "sr":
        return f"SR x{operator.scale}"
    return f"noise std {operator.noise_std:.3g}"


def caption(label: str, score: tuple[float, float] | None) -> str:
    """``label`` and, when known, ``PSNR dB · SSIM`` on a second line."""
    if score is None:
        return label
    return f"{label}\n{score[0]:.2f} dB · SSIM {score[1]:.3f}"


def comparison_picture(
    truth: np.ndarray | None,
    operator: Operator,
    y: np.ndarray,
    recoveries: Sequence[tuple[str, np.ndarray, tuple[float, float] | None]],
    scale: int | None = None,
) -> np.ndarray:
    """One labelled row: truth (when known), observation, then each recovery.

    Args:
        truth: (C, H, W) in [0, 1], or None for a real observation.
        operator, y: the forward model and what was observed.
        recoveries: (label, (C, H, W) image in [0, 1], (PSNR, SSIM) or None).
        scale: enlargement of every cell (default: to at least ``MIN_CELL_WIDTH``).

    Returns:
        (C, H', W') float32 in [0, 1].
    """
    images, captions = [], []
    if truth is not None:
        images.append(truth)
        captions.append("truth")
    images.append(observation_preview(operator, y))
    captions.append(f"observation\n{describe_operator(operator)}")
    for label, image, score in recoveries:
        images.append(image)
        captions.append(caption(label, score))
    if scale is None:
        scale = max(1, -(-MIN_CELL_WIDTH // images[0].shape[2]))
    return image_grid([images], captions=[captions], scale=scale)


def column_label(cut: int) -> str:
    """``surgery (c=1)`` for a cut artifact, ``no surgery (c=0)`` for a c = 0 one."""
    return f"surgery (c={cut})" if cut > 0 else "no surgery (c=0)"


def write_comparisons(
    problems: Sequence[Any],
    columns: Sequence[tuple[str, Any]],
    out_dir: str | Path,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``out_dir/<stem>_compare.png`` for every problem of a job.

    Args:
        problems: the job's :class:`gs.jobs.Problem` list (operator, y, truth).
        columns: (label, :class:`gs.jobs.JobReport`) per method, in picture order;
            each report holds one entry per problem, matched by ``index``.
        out_dir: folder of the pictures.
        overwrite: replace existing pictures.

    Returns:
        The written paths, one per problem.
    """
    from gs.io import read_image, write_image

    written = []
    for problem in problems:
        recoveries = []
        for label, report in columns:
            entry = next(e for e in report.images if e["index"] == problem.index)
            image = read_image(entry["output"], "output", channels=problem.operator.image_shape[0])
            score = None if entry["psnr"] is None else (entry["psnr"], entry["ssim"])
            recoveries.append((label, image, score))
        picture = comparison_picture(problem.truth, problem.operator, problem.y, recoveries)
        stem = Path(next(e for e in columns[0][1].images
                         if e["index"] == problem.index)["output"]).stem
        written.append(write_image(Path(out_dir) / f"{stem}_compare.png", picture,
                                   overwrite=overwrite))
    return written
