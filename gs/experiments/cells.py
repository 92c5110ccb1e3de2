"""Run a planned grid: one cached result per cell, a progress bar, resumable.

Each finished cell is written at once to ``cache_dir/<key[:2]>/<key>.npz`` (the
recovered image and its record) by an atomic rename, so an interrupted run
loses at most the batch in flight and a rerun recomputes only missing cells.
The problems (operator, noise, observation) come from :mod:`gs.jobs` keyed by
(seed, image index), so every method of a cell's row sees the same ``y``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from gs.experiments.grid import Cell
from gs.io import write_npz
from gs.methods import Method
from gs.metrics import psnr, ssim
from gs.problems import Problem, simulated_problem


@dataclass
class CellResult:
    """A finished cell: its record (one tidy row; only scores while cached) and image."""

    record: dict[str, Any]
    image: np.ndarray  # (C, H, W) float32 in [0, 1]


def build_problem(cell: Cell) -> Problem:
    """The degraded observation of a cell's image (shared by every method)."""
    image = cell.image
    return simulated_problem(image.path, image.index, image.pixels, cell.point.options(),
                             cell.seed)


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / key[:2] / f"{key}.npz"


def _read_cached(path: Path) -> CellResult | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return CellResult(json.loads(str(data["scores"])), np.array(data["image"]))
    except (OSError, KeyError, ValueError):
        return None  # unreadable (e.g. from an older layout): recompute the cell


def _write_cached(path: Path, result: CellResult) -> None:
    write_npz(path, overwrite=True, image=result.image, scores=json.dumps(result.record))


def _scores(cell: Cell, recovery: Any) -> dict[str, Any]:
    truth = cell.image.pixels
    return {"psnr": psnr(recovery.image, truth), "ssim": ssim(recovery.image, truth),
            "seconds": recovery.seconds, "measurement_loss": recovery.measurement_loss}


def _record(cell: Cell, method: Method, scores: dict[str, Any]) -> dict[str, Any]:
    """One tidy row; only the scores come from the cache, the names from the plan."""
    return {
        **method.describe(),
        "label": cell.method,
        "task": cell.point.task,
        "ratio": cell.point.ratio,
        "group": cell.image.group,
        "image": cell.image.name,
        "index": cell.image.index,
        "seed": cell.seed,
        **scores,
    }


def run(cells: Sequence[Cell], methods: Mapping[str, Method], cache_dir: str | Path,
        batch_size: int = 4, progress: bool = True, compute: bool = True
        ) -> list[CellResult]:
    """Compute (or read from the cache) every cell; results in the order of ``cells``.

    Several runs may share one cache (e.g. two studies with common cells, running at
    once): a batch's cells are looked up again just before it is computed.

    Args:
        cells: the planned grid (:func:`gs.experiments.grid.plan`).
        methods: method of each label used by the cells.
        cache_dir: folder of per-cell results (created).
        batch_size: images a method recovers at once (same method, task point, seed).
        progress: show a tqdm bar on stderr (hidden when not a terminal).
        compute: False reads finished cells only (a look at a study still running).

    Returns:
        One :class:`CellResult` per finished cell (every cell unless ``compute`` is
        False), in the order of ``cells``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    cache_dir = Path(cache_dir)
    keys = [cell.key(methods[cell.method].config()) for cell in cells]
    results: list[CellResult | None] = [_read_cached(_cache_path(cache_dir, k)) for k in keys]
    pending: dict[tuple[Any, ...], list[int]] = {}
    for i, (cell, result) in enumerate(zip(cells, results)):
        if result is None:
            pending.setdefault((cell.method, cell.point, cell.seed), []).append(i)
    done = sum(r is not None for r in results)
    if not compute:
        pending = {}
    with tqdm(total=len(cells), initial=done, unit="cell", desc="experiment",
              disable=not progress or None, leave=False) as bar:
        for (label, _, seed), positions in pending.items():
            method = methods[label]
            for start in range(0, len(positions), batch_size):
                batch = positions[start : start + batch_size]
                for i in batch:
                    results[i] = _read_cached(_cache_path(cache_dir, keys[i]))
                bar.update(sum(results[i] is not None for i in batch))
                batch = [i for i in batch if results[i] is None]
                if not batch:
                    continue
                problems = [build_problem(cells[i]) for i in batch]
                for i, recovery in zip(batch, method.solve(problems, seed=seed)):
                    result = CellResult(_scores(cells[i], recovery),
                                        np.asarray(recovery.image, dtype=np.float32))
                    _write_cached(_cache_path(cache_dir, keys[i]), result)
                    results[i] = result
                bar.update(len(batch))
    return [CellResult(_record(cell, methods[cell.method], result.record), result.image)
            for cell, result in zip(cells, results) if result is not None]
