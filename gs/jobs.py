"""A whole inversion job: images in, recoveries and a report out.

``gs-invert`` is a thin layer over :func:`run_job`; apps call it directly or
use :func:`gs.invert.invert` for arrays already in memory.

Two modes:
  * simulate: each IMAGE is ground truth; it is degraded with the operator of
    its index (seeded), recovered, and scored (PSNR/SSIM).
  * observation: each IMAGE is what was observed: a low-resolution image
    (``sr``), an image plus a mask (``inpaint``), a noisy image (``denoise``),
    or a ``.npz`` with ``y`` and the operator's spec and seed (``cs``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gs.errors import UserInputError
from gs.invert import InversionResult, invert, simulate
from gs.io import atomic_write, check_writable, read_image, resize_image, write_image, write_json
from gs.latent import InitSpec
from gs.metrics import psnr, ssim
from gs.operators import Operator, RandomInpainting, make_operator, operator_from_spec
from gs.seeding import Stream, problem_rng
from gs.settings import InversionSettings


@dataclass(frozen=True)
class OperatorOptions:
    """Options that define the forward model (CLI flags of the same names)."""

    task: str = "cs"
    measurements: int | None = None
    ratio: float | None = None
    keep: float | None = None
    scale: int | None = None
    method: str = "bilinear"
    noise_std: float | None = None


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
    """What ``--report`` writes."""

    artifact: str
    task: str
    seed: int
    settings: dict[str, Any]
    images: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"artifact": self.artifact, "task": self.task, "seed": self.seed,
                "settings": self.settings, "images": self.images}


def build_operator(options: OperatorOptions, image_shape: tuple[int, int, int], seed: int,
                   index: int) -> Operator:
    """The operator of image ``index``: random parts drawn from (seed, index, OPERATOR)."""
    return make_operator(
        options.task, image_shape, problem_rng(seed, index, Stream.OPERATOR),
        measurements=options.measurements, ratio=options.ratio, keep=options.keep,
        scale=options.scale, method=options.method, noise_std=options.noise_std,
    )


def simulated_problem(path: Path, index: int, image: np.ndarray, options: OperatorOptions,
                      seed: int) -> Problem:
    """Degrade a ground-truth (C, H, W) image with its seeded operator and noise."""
    operator = build_operator(options, image.shape, seed, index)
    y = simulate(image, operator, problem_rng(seed, index, Stream.NOISE))
    return Problem(path, index, operator, y, truth=image)


def observed_problem(path: Path, index: int, options: OperatorOptions,
                     image_shape: tuple[int, int, int], seed: int,
                     mask: Path | None = None) -> Problem:
    """Read what was observed for one image (see the module docstring)."""
    c, h, w = image_shape
    if options.task == "cs":
        return _read_measurements(path, index, image_shape)
    observed = read_image(path, "IMAGE", channels=c)
    if options.task == "sr":
        operator = build_operator(options, image_shape, seed, index)
        expected = operator.measurement_shape
        if observed.shape != tuple(expected):
            raise UserInputError(
                f"IMAGE {path} is {observed.shape[2]}x{observed.shape[1]} pixels; a --scale "
                f"{options.scale or 4} observation for this artifact must be "
                f"{expected[2]}x{expected[1]}"
            )
        return Problem(path, index, operator, observed)
    if observed.shape != tuple(image_shape):
        raise UserInputError(
            f"IMAGE {path} is {observed.shape[2]}x{observed.shape[1]} pixels with "
            f"{observed.shape[0]} channels; the artifact expects {w}x{h} with {c}"
        )
    if options.task == "inpaint":
        if mask is None:
            raise UserInputError("--mask is required to inpaint an observed image")
        keep = read_image(mask, "--mask", channels=1)[0] > 0.5
        if keep.shape != (h, w):
            raise UserInputError(f"--mask {mask} must be {w}x{h} pixels like the artifact")
        noise = 0.0 if options.noise_std is None else options.noise_std
        operator = RandomInpainting.from_mask(keep, image_shape, noise_std=noise)
        return Problem(path, index, operator, operator.A(observed[None])[0])
    operator = build_operator(options, image_shape, seed, index)
    return Problem(path, index, operator, observed)


def save_measurements(path: Path, problem: Problem, seed: int, overwrite: bool) -> Path:
    """Write a CS observation (``y``, operator spec, seed, index) as ``.npz``."""
    spec = json.dumps(problem.operator.spec())

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, y=problem.y, spec=spec, seed=seed, index=problem.index)

    return atomic_write(path, write, overwrite, flag="--output")


def _read_measurements(path: Path, index: int, image_shape: tuple[int, int, int]) -> Problem:
    if path.suffix.lower() != ".npz" or not path.is_file():
        raise UserInputError(f"IMAGE {path} must be an existing .npz with y, spec and seed for cs")
    try:
        with np.load(path, allow_pickle=False) as data:
            y = np.asarray(data["y"], dtype=np.float32)
            spec = json.loads(str(data["spec"]))
            seed, stored_index = int(data["seed"]), int(data["index"])
        operator = operator_from_spec(spec, problem_rng(seed, stored_index, Stream.OPERATOR))
    except (KeyError, ValueError, OSError, json.JSONDecodeError) as exc:
        raise UserInputError(f"IMAGE {path} is not a gs measurement file ({exc})") from None
    if tuple(operator.image_shape) != tuple(image_shape):
        raise UserInputError(
            f"IMAGE {path} was measured for images of shape {operator.image_shape}, "
            f"the artifact makes {tuple(image_shape)}"
        )
    if y.shape != tuple(operator.measurement_shape):
        raise UserInputError(f"IMAGE {path} holds y of shape {y.shape}, expected "
                             f"{operator.measurement_shape}")
    return Problem(path, index, operator, y)


def output_paths(paths: Sequence[Path], out_dir: Path) -> list[Path]:
    """Recovered-image path of each input: ``out_dir/<stem>.png``, stems made unique."""
    seen: dict[str, int] = {}
    outputs = []
    for path in paths:
        stem = path.stem
        seen[stem] = seen.get(stem, 0) + 1
        name = stem if seen[stem] == 1 else f"{stem}_{seen[stem]}"
        outputs.append(out_dir / f"{name}.png")
    return outputs


def load_problems(
    image_shape: tuple[int, int, int],
    images: Sequence[str | Path],
    options: OperatorOptions,
    *,
    simulate_mode: bool,
    seed: int,
    mask: str | Path | None = None,
    indices: Sequence[int] | None = None,
) -> list[Problem]:
    """Read and degrade (simulate) or read (observation) images ``indices`` of a job."""
    paths = [Path(p) for p in images]
    chosen = range(len(paths)) if indices is None else indices
    problems = []
    for index in chosen:
        path = paths[index]
        if simulate_mode:
            truth = resize_image(read_image(path, "IMAGE", channels=image_shape[0]),
                                 image_shape[1:])
            problems.append(simulated_problem(path, index, truth, options, seed))
        else:
            problems.append(observed_problem(path, index, options, image_shape, seed,
                                             None if mask is None else Path(mask)))
    return problems


def check_outputs(images: Sequence[str | Path], out_dir: str | Path,
                  report_path: str | Path | None, overwrite: bool) -> list[Path]:
    """Output path per image; raise before any work if one would be overwritten."""
    paths = [Path(p) for p in images]
    if not paths:
        raise UserInputError("IMAGE: give at least one image")
    outputs = output_paths(paths, Path(out_dir))
    for out in outputs:
        check_writable(out, overwrite, "-o/--output-dir")
    if report_path is not None:
        check_writable(report_path, overwrite, "--report")
    return outputs


def solve_problems(
    artifact: Any,
    problems: Sequence[Problem],
    outputs: Sequence[Path],
    settings: InversionSettings,
    *,
    seed: int,
    init: InitSpec | None,
    batch_size: int,
    overwrite: bool,
    save_observations: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Invert ``problems`` in batches, write each recovery, return report entries."""
    if batch_size < 1:
        raise UserInputError(f"--batch-size must be at least 1, got {batch_size}")
    entries = []
    for start in range(0, len(problems), batch_size):
        batch = problems[start : start + batch_size]
        results = invert(artifact, [p.operator for p in batch], [p.y for p in batch], settings,
                         seed=seed, image_indices=[p.index for p in batch], init=init)
        for problem, result in zip(batch, results):
            out = outputs[problem.index]
            write_image(out, result.image, overwrite=overwrite)
            if save_observations and problem.operator.task == "cs" and problem.truth is not None:
                save_measurements(out.with_suffix(".npz"), problem, seed, overwrite)
            entries.append(report_entry(problem, result, out))
        if progress is not None:
            progress(len(batch))
    return entries


def run_job(
    artifact: Any,
    images: Sequence[str | Path],
    options: OperatorOptions,
    settings: InversionSettings,
    out_dir: str | Path,
    *,
    simulate_mode: bool,
    seed: int = 0,
    init: InitSpec | None = None,
    mask: str | Path | None = None,
    batch_size: int = 16,
    report_path: str | Path | None = None,
    overwrite: bool = False,
    save_observations: bool = False,
    progress: Callable[[int], None] | None = None,
) -> JobReport:
    """Recover every image and write ``out_dir/<stem>.png`` (+ the report).

    Nothing is written before every input has been read and every output path
    checked, so a bad input leaves no half-written results.
    """
    outputs = check_outputs(images, out_dir, report_path, overwrite)
    problems = load_problems(tuple(artifact.metadata.image_shape), images, options,
                             simulate_mode=simulate_mode, seed=seed, mask=mask)
    report = JobReport(str(artifact.path), options.task, seed, settings.to_json())
    report.images = solve_problems(artifact, problems, outputs, settings, seed=seed, init=init,
                                   batch_size=batch_size, overwrite=overwrite,
                                   save_observations=save_observations, progress=progress)
    if report_path is not None:
        write_json(report_path, report.to_json(), overwrite=overwrite)
    return report


def report_entry(problem: Problem, result: InversionResult, out: Path) -> dict[str, Any]:
    """The report's record of one image (any result with InversionResult's record fields)."""
    truth = problem.truth
    return {
        "index": problem.index,
        "path": str(problem.path),
        "output": str(out),
        "psnr": None if truth is None else psnr(result.image, truth),
        "ssim": None if truth is None else ssim(result.image, truth),
        "measurement_loss": result.measurement_loss,
        "restart": result.restart,
        "seconds": result.seconds,
        "evaluations": result.evaluations,
        "total_evaluations": result.total_evaluations,
        "stages": [vars(stage) for stage in result.stages],
    }
