"""Artifacts the benchmarks share: exported once, kept as ``benchmarks/.<model>_c<cut>.pt``."""

from __future__ import annotations

from pathlib import Path

from gs.artifacts import load
from gs.export import export_artifact
from gs.settings import TASKS, recommended_settings

#: Where the benchmarks keep what they export, fetch or measure between runs (ignored by
#: git), whatever folder a script runs from.
CACHE_DIR = Path(__file__).resolve().parent


def cache_path(name: str) -> Path:
    """``benchmarks/.<name>``: a file or folder the benchmarks keep between runs."""
    return CACHE_DIR / f".{name}"


def _records_current_defaults(path: Path, cut: int) -> bool:
    """Whether the artifact at ``path`` records today's measured defaults for every task.

    An artifact exported before the defaults changed would silently run the old ones.
    """
    recorded = load(path).metadata
    return all(recorded.settings_for(task) == recommended_settings(task, cut) for task in TASKS)


def cached_artifact(weights: Path, cut: int, model: str = "dcgan",
                    path: Path | None = None) -> Path:
    """The TorchScript artifact of ``weights`` cut at ``cut`` (at ``path``, by default
    ``benchmarks/.<model>_c<cut>.pt``); exported on first use and again whenever the
    measured defaults have changed since."""
    path = Path(path or cache_path(f"{model}_c{cut}.pt"))
    if not path.exists() or not _records_current_defaults(path, cut):
        export_artifact(weights, path, cut=cut, model=model, overwrite=True)
    return path
