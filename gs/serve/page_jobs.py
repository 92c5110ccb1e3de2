"""One page job: the photo as truth, the chosen task, a classical answer, surgery and no surgery.

Every generator column goes through :func:`gs.jobs.run_job` (the same path as
``gs-invert``), once with the chosen artifact and, when the server also holds the
c = 0 artifact of the same weights, once with that one ("no surgery"). The
classical column (:func:`classical_recovery`) solves the same problem without any
generator. A painted inpainting mask makes the job an observation-mode inpainting
job (the masked photo plus its mask, as ``gs-invert --mask`` reads them); every
other task simulates the measurements from the photo with the job's seed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gs.compare import column_label, comparison_picture
from gs.errors import UserInputError
from gs.io import encode_image, read_image, resize_image, write_image, write_json
from gs.jobs import InversionJob, OperatorOptions, Problem, list_inputs, load_problems, run_job
from gs.methods import Method
from gs.methods.classical import classical_available
from gs.methods.surgery import NoSurgery, Surgery
from gs.metrics import psnr, ssim
from gs.operators import SR_SCALES, get_task
from gs.operators.cs import measurements_from_options
from gs.serve.catalog import Catalog, ServedArtifact

#: The tasks the page offers (the registry's ``raw`` identity task has nothing to show).
PAGE_TASKS = ("cs", "inpaint", "sr", "denoise", "deblur")
#: Upper bounds a request may ask for (a public page must not book the CPU for hours).
MAX_STEPS = 500
MAX_RESTARTS = 8
#: Fewest measured values a CS or random-inpainting request may ask for: below this the
#: result says nothing about the method.
MIN_MEASUREMENTS = 16


@dataclass(frozen=True)
class PageRequest:
    """What a client asks for; field names are the API's form fields.

    Attributes:
        artifact: id of a served artifact (``GET /api/artifacts``).
        task: ``cs``, ``inpaint``, ``sr``, ``denoise`` or ``deblur`` (the Gaussian
            kernel of σ 1.5 px, noise 0.01: the task's defaults).
        ratio: CS measurement ratio m/n in (0, 1]; m = round(ratio · n) must be at
            least :data:`MIN_MEASUREMENTS`.
        keep: inpainting without a painted mask: fraction of random pixels kept.
        scale: super-resolution factor 2, 4 or 8.
        noise_std: measurement noise std (None: the task's default).
        seed: draws the operator, the noise and the initial latents.
        steps, restarts: overrides of the artifact's recommended settings.
        compare: also run the no-surgery (c = 0) artifact when one is served.
        classical: also recover with the task's classical answer (:mod:`gs.methods.classical`).
    """

    artifact: str
    task: str = "cs"
    ratio: float = 0.1
    keep: float = 0.1
    scale: int = 4
    noise_std: float | None = None
    seed: int = 0
    steps: int | None = None
    restarts: int | None = None
    compare: bool = True
    classical: bool = True

    def __post_init__(self) -> None:
        if self.task not in PAGE_TASKS:
            raise UserInputError(f"task must be one of {', '.join(PAGE_TASKS)}, "
                                 f"got {self.task!r}")
        if self.seed < 0:
            raise UserInputError(f"seed must be non-negative, got {self.seed}")
        for name in ("ratio", "keep"):
            if not 0 < getattr(self, name) <= 1:
                raise UserInputError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.scale not in SR_SCALES:
            raise UserInputError(f"scale must be one of {', '.join(map(str, SR_SCALES))}, "
                                 f"got {self.scale}")
        if self.noise_std is not None and not 0 <= self.noise_std <= 1:
            raise UserInputError(f"noise_std must be in [0, 1], got {self.noise_std}")
        for name, top in (("steps", MAX_STEPS), ("restarts", MAX_RESTARTS)):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= top:
                raise UserInputError(f"{name} must be between 1 and {top}, got {value}")

    def options(self) -> OperatorOptions:
        """The forward model's options, as ``gs-invert`` flags would give them."""
        given = {"ratio": self.ratio, "keep": self.keep, "scale": self.scale,
                 "noise_std": self.noise_std}
        reads = get_task(self.task).options
        return OperatorOptions(task=self.task, **{k: v for k, v in given.items() if k in reads})


def _ceil_2_digits(value: float) -> float:
    """``value`` rounded up to two significant digits (a bound that still holds when shown)."""
    unit = 10.0 ** (math.floor(math.log10(value)) - 1)
    return math.ceil(value / unit - 1e-9) * unit


def check_request(request: PageRequest, catalog: Catalog, painted: bool = False) -> None:
    """Refuse a request for an unknown artifact or for fewer than MIN_MEASUREMENTS values
    (``painted``: the inpainting mask comes with the request, so ``keep`` is unused)."""
    c, h, w = catalog.get(request.artifact).metadata.image_shape
    if request.task == "cs":
        n = c * h * w
        m = measurements_from_options({"ratio": request.ratio}, n)
        if m < MIN_MEASUREMENTS:
            raise UserInputError(
                f"ratio {request.ratio:g} gives {m} of the {n} values of this artifact's "
                f"images; at least {MIN_MEASUREMENTS} measurements are needed (ratio ≥ "
                f"{_ceil_2_digits(MIN_MEASUREMENTS / n):g})")
    if request.task == "inpaint" and not painted:
        kept = max(1, round(request.keep * h * w))  # as the random mask draws it
        if kept * c < MIN_MEASUREMENTS:
            raise UserInputError(
                f"keep {request.keep:g} keeps {kept} of the {h * w} pixels of this artifact's "
                f"images; at least {math.ceil(MIN_MEASUREMENTS / c)} are needed (keep ≥ "
                f"{_ceil_2_digits(math.ceil(MIN_MEASUREMENTS / c) / (h * w)):g})")


# --- the classical answer ---------------------------------------------------------------


def classical_label(task: str) -> str:
    """The classical column's caption, e.g. ``classical: bicubic``."""
    from gs.methods.classical import classical_name

    return f"classical: {classical_name(task)}"


def classical_recovery(problem: Problem, seed: int = 0) -> np.ndarray:
    """The task's classical answer to ``problem``: (C, H, W) float32 in [0, 1], from the
    method registry's ``classical`` (the same answer gs-baseline and the experiments give)."""
    from gs.methods import build_method

    method = build_method("classical", task=problem.operator.task)
    return method.solve([problem], seed=seed)[0].image


# --- the columns of a job ---------------------------------------------------------------


@dataclass
class Column:
    """One generator recovery of a job: which artifact, its label, its settings' schedule."""

    key: str
    label: str
    served: ServedArtifact


def columns(request: PageRequest, catalog: Catalog) -> list[Column]:
    """The generator columns: no surgery first (when asked and available), then the chosen."""
    chosen = catalog.get(request.artifact)
    out = []
    partner = catalog.no_surgery_partner(chosen) if request.compare else None
    if partner is not None:
        out.append(Column("no_surgery", column_label(0), partner))
    out.append(Column("surgery", column_label(chosen.metadata.cut), chosen))
    return out


def column_method(column: Column, request: PageRequest) -> Method:
    """The column's method: surgery on its artifact with the recommended settings for the
    task and the request's overrides, or no surgery (the uncut generator's own image)."""
    settings = column.served.metadata.settings_for(request.task).override(
        steps=request.steps, restarts=request.restarts)
    method = NoSurgery if column.key == "no_surgery" else Surgery
    return method(column.served.artifact, task=request.task, settings=settings)


def column_settings(column: Column, request: PageRequest) -> Any:
    """The settings the column's method runs with."""
    return column_method(column, request).settings


def column_plan(request: PageRequest, catalog: Catalog) -> list[dict[str, Any]]:
    """What a job will show, in order: ``key``, ``label`` and ``schedule`` (the cut of each
    stage; empty for the classical column)."""
    plan = []
    if request.classical and classical_available(request.task):
        plan.append({"key": "classical", "label": classical_label(request.task), "schedule": []})
    for col in columns(request, catalog):
        schedule = list(column_settings(col, request).schedule) or [col.served.metadata.cut]
        plan.append({"key": col.key, "label": col.label, "schedule": schedule})
    return plan


def prepare_inputs(folder: Path, upload: Path, mask_upload: Path | None,
                   image_shape: tuple[int, int, int]) -> tuple[Path, Path | None]:
    """Write the job's truth (center crop resized to the artifact) and its mask.

    Returns the image ``run_job`` reads (the truth, or the masked photo when a
    mask was painted) and the mask file (white = kept) or None.
    """
    c, h, w = image_shape
    truth = resize_image(read_image(upload, "image", channels=c), (h, w))
    write_image(folder / "truth.png", truth)
    if mask_upload is None:
        return folder / "truth.png", None
    keep = resize_image(read_image(mask_upload, "mask", channels=1), (h, w))[0] > 0.5
    if not keep.any():
        raise UserInputError("mask hides every pixel; leave some of the photo unpainted")
    write_image(folder / "mask.png", keep[None].astype(np.float32))
    truth = read_image(folder / "truth.png", "image", channels=c)
    write_image(folder / "observed.png", truth * keep[None])
    return folder / "observed.png", folder / "mask.png"


@dataclass
class PageSetup:
    """A job's inputs once written: its generator columns and their inversion jobs, the
    truth (C, H, W) in [0, 1] and the problem (operator, y) every column solves."""

    columns: list[Column]
    jobs: dict[str, InversionJob]
    truth: np.ndarray
    problem: Problem
    painted: bool


def set_up(folder: Path, request: PageRequest, catalog: Catalog, upload: Path,
           mask_upload: Path | None) -> PageSetup:
    """Write the truth (and mask) into ``folder`` and build every column's job and the problem."""
    cols = columns(request, catalog)
    image_shape = tuple(cols[-1].served.metadata.image_shape)
    source, mask = prepare_inputs(folder, upload, mask_upload, image_shape)
    if get_task(request.task).observation == "masked" and mask is not None:
        options = OperatorOptions(task=request.task, noise_std=request.noise_std)
        simulate_mode = False
    else:
        options, simulate_mode = request.options(), True
    jobs = {col.key: InversionJob(
        artifact=col.served.artifact.path, images=(source,), output_dir=folder / col.key,
        operator=options, settings=column_settings(col, request), seed=request.seed,
        simulate=simulate_mode, mask=mask, report=folder / f"{col.key}.json") for col in cols}
    first = jobs[cols[0].key]
    problem = load_problems(first, image_shape, list_inputs(first))[0]
    truth = read_image(folder / "truth.png", "image", channels=image_shape[0])
    return PageSetup(cols, jobs, truth, problem, mask is not None)


def preview(folder: Path, request: PageRequest, catalog: Catalog, upload: Path,
            mask_upload: Path | None) -> dict[str, Any]:
    """What a job would start from: the truth at the artifact's size and the observation.

    Returns ``image_shape``, ``observation`` (its caption) and PNG bytes ``truth_png``
    and ``observation_png`` (the operator's preview of y, exactly what the job observes).
    """
    setup = set_up(folder, request, catalog, upload, mask_upload)
    operator = setup.problem.operator
    return {"image_shape": list(operator.image_shape), "observation": operator.describe(),
            "truth_png": encode_image(setup.truth),
            "observation_png": encode_image(operator.preview(setup.problem.y))}


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
    """Run a page job inside ``folder``; return its report (also ``report.json``).

    ``on_step(column_key, StepEvent)`` sees every optimisation step (raising in
    it cancels the job); ``on_column(key)`` is called when a column starts.
    Writes ``truth.png``, ``observation.png``, ``classical.png``, ``<column>/…png``,
    ``compare.png`` (truth, observation and every column, as ``gs-invert --compare``
    draws it) and ``report.json``.
    """
    setup = set_up(folder, request, catalog, upload, mask_upload)
    truth, problem = setup.truth, setup.problem
    image_shape = tuple(truth.shape)
    write_image(folder / "observation.png", problem.operator.preview(problem.y))
    entries: list[dict[str, Any]] = []
    recoveries = []
    if request.classical and classical_available(request.task):
        on_column("classical")
        start = time.perf_counter()
        image = classical_recovery(problem, request.seed)
        write_image(folder / "classical.png", image)
        shown = read_image(folder / "classical.png", "classical", channels=image_shape[0])
        recoveries.append((classical_label(request.task), shown,
                           (psnr(image, truth), ssim(image, truth))))
        entries.append({"key": "classical", "label": classical_label(request.task),
                        "method": classical_label(request.task).split(": ", 1)[1],
                        "artifact": None, "cut": None,
                        "psnr": psnr(image, truth), "ssim": ssim(image, truth),
                        "seconds": time.perf_counter() - start, "job": None})
    for col in setup.columns:
        on_column(col.key)
        start = time.perf_counter()
        report = run_job(setup.jobs[col.key], col.served.artifact,
                         method=column_method(col, request),
                         on_step=lambda event, key=col.key: on_step(key, event))
        entry = report.images[0]
        if entry.get("failure"):
            raise UserInputError(f"{col.label} could not recover this image: {entry['failure']}")
        image = read_image(entry["output"], "output", channels=image_shape[0])
        score = ((entry["psnr"], entry["ssim"]) if entry["psnr"] is not None
                 else (psnr(image, truth), ssim(image, truth)))
        recoveries.append((col.label, image, score))
        details = entry.get("details", {})
        entries.append({"key": col.key, "label": col.label, "method": "gs",
                        "artifact": col.served.id, "cut": col.served.metadata.cut,
                        "answer": details.get("answer"), "weight": details.get("weight"),
                        "psnr": score[0], "ssim": score[1],
                        "seconds": time.perf_counter() - start, "job": report.to_json()})
    write_image(folder / "compare.png",
                comparison_picture(truth, problem.operator, problem.y, recoveries))
    summary = {
        "request": asdict(request),
        "observation": problem.operator.describe(),
        "mask": "painted" if setup.painted else None,
        "image_shape": list(image_shape),
        "columns": entries,
        "best": best_columns(entries),
    }
    write_json(folder / "report.json", summary)
    return summary
