"""Run one method over a folder's worth of images, like :func:`gs.jobs.run_job`.

Problems are built by gs.jobs (same operator, mask and noise per image and seed as
gs-invert), recoveries and the report are written by gs.io, and the report has
gs-invert's format; its ``settings`` hold ``method`` and the method's settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gs.baselines.base import Method
from gs.io import write_image, write_json
from gs.jobs import JobReport, OperatorOptions, check_outputs, load_problems, report_entry


def run_method(
    method: Method,
    images: Sequence[str | Path],
    options: OperatorOptions,
    image_shape: tuple[int, int, int],
    out_dir: str | Path,
    *,
    simulate_mode: bool,
    seed: int = 0,
    mask: str | Path | None = None,
    source: str = "",
    report_path: str | Path | None = None,
    overwrite: bool = False,
) -> JobReport:
    """Recover every image with ``method``; write ``out_dir/<stem>.png`` and the report.

    Args:
        method: a built method (:func:`gs.baselines.get_method`).
        images: ground-truth images (``simulate_mode``) or observations.
        options: the forward model (task flags).
        image_shape: (C, H, W) the method recovers; ground truth is resized to it.
        source: what the report's ``artifact`` field names (artifact or weights path).

    Nothing is written before every input has been read and every output checked.
    """
    outputs = check_outputs(images, out_dir, report_path, overwrite)
    problems = load_problems(image_shape, images, options, simulate_mode=simulate_mode,
                             seed=seed, mask=mask)
    results = method.solve(problems, seed=seed)
    settings = {"method": method.name, **_settings_json(method)}
    report = JobReport(source, options.task, seed, settings)
    for problem, result in zip(problems, results):
        out = outputs[problem.index]
        write_image(out, result.image, overwrite=overwrite)
        entry = report_entry(problem, result, out)
        entry["details"] = result.details
        report.images.append(entry)
    if report_path is not None:
        write_json(report_path, report.to_json(), overwrite=overwrite)
    return report


def _settings_json(method: Method) -> dict:
    settings = getattr(method, "settings", None)
    return {} if settings is None else settings.to_json()
