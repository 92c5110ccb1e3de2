"""One page job: the photo as truth, the chosen task, and one column per method.

The job builds its problem once, in memory: the photo centre-cropped and resized to
the artifact (the truth, at 8 bits as ``truth.png`` holds it) and the task's seeded
operator and measurements (:func:`gs.problems.simulated_problem`, as ``gs-invert
--simulate`` builds them); a painted inpainting mask makes it an observed problem
instead (:func:`gs.problems.masked_problem`, as ``gs-invert --mask`` reads the masked photo
and its mask). Every column is a :class:`gs.methods.Method` run on that problem: the
task's classical answer, no surgery (the c = 0 artifact of the same weights, when the
server holds one: the uncut generator's own image) and surgery on the chosen artifact
with its recommended settings, answer rule included — the methods ``gs-invert --compare``
runs, so each image equals its own pixel for pixel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gs.compare import column_label, comparison_picture
from gs.errors import UserInputError
from gs.io import encode_image, quantize, read_image, resize_image, write_image, write_json
from gs.methods import Method, build_method
from gs.methods.classical import classical_available, classical_name
from gs.methods.surgery import NoSurgery, Surgery
from gs.metrics import psnr, ssim
from gs.operators import get_task
from gs.problems import OperatorOptions, Problem, masked_problem, simulated_problem
from gs.results import Recovery, result_failure
from gs.serve.catalog import Catalog, ServedArtifact
from gs.serve.page_request import PAGE_BUDGET, PageRequest


def classical_label(task: str) -> str:
    """The classical column's caption, e.g. ``classical: bicubic``."""
    return f"classical: {classical_name(task)}"


@dataclass(frozen=True)
class Column:
    """One column of a job: its key, its caption, the name its report gives the method
    and the served artifact it runs (None: the classical answer, no generator)."""

    key: str
    label: str
    method: str
    served: ServedArtifact | None = None


def columns(request: PageRequest, catalog: Catalog) -> list[Column]:
    """The job's columns in order: the classical answer (when asked and installed), no
    surgery (when asked and a c = 0 artifact of the same weights is served), surgery."""
    chosen = catalog.get(request.artifact)
    out = []
    if request.classical and classical_available(request.task):
        out.append(Column("classical", classical_label(request.task),
                          classical_name(request.task)))
    partner = catalog.no_surgery_partner(chosen) if request.compare else None
    if partner is not None:
        out.append(Column("no_surgery", column_label(0), "gs", partner))
    out.append(Column("surgery", column_label(chosen.metadata.cut), "gs", chosen))
    return out


def column_method(column: Column, request: PageRequest) -> Method:
    """The column's method: the task's classical answer; or, on the column's artifact
    with its recommended settings for the task and the request's steps, restarts and
    quality,
    no surgery (the generator's own image) or surgery (its answer rule included)."""
    if column.served is None:
        return build_method("classical", task=request.task)
    settings = column.served.metadata.settings_for(request.task).override(
        steps=request.steps, restarts=request.restarts, quality=request.quality,
        budget=PAGE_BUDGET)
    kind = NoSurgery if column.key == "no_surgery" else Surgery
    return kind(column.served.artifact, task=request.task, settings=settings)


def column_plan(request: PageRequest, catalog: Catalog) -> list[dict[str, Any]]:
    """What a job will show, in order: ``key``, ``label`` and ``schedule`` (the cut of each
    stage; empty for the classical column)."""
    plan = []
    for col in columns(request, catalog):
        schedule: list[int] = []
        if col.served is not None:
            method = column_method(col, request)
            schedule = list(method.settings.schedule) or [col.served.metadata.cut]
        plan.append({"key": col.key, "label": col.label, "schedule": schedule})
    return plan


@dataclass
class PageSetup:
    """A job's problem: the truth (C, H, W) in [0, 1] at the artifact's size, the problem
    (operator, y) every column solves, and the painted mask (H, W) bool (True = kept) or
    None."""

    truth: np.ndarray
    problem: Problem
    keep: np.ndarray | None


def set_up(request: PageRequest, catalog: Catalog, upload: Path,
           mask_upload: Path | None) -> PageSetup:
    """The truth and the problem of a job, from the uploaded photo and mask files."""
    c, h, w = tuple(catalog.get(request.artifact).metadata.image_shape)
    truth = quantize(resize_image(read_image(upload, "image", channels=c), (h, w)))
    if mask_upload is None or get_task(request.task).observation != "masked":
        return PageSetup(truth, simulated_problem(upload, 0, truth, request.options(),
                                                  request.seed), None)
    keep = resize_image(read_image(mask_upload, "mask", channels=1), (h, w))[0] > 0.5
    if not keep.any():
        raise UserInputError("mask hides every pixel; leave some of the photo unpainted")
    options = OperatorOptions(task=request.task, noise_std=request.noise_std)
    return PageSetup(truth, masked_problem(upload, 0, truth * keep[None], keep, options), keep)


def preview(request: PageRequest, catalog: Catalog, upload: Path,
            mask_upload: Path | None) -> dict[str, Any]:
    """What a job would start from: the truth at the artifact's size and the observation.

    Returns ``image_shape``, ``observation`` (its caption) and PNG bytes ``truth_png``
    and ``observation_png`` (the operator's preview of y, exactly what the job observes).
    """
    setup = set_up(request, catalog, upload, mask_upload)
    operator = setup.problem.operator
    return {"image_shape": list(operator.image_shape), "observation": operator.describe(),
            "truth_png": encode_image(setup.truth),
            "observation_png": encode_image(operator.preview(setup.problem.y))}


def solve_column(method: Method, problem: Problem, seed: int,
                 on_step: Callable[[Any], None]) -> Recovery:
    """One column's recovery of the job's problem (``on_step`` sees each step)."""
    return method.solve([problem], seed=seed, on_step=on_step)[0]


def best_columns(entries: list[dict[str, Any]]) -> dict[str, str | None]:
    """The key of the column with the highest PSNR and of the one with the highest SSIM."""
    best: dict[str, str | None] = {}
    for metric in ("psnr", "ssim"):
        scored = [e for e in entries if e[metric] is not None and np.isfinite(e[metric])]
        best[metric] = max(scored, key=lambda e: e[metric])["key"] if scored else None
    return best


def run_page_job(
    folder: Path,
    request: PageRequest,
    catalog: Catalog,
    upload: Path,
    mask_upload: Path | None,
    on_step: Callable[[str, Any], None],
    on_column: Callable[[str], None] = lambda key: None,
) -> dict[str, Any]:
    """Run a page job; write its files into ``folder`` and return its report.

    ``on_step(column_key, StepEvent)`` sees every optimisation step (raising in it
    cancels the job); ``on_column(key)`` is called when a column starts. Writes
    ``truth.png``, ``mask.png`` (painted jobs), ``observation.png``, ``<column>.png``,
    ``compare.png`` (truth, observation and every column, as ``gs-invert --compare``
    draws it) and ``report.json`` (the report).
    """
    setup = set_up(request, catalog, upload, mask_upload)
    truth, problem = setup.truth, setup.problem
    write_image(folder / "truth.png", truth)
    if setup.keep is not None:
        write_image(folder / "mask.png", setup.keep[None].astype(np.float32))
    write_image(folder / "observation.png", problem.operator.preview(problem.y))
    entries: list[dict[str, Any]] = []
    recoveries = []
    for col in columns(request, catalog):
        on_column(col.key)
        start = time.perf_counter()
        method = column_method(col, request)
        result = solve_column(method, problem, request.seed,
                              lambda event, key=col.key: on_step(key, event))
        failure = result_failure(result)
        if failure is not None:
            raise UserInputError(f"{col.label} could not recover this image: {failure}")
        write_image(folder / f"{col.key}.png", result.image)
        score = (psnr(result.image, truth), ssim(result.image, truth))
        recoveries.append((col.label, result.image, score))
        entries.append({
            "key": col.key, "label": col.label, "method": col.method,
            "artifact": None if col.served is None else col.served.id,
            "cut": None if col.served is None else col.served.metadata.cut,
            "answer": result.details.get("answer"), "weight": result.details.get("weight"),
            "psnr": score[0], "ssim": score[1], "seconds": time.perf_counter() - start,
            "settings": None if method.settings is None else method.settings.to_json(),
            "details": result.details,
        })
    write_image(folder / "compare.png",
                comparison_picture(truth, problem.operator, problem.y, recoveries))
    summary = {
        "request": asdict(request),
        "observation": problem.operator.describe(),
        "mask": "painted" if setup.keep is not None else None,
        "image_shape": list(truth.shape),
        "columns": entries,
        "best": best_columns(entries),
    }
    write_json(folder / "report.json", summary)
    return summary
