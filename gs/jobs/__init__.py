"""A whole job: images in, recoveries and a report out.

One request object, :class:`InversionJob`, says everything about a job; ``gs-invert``
and ``gs-baseline`` only parse flags into it. Apps call :func:`run_job` (one process)
or :func:`gs.distributed.run_sharded` (many devices) with it, or a method's ``solve``
(:mod:`gs.methods`) for problems already in memory.

* :mod:`~gs.jobs.request`: :class:`InversionJob`.
* :mod:`~gs.jobs.inputs`: the job's images, read into problems (simulated or observed).
* :mod:`~gs.jobs.report`: the report, one entry per image, and resuming from it.
* :mod:`~gs.jobs.run`: the batch loop through a method, outputs written as each ends.
"""

from gs.jobs.inputs import (
    MEASUREMENT_SUFFIX,
    MIN_TRUTH_SIDE,
    JobInput,
    expand_images,
    list_inputs,
    load_problems,
    measurement_path,
    observed_problem,
    read_truth,
)
from gs.jobs.report import (
    JobReport,
    PreparedJob,
    method_settings,
    new_report,
    prepare_job,
    report_entry,
)
from gs.jobs.request import JOB_PARAMS, InversionJob
from gs.jobs.run import ProgressCallback, run_job, solve_problems, surgery_for
from gs.problems import OperatorOptions, Problem, build_operator, simulated_problem

__all__ = [
    "JOB_PARAMS", "MEASUREMENT_SUFFIX", "MIN_TRUTH_SIDE", "InversionJob", "JobInput", "JobReport",
    "OperatorOptions", "PreparedJob", "Problem", "ProgressCallback", "build_operator",
    "expand_images", "list_inputs", "load_problems", "measurement_path", "method_settings",
    "new_report",
    "observed_problem", "prepare_job", "read_truth", "report_entry", "run_job",
    "simulated_problem", "solve_problems", "surgery_for",
]
