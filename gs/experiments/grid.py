"""The experiment grid: what is recovered (cells) and from which images.

A cell is one recovery: (method, task point, image, seed). The whole grid is
planned before anything runs (:func:`plan`), so progress is known and a rerun
can skip every cell whose result is already cached.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gs.errors import UserInputError
from gs.io import IMAGE_SUFFIXES, read_image, resize_image
from gs.jobs import OperatorOptions
from gs.operators import get_task

#: Group name of images directly in the images folder (not in a subfolder).
DEFAULT_GROUP = "all"


@dataclass(frozen=True)
class TaskPoint:
    """One forward model of the grid.

    ``task`` is ``cs`` (``ratio`` = m/n), ``inpaint`` (``ratio`` = fraction of pixels
    kept), ``sr`` (``ratio`` = 1/scale), ``denoise`` (noise at the task's default) or
    ``raw`` (A = I, no noise: what a generator can represent at all).
    """

    task: str
    ratio: float | None = None

    def options(self) -> OperatorOptions:
        """The ``gs.jobs`` operator options of this point (one source of the operator)."""
        from_ratio = get_task(self.task).from_ratio
        if from_ratio is None or self.ratio is None:
            return OperatorOptions(task=self.task)
        return OperatorOptions(task=self.task, **from_ratio(self.ratio))

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "ratio": self.ratio}


@dataclass(frozen=True)
class EvalImage:
    """One ground-truth image of the grid: ``index`` keys its operator and noise."""

    index: int
    name: str
    group: str
    path: Path
    pixels: np.ndarray  # (C, H, W) float32 in [0, 1]

    @property
    def digest(self) -> str:
        return hashlib.sha256(np.ascontiguousarray(self.pixels).tobytes()).hexdigest()[:16]


@dataclass(frozen=True)
class Cell:
    """One recovery of the grid; ``method`` is a label of the study's method table."""

    method: str
    point: TaskPoint
    image: EvalImage
    seed: int

    def key(self, method_config: dict[str, Any]) -> str:
        """Cache key: everything that determines the result, hashed."""
        data = {"method": method_config, "point": self.point.to_json(), "seed": self.seed,
                "image": {"index": self.image.index, "digest": self.image.digest,
                          "shape": list(self.image.pixels.shape)}}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def list_images(root: str | Path, field: str = "images") -> list[tuple[Path, str]]:
    """Image files under ``root`` (sorted) with their group: the first subfolder, or
    :data:`DEFAULT_GROUP` for files directly in ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise UserInputError("is not a folder of images", field=field, value=root)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                   and p.is_file() and not any(part.startswith(".") for part in
                                               p.relative_to(root).parts))
    if not files:
        raise UserInputError(f"holds no images ({', '.join(IMAGE_SUFFIXES)})", field=field,
                             value=root)
    return [(p, p.relative_to(root).parts[0] if len(p.relative_to(root).parts) > 1
             else DEFAULT_GROUP) for p in files]


def load_images(root: str | Path, image_shape: tuple[int, int, int], limit: int | None = None,
                field: str = "images") -> list[EvalImage]:
    """Read (and resize to ``image_shape``) the images under ``root``; at most ``limit``
    per group, in sorted order."""
    taken: dict[str, int] = {}
    images = []
    # The index (which keys the image's operator and noise) is its place in the whole
    # folder, so a --limit subset keeps the problems and cached cells of the full set.
    for index, (path, group) in enumerate(list_images(root, field)):
        if limit is not None and taken.get(group, 0) >= limit:
            continue
        taken[group] = taken.get(group, 0) + 1
        pixels = resize_image(read_image(path, field, channels=image_shape[0]), image_shape[1:])
        images.append(EvalImage(index, path.stem, group, path, pixels))
    return images


def plan(methods: list[str], points: list[TaskPoint], images: list[EvalImage],
         seeds: list[int]) -> list[Cell]:
    """Every cell of methods × points × images × seeds, in a stable order."""
    if not (methods and points and images and seeds):
        raise ValueError("a grid needs at least one method, task point, image and seed")
    return [Cell(m, p, img, s) for p in points for s in seeds for m in methods for img in images]
