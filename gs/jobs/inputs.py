"""The images of a job: files and folders expanded, and each read into a problem.

``images`` may name files and folders; a folder means every image file below it
(recursively, sorted), and its layout is kept under ``output_dir``. The index of an
image, which seeds its problem, is its position in that expanded list, so a resumed or
sharded run draws the same problems.

Two modes:
  * simulate: each image is ground truth; it is degraded with the operator of its
    index (seeded), recovered, and scored (PSNR/SSIM).
  * observation: each image is what was observed: a low-resolution image (``sr``), an
    image plus a mask (``inpaint``: one mask file for every image, or a folder of
    masks paired by relative path, see :func:`mask_path`), a noisy image (``denoise``),
    a blurred image (``deblur``, the kernel given by the operator's options), or a
    ``.npz`` with ``y`` and the operator's spec and seed (``cs``, ``mri``: k-space).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gs.errors import UserInputError
from gs.io import IMAGE_SUFFIXES, read_image, resize_image, write_image, write_npz
from gs.jobs.request import InversionJob
from gs.operators import get_task, operator_from_spec
from gs.problems import Problem, build_operator, masked_problem, simulated_problem
from gs.seeding import Stream, problem_rng

MIN_TRUTH_SIDE = 8
"""Ground-truth images (``simulate``) with a side under this many pixels are refused."""

MEASUREMENT_SUFFIX = ".npz"
#: What ``save_measurements`` appends to the stem of an observation saved as an image.
OBSERVED_SUFFIX = "_observed.png"


@dataclass(frozen=True)
class JobInput:
    """One image of a job: its index (position in the expanded list), file and output path."""

    index: int
    path: Path
    output: Path


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


def list_inputs(job: InversionJob) -> list[JobInput]:
    """Every image of ``job`` with its index and output path (names made unique)."""
    seen: dict[Path, int] = {}
    inputs = []
    for index, (path, relative) in enumerate(expand_images(job.images, input_suffixes(job))):
        seen[relative] = seen.get(relative, 0) + 1
        if seen[relative] > 1:
            relative = relative.with_name(f"{relative.name}_{seen[relative]}")
        inputs.append(JobInput(index, path, job.output_dir / f"{relative}.png"))
    return inputs


def measurement_path(output: Path, task: str = "cs") -> Path:
    """Where ``save_measurements`` writes the observation of the image recovered to
    ``output``: ``<stem>.npz`` for a task observed as measurements, else the observed
    image ``<stem>_observed.png``."""
    if get_task(task).observation == "measurements":
        return output.with_suffix(MEASUREMENT_SUFFIX)
    return output.with_name(f"{output.stem}{OBSERVED_SUFFIX}")


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
    mask = mask_path(job, path)  # a "masked" observation: the kept pixels are given by a mask
    keep = read_image(mask, "mask", channels=1)[0] > 0.5
    if keep.shape != (h, w):
        raise UserInputError(f"must be {w}x{h} pixels like the artifact", field="mask",
                             value=mask)
    return masked_problem(path, index, observed, keep, options)


def mask_path(job: InversionJob, path: Path) -> Path:
    """The mask file of the observed image ``path`` (inpainting).

    ``job.mask`` is one mask for every image, or a folder of masks: the image at
    ``a/b.png`` below a folder of ``images`` (or a file ``b.png`` named itself) pairs
    with the one image file ``a/b.*`` below the mask folder, any image suffix.
    """
    if job.mask is None:
        raise UserInputError("is required to inpaint an observed image", field="mask")
    if not job.mask.is_dir():
        return job.mask
    relative = _relative_stem(job.images, path)
    folder = job.mask / relative.parent
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.stem == relative.name
                   and p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if not found:
        raise UserInputError(f"has no mask {folder / relative.name}.* for the image {path}",
                             field="mask", value=job.mask)
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise UserInputError(f"has several masks ({names}) for the image {path}; keep one",
                             field="mask", value=folder)
    return found[0]


def _relative_stem(images: Sequence[Path], path: Path) -> Path:
    """``path`` relative to the folder of ``images`` that holds it, without suffix
    (the output layout of ``expand_images``); a file named by itself is its stem."""
    for item in images:
        if item.is_dir() and path.is_relative_to(item):
            return path.relative_to(item).with_suffix("")
    return Path(path.stem)


def _read_measurements(path: Path, index: int, image_shape: tuple[int, int, int]) -> Problem:
    def refuse(problem: str) -> UserInputError:
        return UserInputError(problem, field="image", value=path)

    if path.suffix.lower() != MEASUREMENT_SUFFIX or not path.is_file():
        raise refuse("must be an existing .npz with y, spec, seed and index")
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


def saves_measurements(job: InversionJob) -> bool:
    """Whether the job also writes each simulated observation: as ``.npz`` for a task
    observed as measurements (cs, mri), as an image for one observed as an image
    (deblur, sr, denoise); a masked observation needs its mask too, which it does not write."""
    return (job.save_measurements and job.simulate
            and get_task(job.operator.task).observation in ("measurements", "image"))


def save_measurements(path: Path, problem: Problem, seed: int, overwrite: bool) -> Path:
    """Write a simulated observation to ``path`` (:func:`measurement_path`): ``y``, the
    operator spec, seed and index as ``.npz``; or ``y`` as an 8-bit image (clipped to
    [0, 1]), which observation mode reads back with the same operator options."""
    if path.suffix.lower() == MEASUREMENT_SUFFIX:
        return write_npz(path, overwrite, "output_dir", y=problem.y,
                         spec=json.dumps(problem.operator.spec()), seed=seed,
                         index=problem.index)
    return write_image(path, np.asarray(problem.y, dtype=np.float32), overwrite=overwrite)
