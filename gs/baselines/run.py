"""Run one method over a job's images, like :func:`gs.jobs.run_job` runs surgery.

The job is gs.jobs' own request object: its images are expanded, its outputs checked
and its problems built by gs.jobs (same operator, mask and noise per image and seed
as gs-invert); recoveries and the report are written by gs.io in gs-invert's format,
its ``settings`` holding ``method`` and the method's settings.
"""

from __future__ import annotations

from typing import Any

from gs.baselines.base import Method
from gs.io import write_image, write_json
from gs.jobs import InversionJob, JobReport, load_problems, plan_job, report_entry, result_failure
from gs.settings import InversionSettings


def run_method(method: Method, job: InversionJob, image_shape: tuple[int, int, int]
               ) -> JobReport:
    """Recover every image of ``job`` with ``method``; write the outputs and the report.

    Args:
        method: a built method (:func:`gs.baselines.get_method`).
        job: the request; ``job.artifact`` names the prior's file for the report (the
            artifact or the weights; the method name for methods without one);
            ``resume`` and ``save_measurements`` are gs-invert's and not used here.
        image_shape: (C, H, W) the method recovers; ground truth is resized to it.

    Raises:
        UserInputError: a bad input or an existing output, before anything is written.
    """
    # Settings only serve resuming, which baselines do not offer.
    plan = plan_job(job, InversionSettings())
    problems = load_problems(job, image_shape, plan.todo)
    results = method.solve(problems, seed=job.seed)
    report = JobReport(str(job.artifact), job.operator.task, job.seed,
                       {"method": method.name, **_settings_json(method)}, job=job.describe())
    outputs = {item.index: item.output for item in plan.inputs}
    for problem, result in zip(problems, results):
        out = outputs[problem.index]
        failure = result_failure(result)
        if failure is None:
            write_image(out, result.image, overwrite=job.overwrite)
        entry = report_entry(problem, result, None if failure else out, failure, None)
        entry["details"] = result.details
        report.images.append(entry)
    if job.report is not None:
        write_json(job.report, report.to_json(), overwrite=job.overwrite)
    return report


def _settings_json(method: Method) -> dict[str, Any]:
    settings = getattr(method, "settings", None)
    return {} if settings is None else settings.to_json()
