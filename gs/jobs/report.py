"""A job's report: one entry per image, rewritten after every image, and resuming from it.

Outputs are written atomically, the report after every image, so an interrupted job
leaves only complete files and a report of what is done; ``resume`` then skips those
images. An image no method could answer (every restart diverged) gets a report entry
with its ``failure`` and no output file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gs.errors import UserInputError
from gs.io import check_writable
from gs.jobs.inputs import JobInput, list_inputs, measurement_path, saves_measurements
from gs.jobs.request import InversionJob
from gs.metrics import psnr, ssim
from gs.problems import Problem
from gs.results import Recovery


@dataclass
class JobReport:
    """What ``report`` holds: the job, its settings and one entry per image done.

    ``recoveries`` keeps, by image index, the (C, H, W) float32 images in [0, 1] this run
    recovered (in memory only, never in the report file): pictures drawn after the run
    (``--compare``) use them instead of reading back the PNGs just written. Images a
    resumed report records as done are not in it.
    """

    artifact: str | None
    task: str
    seed: int
    settings: dict[str, Any]
    images: list[dict[str, Any]] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)
    method: str = "surgery"
    recoveries: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Entries of images that could not be recovered (every restart diverged)."""
        return [entry for entry in self.images if entry.get("failure")]

    def to_json(self) -> dict[str, Any]:
        return {"artifact": self.artifact, "method": self.method, "task": self.task,
                "seed": self.seed, "settings": self.settings, "job": self.job,
                "images": self.images}


@dataclass
class PreparedJob:
    """The inputs of a job, which of them are still to do, and the entries already done."""

    inputs: list[JobInput]
    todo: list[JobInput]
    done: dict[int, dict[str, Any]]


def prepare_job(job: InversionJob, settings: dict[str, Any]) -> PreparedJob:
    """Expand the images, read a resumed report, check every output before any work.

    ``settings`` are the method's (JSON), which a resumed report must have recorded.

    Raises:
        UserInputError: an input is missing, an output exists (without ``overwrite``;
            under ``resume`` with an existing report, outputs of images it does not
            record as done are replaced), or the resumed report is another job's.
    """
    inputs = list_inputs(job)
    done = _resumed_entries(job, settings, inputs) if job.resume else {}
    todo = [item for item in inputs if item.index not in done]
    # run_job writes the report before any output, so under resume an existing report
    # means the outputs of the images it does not list as done are this job's own.
    if not (job.resume and job.report is not None and job.report.exists()):
        for item in todo:
            check_writable(item.output, job.overwrite, "output_dir")
            if saves_measurements(job):
                check_writable(measurement_path(item.output, job.operator.task), job.overwrite,
                               "output_dir")
        if job.report is not None:
            check_writable(job.report, job.overwrite, "report")
    return PreparedJob(inputs, todo, done)


def _resumed_entries(job: InversionJob, settings: dict[str, Any],
                     inputs: Sequence[JobInput]) -> dict[int, dict[str, Any]]:
    """Entries of ``job.report`` whose image is done: recorded, outputs present."""
    if job.report is None or not job.report.exists():
        return {}
    try:
        data = json.loads(job.report.read_text())
        entries = data["images"]
        recorded_job, recorded_settings = data["job"], data["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UserInputError("is not a gs-invert report to resume from", field="report",
                             value=job.report) from None
    if recorded_job != job.describe() or recorded_settings != settings:
        raise UserInputError("was written by a job with other options or settings; resume with "
                             "the same ones, or start over with {overwrite}", field="report",
                             value=job.report, refs=("overwrite",))
    by_index = {item.index: item for item in inputs}
    done = {}
    for entry in entries:
        item = by_index.get(entry.get("index")) if isinstance(entry, dict) else None
        if item is None or entry.get("path") != str(item.path):
            continue
        if entry.get("failure") or _outputs_present(job, item, entry):
            done[item.index] = entry
    return done


def _outputs_present(job: InversionJob, item: JobInput, entry: dict[str, Any]) -> bool:
    if entry.get("output") != str(item.output) or not item.output.is_file():
        return False
    return (not saves_measurements(job)
            or measurement_path(item.output, job.operator.task).is_file())


def new_report(job: InversionJob, method: Any) -> JobReport:
    """An empty report of ``job`` run with ``method`` (a :class:`gs.methods.Method`)."""
    return JobReport(None if job.artifact is None else str(job.artifact), job.operator.task,
                     job.seed, method_settings(method), job=job.describe(), method=method.name)


def method_settings(method: Any) -> dict[str, Any]:
    """The settings a report records for ``method`` (JSON; empty when it has none)."""
    return {} if method.settings is None else method.settings.to_json()


def _finite(value: float | None) -> float | None:
    """A float for JSON, or ``None`` when it is missing, NaN or infinite."""
    return None if value is None or not math.isfinite(value) else float(value)


def report_entry(problem: Problem, result: Recovery, out: Path | None,
                 failure: str | None, measurements: Path | None) -> dict[str, Any]:
    """The report's record of one image and of the method's ``details`` for it."""
    truth = problem.truth
    scored = truth is not None and failure is None
    return {
        "index": problem.index,
        "path": str(problem.path),
        "output": None if out is None else str(out),
        "failure": failure,
        "psnr": _finite(psnr(result.image, truth)) if scored else None,
        "ssim": _finite(ssim(result.image, truth)) if scored else None,
        "measurement_loss": _finite(result.measurement_loss),
        "restart": result.restart,
        "seconds": result.seconds,
        "stage_seconds": result.stage_seconds,
        "evaluations": result.evaluations,
        "total_evaluations": result.total_evaluations,
        "measurements": None if measurements is None else str(measurements),
        "stages": [{key: _finite(value) if isinstance(value, float) else value
                    for key, value in vars(stage).items()} for stage in result.stages],
        "details": result.details,
    }
