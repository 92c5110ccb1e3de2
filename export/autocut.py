"""``gs-export --cut auto``: choose the cut on validation images, record the sweep.

The generator is exported once at the deepest candidate cut into a temporary
folder; every shallower cut is a view of that artifact
(:class:`gs.artifacts.ArtifactView`), so the sweep costs no further
exports. The cut with the best mean PSNR (:func:`gs.experiments.studies.cut_sweep`)
is returned with the sweep record that goes into the artifact's ``gs.json``
(``extra["cut_sweep"]``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from gs.artifacts import load
from gs.errors import UserInputError
from gs.experiments import grid, studies
from gs.io import check_writable
from gs.models import load_generator


def choose_cut(weights: str | Path, val_images: str | Path, *, model: str | None = None,
               cuts: Sequence[int] | None = None, ratio: float = 0.1, seed: int = 0,
               cache_dir: str | Path | None = None, progress: bool = True,
               **options: Any) -> tuple[int, dict[str, Any]]:
    """Sweep ``cuts`` (default: every valid cut) with CS at m/n = ``ratio`` on the
    images under ``val_images``; return the best cut and the sweep record.

    ``cache_dir`` keeps the per-cell results (shared with ``gs-experiment``), so a
    sweep already run there costs nothing; default: a temporary folder.
    """
    from gs.export.api import export_artifact

    generator = load_generator(weights, model, **options).model
    candidates = list(generator.valid_cuts) if cuts is None else sorted(set(cuts))
    for cut in candidates:
        generator.check_cut(cut, field="cuts")
    if not 0 < ratio <= 1:
        raise UserInputError(f"must be in (0, 1], got {ratio}", field="ratio")
    with tempfile.TemporaryDirectory(prefix="gs-autocut-") as folder:
        deepest = Path(folder) / "deepest.pt"
        export_artifact(weights, deepest, cut=max(candidates), model=model,
                        **options)
        artifact = load(deepest)
        images = grid.load_images(val_images, tuple(artifact.metadata.image_shape),
                                  field="val_images")
        result = studies.cut_sweep(artifact, images, Path(folder) / "sweep", cuts=candidates,
                                   ratio=ratio, raw=False, seeds=(seed,), progress=progress,
                                   cache_dir=cache_dir, overwrite=True)
    sweep = dict(result.sweep or {})
    sweep["images"] = [image.name for image in images]
    sweep["seed"] = seed
    return int(result.best_cut), sweep


def auto_cut_from_flags(weights: str, model: str | None, val_images: str | None,
                        val_ratio: float, val_cuts: str | None, val_cache: str | None,
                        output: str, overwrite: bool, options: dict[str, Any]
                        ) -> tuple[int, dict]:
    """``gs-export --cut auto``'s flags → the best cut and ``{"cut_sweep": record}``."""
    if val_images is None:
        raise UserInputError("auto needs {val_images}, a folder of validation images",
                             field="cut", refs=("val_images",))
    check_writable(output, overwrite)
    cuts = None
    if val_cuts is not None:
        try:
            cuts = [int(c) for c in val_cuts.split(",")]
        except ValueError:
            raise UserInputError(f"must list cuts like 0,1,2, got {val_cuts!r}",
                                 field="val_cuts") from None
    cut, sweep = choose_cut(weights, val_images, model=model, cuts=cuts, ratio=val_ratio,
                            cache_dir=val_cache, **options)
    scores = ", ".join(f"c={c}: {s['mean']:.2f} dB" for c, s in sweep["psnr"].items())
    click.echo(f"cut sweep ({scores}): chose c={cut}", err=True)
    return cut, {"cut_sweep": sweep}
