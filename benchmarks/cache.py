"""Artifacts the benchmarks share: exported once, kept as ``benchmarks/.<model>_c<cut>.pt``."""

from __future__ import annotations

from pathlib import Path

from gs.export import export_artifact


def cached_artifact(weights: Path, cut: int, model: str = "dcgan") -> Path:
    """The TorchScript artifact of ``weights`` cut at ``cut``; exported on first use."""
    path = Path(f"benchmarks/.{model}_c{cut}.pt")
    if not path.exists():
        export_artifact(weights, path, cut=cut, model=model)
    return path
