"""The side-by-side picture of a recovery: truth, observation, then each method.

One picture for the command line (``gs-invert --compare``) and the web page
(``gs-serve``): columns are labelled in the image, and each recovery's caption
carries its PSNR and SSIM against the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from gs.io import image_grid
from gs.jobs import InversionJob, JobReport, list_inputs, load_problems
from gs.operators import Operator
from gs.settings import InversionSettings

#: Cells are enlarged (nearest neighbour) to at least this width so captions fit.
MIN_CELL_WIDTH = 192


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
    images.append(operator.preview(y))
    captions.append(f"observation\n{operator.describe()}")
    for label, image, score in recoveries:
        images.append(image)
        captions.append(caption(label, score))
    if scale is None:
        scale = max(1, -(-MIN_CELL_WIDTH // images[0].shape[2]))
    return image_grid([images], captions=[captions], scale=scale)


def column_label(cut: int) -> str:
    """``surgery (c=1)`` for a cut artifact, ``no surgery (c=0)`` for a c = 0 one."""
    return f"surgery (c={cut})" if cut > 0 else "no surgery (c=0)"


def comparison_job(job: InversionJob, other: Path, settings: InversionSettings) -> InversionJob:
    """``job`` run with artifact ``other``: outputs under ``<output_dir>/compare/``, no report."""
    return replace(job, artifact=Path(other), output_dir=job.output_dir / "compare",
                   settings=settings, report=None, resume=False, save_measurements=False)


def comparison_paths(job: InversionJob) -> list[Path]:
    """Where each image's picture goes: ``<output>_compare.png`` beside its recovery."""
    return [item.output.with_name(f"{item.output.stem}_compare.png")
            for item in list_inputs(job)]


def write_comparisons(
    job: InversionJob,
    image_shape: tuple[int, int, int],
    columns: Sequence[tuple[str, JobReport]],
) -> list[Path]:
    """Write every image's side-by-side picture (see :func:`comparison_paths`).

    Args:
        job: the job whose problems (truth, operator, observation) are pictured; it is
            rebuilt from the job's seed, exactly as ``run_job`` built it.
        image_shape: (C, H, W) of the artifacts.
        columns: (label, report) per method in picture order; entries match by ``index``.
            Each recovery is the report's image in memory (``recoveries``); only an image
            a resumed report recorded as done is read from its output file. An image that
            failed in any column gets no picture.

    Returns:
        The written paths.
    """
    from gs.io import write_image

    inputs = list_inputs(job)
    written = []
    for item, problem, path in zip(inputs, load_problems(job, image_shape, inputs),
                                   comparison_paths(job)):
        entries = [next(e for e in report.images if e["index"] == item.index)
                   for _, report in columns]
        if any(entry.get("failure") for entry in entries):
            continue
        recoveries = [
            (label, _recovered(report, entry, image_shape[0]),
             None if entry["psnr"] is None else (entry["psnr"], entry["ssim"]))
            for (label, report), entry in zip(columns, entries)
        ]
        picture = comparison_picture(problem.truth, problem.operator, problem.y, recoveries)
        written.append(write_image(path, picture, overwrite=job.overwrite))
    return written


def _recovered(report: JobReport, entry: dict, channels: int) -> np.ndarray:
    """The (C, H, W) image in [0, 1] that ``entry`` of ``report`` recovered: from memory,
    or from its output file when an earlier run did it (``--resume``)."""
    image = report.recoveries.get(entry["index"])
    if image is not None:
        return image
    from gs.io import read_image

    return read_image(entry["output"], "output", channels=channels)
