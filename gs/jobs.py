"""A whole inversion job: images in, recoveries and a report out.

One request object, :class:`InversionJob`, says everything about a job; ``gs-invert``
only parses flags into it. Apps call :func:`run_job` (one process) or
:func:`gs.distributed.run_sharded` (many devices) with it, or
:func:`gs.invert.invert` for arrays already in memory.

Two modes:
  * simulate: each image is ground truth; it is degraded with the operator of
    its index (seeded), recovered, and scored (PSNR/SSIM).
  * observation: each image is what was observed: a low-resolution image
    (``sr``), an image plus a mask (``inpaint``), a noisy image (``denoise``),
    or a ``.npz`` with ``y`` and the operator's spec and seed (``cs``).

``images`` may name files and folders; a folder means every image file below it
(recursively, sorted), and its layout is kept under ``output_dir``. The index of
an image, which seeds its problem, is its position in that expanded list, so a
resumed or sharded run draws the same problems.

Outputs are written atomically, the report after every image, so an interrupted
job leaves only complete files and a report of what is done; ``resume`` then
skips those images. An image whose every restart diverged (NaN/Inf) gets a
report entry with its ``failure`` and no output file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from gs.artifacts import Artifact, load
from gs.errors import UserInputError
from gs.invert import InversionResult, invert, simulate
from gs.io import (
    IMAGE_SUFFIXES,
    check_writable,
    read_image,
    resize_image,
    write_image,
    write_json,
    write_npz,
)
from gs.latent import InitSpec
from gs.metrics import psnr, ssim
from gs.operators import (
    OPTIONS,
    Operator,
    get_task,
    make_operator,
    operator_from_spec,
)
from gs.results import failure_of
from gs.seeding import Stream, problem_rng
from gs.settings import InversionSettings

MIN_TRUTH_SIDE = 8
"""Ground-truth images (``simulate``) with a side under this many pixels are refused."""

MEASUREMENT_SUFFIX = ".npz"


class OperatorOptions:
    """The forward model of a job: a registered task, its operator and factory options.

    ``OperatorOptions(task="cs", ratio=0.1)``: ``task`` and ``operator`` name an entry
    of the task registry (:mod:`gs.operators.registry`; ``operator=None`` lets the task
    choose), the keywords are its factory options (:data:`gs.operators.OPTIONS`:
    ``measurements``, ``ratio``, ``rounds``, ``keep``, ``scale``, ``method``,
    ``noise_std``). An option left out or ``None`` takes the task's default. Reading an
    option as an attribute gives its value or ``None``. Immutable and picklable.
    """

    __slots__ = ("task", "operator", "values")

    def __init__(self, task: str = "cs", operator: str | None = None, **values: Any) -> None:
        get_task(task)  # refuses an unknown task, naming the field
        unknown = sorted(set(values) - set(OPTIONS))
        if unknown:
            raise UserInputError(f"is not an operator option; expected one of "
                                 f"{', '.join(OPTIONS)}", field=unknown[0])
        object.__setattr__(self, "task", task)
        object.__setattr__(self, "operator", operator)
        object.__setattr__(self, "values",
                           MappingProxyType({k: v for k, v in values.items() if v is not None}))

    def __getattr__(self, name: str) -> Any:
        if name in OPTIONS:
            return self.values.get(name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("OperatorOptions is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OperatorOptions) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))

    def __repr__(self) -> str:
        values = "".join(f", {k}={v!r}" for k, v in self.values.items())
        return f"OperatorOptions(task={self.task!r}, operator={self.operator!r}{values})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_operator_options, (self.task, self.operator, dict(self.values)))

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "operator": self.operator, **self.values}


def _operator_options(task: str, operator: str | None, values: dict[str, Any]) -> OperatorOptions:
    return OperatorOptions(task, operator, **values)


@dataclass(frozen=True)
class InversionJob:
    """Everything that defines an inversion job; frozen, picklable, JSON-describable.

    Attributes:
        artifact: the cut-generator file (``.pt``) from ``gs-export``.
        images: files and folders (see the module docstring); observation ``cs``
            jobs take ``.npz`` measurement files.
        output_dir: recovered images go to ``output_dir/<relative path>.png``.
        operator: task and forward-model options.
        settings: optimiser settings; ``None`` takes the artifact's recommendation
            for the task.
        init: overrides every input's initial distribution.
        seed: with each image's index, seeds operator, noise and initial latents (≥ 0).
        simulate: ``images`` are ground truth to degrade, recover and score.
        mask: inpainting observation: the mask image (white = kept pixel).
        batch_size: images optimised together, each with all its restarts (≥ 1).
        report: JSON report path, rewritten after every image.
        overwrite: replace existing outputs; without it an existing file is an error.
        save_measurements: simulate + cs: also write ``<output>.npz`` observations.
        resume: continue a job whose ``report`` exists: skip the images it records
            as done (output present), redo the rest.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
    """

    artifact: Path
    images: tuple[Path, ...]
    output_dir: Path
    operator: OperatorOptions = field(default_factory=OperatorOptions)
    settings: InversionSettings | None = None
    init: InitSpec | None = None
    seed: int = 0
    simulate: bool = False
    mask: Path | None = None
    batch_size: int = 16
    report: Path | None = None
    overwrite: bool = False
    save_measurements: bool = False
    resume: bool = False
    device: str = "auto"

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # normalise paths once; the object stays frozen
        set_(self, "artifact", Path(self.artifact))
        if isinstance(self.images, str | Path):
            set_(self, "images", (self.images,))
        set_(self, "images", tuple(Path(p) for p in self.images))
        set_(self, "output_dir", Path(self.output_dir))
        for name in ("mask", "report"):
            if getattr(self, name) is not None:
                set_(self, name, Path(getattr(self, name)))
        if not self.images:
            raise UserInputError("must name at least one image file or folder", field="images")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UserInputError(f"must be a non-negative integer, got {self.seed!r}",
                                 field="seed")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or (
                self.batch_size < 1):
            raise UserInputError(f"must be an integer of at least 1, got {self.batch_size!r}",
                                 field="batch_size")
        if self.resume and self.report is None:
            raise UserInputError("needs {report}: the report records which images are done",
                                 field="resume", refs=("report",))
        if self.resume and self.overwrite:
            raise UserInputError("cannot be combined with {overwrite}, which starts over",
                                 field="resume", refs=("overwrite",))

    def settings_for(self, artifact: Artifact) -> InversionSettings:
        """The settings this job runs with on ``artifact``."""
        return self.settings or artifact.metadata.settings_for(self.operator.task)

    def describe(self) -> dict[str, Any]:
        """What identifies the problems of this job (a resumed report must agree)."""
        return {"task": self.operator.task, "seed": self.seed, "simulate": self.simulate,
                "operator": self.operator.to_json(),
                "init": None if self.init is None else self.init.to_json(),
                "mask": None if self.mask is None else str(self.mask)}


@dataclass(frozen=True)
class JobInput:
    """One image of a job: its index (position in the expanded list), file and output path."""

    index: int
    path: Path
    output: Path


@dataclass
class Problem:
    """One image of a job: its operator, observation and (in simulate mode) truth."""

    path: Path
    index: int
    operator: Operator
    y: np.ndarray
    truth: np.ndarray | None = None


@dataclass
class JobReport:
    """What ``report`` holds: the job, its settings and one entry per image done."""

    artifact: str
    task: str
    seed: int
    settings: dict[str, Any]
    images: list[dict[str, Any]] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Entries of images that could not be recovered (every restart diverged)."""
        return [entry for entry in self.images if entry.get("failure")]

    def to_json(self) -> dict[str, Any]:
        return {"artifact": self.artifact, "task": self.task, "seed": self.seed,
                "settings": self.settings, "job": self.job, "images": self.images}


# --- the images of a job ---------------------------------------------------------------


def input_suffixes(job: InversionJob) -> tuple[str, ...]:
    """File suffixes a folder contributes: measurement files for a task observed as
    measurements (compressed sensing), else images."""
    if get_task(job.operator.task).observation == "measurements" and not job.simulate:
        return (MEASUREMENT_SUFFIX,)
    return IMAGE_SUFFIXES


def expand_images(images: Sequence[str | Path], suffixes: Sequence[str] = IMAGE_SUFFIXES
                  ) -> list[tuple[Path, Path]]:
    """(file, output path relative to the output folder, without suffix) per input.

    A file stands for itself (output ``<stem>``); a folder for every file below it
    with one of ``suffixes`` (case-insensitive), sorted by relative path, its
    layout kept (``sub/<stem>``). Hidden files and folders (``.name``: editor and
    macOS ``._`` files, temporary files) are skipped. A missing path or an empty folder
    is refused.
    """
    found: list[tuple[Path, Path]] = []
    for item in map(Path, images):
        if item.is_dir():
            files = sorted((p for p in item.rglob("*")
                            if p.is_file() and p.suffix.lower() in suffixes
                            and not _hidden(p.relative_to(item))),
                           key=lambda p: p.relative_to(item).as_posix())
            if not files:
                raise UserInputError(f"is a folder with no {'/'.join(suffixes)} files",
                                     field="images", value=item)
            found += [(p, p.relative_to(item).with_suffix("")) for p in files]
        elif item.is_file():
            found.append((item, Path(item.stem)))
        else:
            raise UserInputError("does not exist", field="images", value=item)
    return found


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def plan_inputs(job: InversionJob) -> list[JobInput]:
    """Every image of ``job`` with its index and output path (names made unique)."""
    seen: dict[Path, int] = {}
    inputs = []
    for index, (path, relative) in enumerate(expand_images(job.images, input_suffixes(job))):
        seen[relative] = seen.get(relative, 0) + 1
        if seen[relative] > 1:
            relative = relative.with_name(f"{relative.name}_{seen[relative]}")
        inputs.append(JobInput(index, path, job.output_dir / f"{relative}.png"))
    return inputs


def measurement_path(output: Path) -> Path:
    """Where ``save_measurements`` writes the observation of the image recovered to ``output``."""
    return output.with_suffix(MEASUREMENT_SUFFIX)


# --- reading the problems ---------------------------------------------------------------


def build_operator(options: OperatorOptions, image_shape: tuple[int, int, int], seed: int,
                   index: int) -> Operator:
    """The operator of image ``index``: random parts drawn from (seed, index, OPERATOR)."""
    return make_operator(options.task, image_shape, problem_rng(seed, index, Stream.OPERATOR),
                         operator=options.operator, **options.values)


def simulated_problem(path: Path, index: int, image: np.ndarray, options: OperatorOptions,
                      seed: int) -> Problem:
    """Degrade a ground-truth (C, H, W) image with its seeded operator and noise."""
    operator = build_operator(options, image.shape, seed, index)
    y = simulate(image, operator, problem_rng(seed, index, Stream.NOISE))
    return Problem(path, index, operator, y, truth=image)


def read_truth(path: Path, image_shape: tuple[int, int, int]) -> np.ndarray:
    """A ground-truth image fitted to the artifact: center-crop and resize (notice on stderr)."""
    image = read_image(path, "image", channels=image_shape[0])
    if min(image.shape[1:]) < MIN_TRUTH_SIDE:
        raise UserInputError(
            f"is {image.shape[2]}x{image.shape[1]} pixels; a ground-truth image needs at least "
            f"{MIN_TRUTH_SIDE} pixels on each side", field="image", value=path)
    return resize_image(image, image_shape[1:], path)


def observed_problem(path: Path, index: int, job: InversionJob,
                     image_shape: tuple[int, int, int]) -> Problem:
    """Read what was observed for one image (see the module docstring)."""
    options = job.operator
    c, h, w = image_shape
    observation = get_task(options.task).observation
    if observation == "measurements":
        return _read_measurements(path, index, image_shape)
    observed = read_image(path, "image", channels=c)
    # an "image" observation has the operator's measurement shape (smaller for SR)
    operator = build_operator(options, image_shape, job.seed, index) if (
        observation == "image") else None
    expected = tuple(image_shape) if operator is None else tuple(operator.measurement_shape)
    if observed.shape != expected:
        got = f"is {observed.shape[2]}x{observed.shape[1]} pixels"
        if expected == tuple(image_shape):
            raise UserInputError(f"{got} with {observed.shape[0]} channels; the artifact "
                                 f"expects {w}x{h} with {c}", field="image", value=path)
        raise UserInputError(f"{got}; a {operator.describe()} observation for this artifact "
                             f"must be {expected[2]}x{expected[1]}", field="image", value=path)
    if operator is not None:
        return Problem(path, index, operator, observed)
    if job.mask is None:  # a "masked" observation: the kept pixels are given by a mask
        raise UserInputError("is required to inpaint an observed image", field="mask")
    keep = read_image(job.mask, "mask", channels=1)[0] > 0.5
    if keep.shape != (h, w):
        raise UserInputError(f"must be {w}x{h} pixels like the artifact", field="mask",
                             value=job.mask)
    noise = 0.0 if options.noise_std is None else options.noise_std
    masked = get_task(options.task).operator_class(options.operator)  # has from_mask
    operator = masked.from_mask(keep, image_shape, noise_std=noise)
    return Problem(path, index, operator, operator.A(observed[None])[0])


def _read_measurements(path: Path, index: int, image_shape: tuple[int, int, int]) -> Problem:
    def refuse(problem: str) -> UserInputError:
        return UserInputError(problem, field="image", value=path)

    if path.suffix.lower() != MEASUREMENT_SUFFIX or not path.is_file():
        raise refuse("must be an existing .npz with y, spec and seed for cs")
    try:
        with np.load(path, allow_pickle=False) as data:
            y = np.asarray(data["y"], dtype=np.float32)
            spec = json.loads(str(data["spec"]))
            seed, stored_index = int(data["seed"]), int(data["index"])
        operator = operator_from_spec(spec, problem_rng(seed, stored_index, Stream.OPERATOR))
    except UserInputError as exc:
        raise refuse(f"is not a gs measurement file ({exc})") from None
    except Exception:  # noqa: BLE001 - numpy/zip/json decoders on a hostile file
        raise refuse("is not a gs measurement file (y, spec, seed, index)") from None
    if tuple(operator.image_shape) != tuple(image_shape):
        raise refuse(f"was measured for images of shape {operator.image_shape}, the artifact "
                     f"makes {tuple(image_shape)}")
    if y.shape != tuple(operator.measurement_shape):
        raise refuse(f"holds y of shape {y.shape}, expected {operator.measurement_shape}")
    if not np.isfinite(y).all():
        raise refuse("holds measurements that are NaN or infinite")
    return Problem(path, index, operator, y)


def load_problems(job: InversionJob, image_shape: tuple[int, int, int],
                  inputs: Sequence[JobInput]) -> list[Problem]:
    """Read and degrade (simulate) or read (observation) the images ``inputs``."""
    problems = []
    for item in inputs:
        if job.simulate:
            truth = read_truth(item.path, image_shape)
            problems.append(simulated_problem(item.path, item.index, truth, job.operator,
                                              job.seed))
        else:
            problems.append(observed_problem(item.path, item.index, job, image_shape))
    return problems


# --- planning, resuming ----------------------------------------------------------------


@dataclass
class JobPlan:
    """The inputs of a job, which of them are still to do, and the entries already done."""

    inputs: list[JobInput]
    todo: list[JobInput]
    done: dict[int, dict[str, Any]]


def plan_job(job: InversionJob, settings: InversionSettings) -> JobPlan:
    """Expand the images, read a resumed report, check every output before any work.

    Raises:
        UserInputError: an input is missing, an output exists (without ``overwrite``;
            under ``resume`` with an existing report, outputs of images it does not
            record as done are replaced), or the resumed report is another job's.
    """
    inputs = plan_inputs(job)
    done = _resumed_entries(job, settings, inputs) if job.resume else {}
    todo = [item for item in inputs if item.index not in done]
    # run_job writes the report before any output, so under resume an existing report
    # means the outputs of the images it does not list as done are this job's own.
    if not (job.resume and job.report is not None and job.report.exists()):
        for item in todo:
            check_writable(item.output, job.overwrite, "output_dir")
            if _saves_measurements(job):
                check_writable(measurement_path(item.output), job.overwrite, "output_dir")
        if job.report is not None:
            check_writable(job.report, job.overwrite, "report")
    return JobPlan(inputs, todo, done)


def _saves_measurements(job: InversionJob) -> bool:
    return (job.save_measurements and job.simulate
            and get_task(job.operator.task).observation == "measurements")


def _resumed_entries(job: InversionJob, settings: InversionSettings,
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
    if recorded_job != job.describe() or recorded_settings != settings.to_json():
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
    return not _saves_measurements(job) or measurement_path(item.output).is_file()


# --- solving ---------------------------------------------------------------------------


ProgressCallback = Callable[[dict[str, Any]], None]


def save_measurements(path: Path, problem: Problem, seed: int, overwrite: bool) -> Path:
    """Write a CS observation (``y``, operator spec, seed, index) as ``.npz``."""
    return write_npz(path, overwrite, "output_dir", y=problem.y,
                     spec=json.dumps(problem.operator.spec()), seed=seed, index=problem.index)


def solve_problems(
    artifact: Artifact,
    job: InversionJob,
    problems: Sequence[Problem],
    outputs: dict[int, Path],
    settings: InversionSettings,
    *,
    on_entry: ProgressCallback | None = None,
    on_step: Callable[..., Any] | None = None,
) -> list[dict[str, Any]]:
    """Invert ``problems`` in batches of ``job.batch_size``; write each recovery as it ends.

    ``outputs[index]`` is where image ``index`` goes. ``on_entry(entry)`` is called
    after each image's outputs are written, with its report entry.
    """
    replace = job.overwrite or job.resume
    entries = []
    for start in range(0, len(problems), job.batch_size):
        batch = problems[start : start + job.batch_size]
        results = invert(artifact, [p.operator for p in batch], [p.y for p in batch], settings,
                         seed=job.seed, image_indices=[p.index for p in batch], init=job.init,
                         on_step=on_step)
        for problem, result in zip(batch, results):
            out = outputs[problem.index]
            failure = result_failure(result)
            measurements = None
            if failure is None:
                write_image(out, result.image, overwrite=replace)
                if _saves_measurements(job) and problem.truth is not None:
                    measurements = save_measurements(measurement_path(out), problem, job.seed,
                                                     replace)
            entry = report_entry(problem, result, None if failure else out, failure,
                                 measurements)
            entries.append(entry)
            if on_entry is not None:
                on_entry(entry)
    return entries


def result_failure(result: InversionResult) -> str | None:
    """Why ``result`` cannot be used (every restart diverged), or ``None``."""
    failure = getattr(result, "failure", None)
    if failure:
        return str(failure)
    # Results of other methods (gs.baselines) carry no failure field: judge them alike.
    return failure_of(result.measurement_loss, result.image)


def run_job(
    job: InversionJob,
    artifact: Artifact | None = None,
    *,
    progress: ProgressCallback | None = None,
    on_step: Callable[..., Any] | None = None,
) -> JobReport:
    """Recover every image of ``job``; write its outputs and report as each image ends.

    Args:
        job: the request.
        artifact: the loaded artifact; ``None`` loads ``job.artifact`` on ``job.device``.
        progress: called with each image's report entry once its files are written;
            an exception raised there stops the job (an app's cancel button), with
            every finished image written and recorded.
        on_step: passed to :func:`gs.invert.invert`.

    Returns:
        The report; ``report.failed`` lists images no restart could recover.

    Raises:
        UserInputError: a bad input or an existing output; raised before anything is
            written, since every input is read and every output checked first.
    """
    if artifact is None:
        artifact = load(job.artifact, job.device)
    settings = job.settings_for(artifact)
    plan = plan_job(job, settings)
    problems = load_problems(job, tuple(artifact.metadata.image_shape), plan.todo)
    report = new_report(job, settings)
    entries = dict(plan.done)

    def record(entry: dict[str, Any]) -> None:
        entries[entry["index"]] = entry
        report.images = [entries[i] for i in sorted(entries)]
        if job.report is not None:
            write_json(job.report, report.to_json(), overwrite=True)
        if progress is not None:
            progress(entry)

    report.images = [entries[i] for i in sorted(entries)]
    if job.report is not None:  # before any output: see plan_job
        write_json(job.report, report.to_json(), overwrite=True)
    outputs = {item.index: item.output for item in plan.inputs}
    solve_problems(artifact, job, problems, outputs, settings, on_entry=record, on_step=on_step)
    return report


def new_report(job: InversionJob, settings: InversionSettings) -> JobReport:
    """An empty report of ``job`` run with ``settings``."""
    return JobReport(str(job.artifact), job.operator.task, job.seed, settings.to_json(),
                     job=job.describe())


def _finite(value: float | None) -> float | None:
    """A float for JSON, or ``None`` when it is missing, NaN or infinite."""
    return None if value is None or not math.isfinite(value) else float(value)


def report_entry(problem: Problem, result: InversionResult, out: Path | None,
                 failure: str | None, measurements: Path | None) -> dict[str, Any]:
    """The report's record of one image; ``result`` may be any object with
    InversionResult's record fields (the baselines' results are)."""
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
        "evaluations": result.evaluations,
        "total_evaluations": result.total_evaluations,
        "measurements": None if measurements is None else str(measurements),
        "stages": [{key: _finite(value) if isinstance(value, float) else value
                    for key, value in vars(stage).items()} for stage in result.stages],
    }
