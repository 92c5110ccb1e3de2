"""Running a job: its problems through a method, outputs and report written as each ends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gs.artifacts import Artifact, load
from gs.io import write_image, write_json
from gs.jobs.inputs import load_problems, measurement_path, save_measurements, saves_measurements
from gs.jobs.report import (
    JobReport,
    PreparedJob,
    method_settings,
    new_report,
    prepare_job,
    report_entry,
)
from gs.jobs.request import InversionJob
from gs.problems import Problem
from gs.results import result_failure

ProgressCallback = Callable[[dict[str, Any]], None]


def surgery_for(job: InversionJob, artifact: Artifact) -> Any:
    """The method ``gs-invert`` runs: surgery on ``artifact`` with the job's settings (or
    the artifact's recommendation for the task) and init."""
    from gs.methods.surgery import Surgery

    return Surgery(artifact, task=job.operator.task, settings=job.settings, init=job.init)


def solve_problems(
    method: Any,
    job: InversionJob,
    problems: Sequence[Problem],
    outputs: dict[int, Path],
    *,
    on_entry: ProgressCallback | None = None,
    on_step: Callable[..., Any] | None = None,
    on_image: Callable[[int, np.ndarray], Any] | None = None,
) -> list[dict[str, Any]]:
    """Recover ``problems`` in batches of ``job.batch_size``; write each recovery as it ends.

    ``outputs[index]`` is where image ``index`` goes. ``on_image(index, image)`` is
    called with each recovered (C, H, W) float32 image in [0, 1] once it is written (not
    for a failed image); ``on_entry(entry)`` after each image's outputs are written, with
    its report entry.
    """
    replace = job.overwrite or job.resume
    entries = []
    for start in range(0, len(problems), job.batch_size):
        batch = problems[start : start + job.batch_size]
        for problem, result in zip(batch, method.solve(batch, seed=job.seed, on_step=on_step)):
            out = outputs[problem.index]
            failure = result_failure(result)
            measurements = None
            if failure is None:
                write_image(out, result.image, overwrite=replace)
                if on_image is not None:
                    on_image(problem.index, result.image)
                if saves_measurements(job) and problem.truth is not None:
                    saved = measurement_path(out, job.operator.task)
                    measurements = save_measurements(saved, problem, job.seed,
                                                     replace)
            entry = report_entry(problem, result, None if failure else out, failure,
                                 measurements)
            entries.append(entry)
            if on_entry is not None:
                on_entry(entry)
    return entries


def run_job(
    job: InversionJob,
    artifact: Artifact | None = None,
    *,
    method: Any = None,
    image_shape: tuple[int, int, int] | None = None,
    progress: ProgressCallback | None = None,
    on_step: Callable[..., Any] | None = None,
    prepared: PreparedJob | None = None,
) -> JobReport:
    """Recover every image of ``job``; write its outputs and report as each image ends.

    Args:
        job: the request.
        artifact: the loaded artifact; ``None`` loads ``job.artifact`` on ``job.device``
            (when ``method`` is None or needs one).
        method: a :class:`gs.methods.Method`; None runs surgery (what gs-invert runs:
            :func:`surgery_for`).
        image_shape: (C, H, W) the method recovers when no artifact gives it (methods
            without a generator); ground truth is resized to it.
        progress: called with each image's report entry once its files are written;
            an exception raised there stops the job (an app's cancel button), with
            every finished image written and recorded.
        on_step: passed to the method (surgery reports every optimisation step).
        prepared: what :func:`prepare_job` returned for this job and method, where the
            caller checked the outputs before other work; None prepares it here.

    Returns:
        The report; ``report.failed`` lists images no restart could recover, and
        ``report.recoveries`` holds the images recovered by this call.

    Raises:
        UserInputError: a bad input or an existing output; raised before anything is
            written, since every input is read and every output checked first.
    """
    if artifact is None and (method is None or image_shape is None):
        artifact = load(job.artifact, job.device)
    if method is None:
        method = surgery_for(job, artifact)
    shape = tuple(artifact.metadata.image_shape) if image_shape is None else tuple(image_shape)
    if prepared is None:
        prepared = prepare_job(job, method_settings(method))
    problems = load_problems(job, shape, prepared.todo)
    report = new_report(job, method)
    entries = dict(prepared.done)

    def record(entry: dict[str, Any]) -> None:
        entries[entry["index"]] = entry
        report.images = [entries[i] for i in sorted(entries)]
        if job.report is not None:
            write_json(job.report, report.to_json(), overwrite=True)
        if progress is not None:
            progress(entry)

    report.images = [entries[i] for i in sorted(entries)]
    if job.report is not None:  # before any output: see prepare_job
        write_json(job.report, report.to_json(), overwrite=True)
    outputs = {item.index: item.output for item in prepared.inputs}
    solve_problems(method, job, problems, outputs, on_entry=record, on_step=on_step,
                   on_image=report.recoveries.__setitem__)
    return report
