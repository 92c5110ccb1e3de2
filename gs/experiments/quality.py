"""The best-quality study: ``quality="best"`` against the defaults and the strong baselines.

Per task point (CS 2 / 8 / 33 %, SR ×4) and photo (the bundled test split's faces and
other photos, :mod:`gs.experiments.evalset`, at the artifact's side), every method solves
the same problem (:func:`gs.problems.simulated_problem` keyed by (seed, photo index)):
the task's classical answer, surgery with the artifact's settings (``defaults``), surgery
with ``quality="best"`` (``best``, its budget), and on the first ``slow`` photos of each
group Deep Image Prior, IAGAN and mGANprior at their papers' budgets (their presets).

Each result is appended to a JSON-lines cache as soon as it exists (keys ``point``,
``method``, ``photo``, ``group``, ``psnr``, ``seconds``, ``stage_seconds``, ``answer``,
``machine``), so a run can be interrupted and extended: a (point, method, photo) already
there is not computed again. :func:`table` draws the Markdown table of a cache and
:func:`gs.experiments.plots.quality_plot` PSNR against seconds per image.
"""

from __future__ import annotations

import json
import platform
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gs.artifacts import Artifact
from gs.errors import UserInputError
from gs.experiments import evalset
from gs.methods import Method

#: Task points: the name a cache records → (task, operator options).
POINTS: dict[str, tuple[str, dict[str, Any]]] = {
    "CS 2 %": ("cs", {"ratio": 0.02}), "CS 8 %": ("cs", {"ratio": 0.08}),
    "CS 33 %": ("cs", {"ratio": 0.33}), "SR x4": ("sr", {"scale": 4})}
#: Methods run on every photo.
FAST_METHODS = ("classical", "defaults", "best")
#: Baselines at their papers' budgets, run on the first ``slow`` photos of each group.
SLOW_METHODS = ("dip", "iagan", "mganprior")
METHODS = FAST_METHODS + SLOW_METHODS
#: The baselines that need the whole generator (``--weights``).
GENERATOR_METHODS = ("iagan", "mganprior")
#: Methods the plot marks (the artifact's two settings).
MARKED = ("defaults", "best")
GROUPS = ("faces", "other")
#: Column and panel names where they differ from the cache's.
LABELS = {"dip": "DIP (paper budget)", "iagan": "IAGAN (paper budget)",
          "mganprior": "mGANprior (paper budget)", "SR x4": "SR ×4"}


@dataclass(frozen=True)
class Photo:
    """One test photo: its name (the cache's ``photo``), pixels (C, H, W) and group."""

    name: str
    image: np.ndarray
    group: str


def photos(n_faces: int, n_other: int, shape: Sequence[int]) -> list[Photo]:
    """The first ``n_faces`` faces and ``n_other`` other photos of the test split, at the
    artifact's ``shape`` (C, H, W); their order gives each its problem index."""
    channels, height, width = shape
    if height != width:
        raise UserInputError(f"needs square images; the artifact makes {height}×{width}",
                             field="artifact")
    found = [Photo(n, im, "faces") for n, im in evalset.faces(n_faces, height, split="test")]
    found += [Photo(n, im, "other") for n, im in evalset.non_faces(n_other, height,
                                                                   split="test")]
    if channels == 1:
        found = [Photo(p.name, p.image.mean(axis=0, keepdims=True), p.group) for p in found]
    return found


def parse_points(names: Sequence[str]) -> list[str]:
    """Point names (``"CS 8 %"``, ``"sr x4"``, ``"SR ×4"``) → the cache's names."""
    known = {_key(p): p for p in POINTS}
    unknown = [n for n in names if _key(n) not in known]
    if unknown:
        raise UserInputError(f"holds unknown point(s) {', '.join(map(repr, unknown))}; "
                             f"available: {', '.join(POINTS)}", field="points")
    return list(dict.fromkeys(known[_key(n)] for n in names))


def _key(name: str) -> str:
    return "".join(name.replace("×", "x").lower().split())


def parse_methods(names: Sequence[str]) -> list[str]:
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise UserInputError(f"holds unknown method(s) {', '.join(map(repr, unknown))}; "
                             f"available: {', '.join(METHODS)}", field="methods")
    return list(dict.fromkeys(names))


def build(name: str, task: str, artifact: Artifact, *, weights: str | Path | None = None,
          budget: float | None = None, overrides: dict[str, Any] | None = None) -> Method:
    """The method ``name`` for ``task``: baselines at their presets (the papers' budgets);
    ``overrides`` (e.g. steps) apply to surgery's ``defaults`` and ``best``."""
    from gs.methods import build_method
    from gs.methods.presets import auto_preset
    from gs.methods.surgery import Surgery

    if name == "classical":
        return build_method("classical", task=task)
    if name in ("defaults", "best"):
        settings = artifact.metadata.settings_for(task)
        if name == "best":
            settings = settings.override(quality="best", budget=budget)
        return Surgery(artifact, task=task, settings=settings, overrides=overrides)
    if name == "dip":
        return build_method("dip", task=task, device=str(artifact.device))
    if weights is None:
        raise UserInputError(f"is needed by {name} (the whole generator)", field="weights")
    from gs.methods.generators import load_full_generator

    model = artifact.metadata.model
    return build_method(name, task=task, device=str(artifact.device),
                        generator=load_full_generator(weights, model),
                        settings=auto_preset(name, model=model,
                                             image_side=artifact.metadata.image_shape[1]))


def read_cache(cache: str | Path) -> list[dict[str, Any]]:
    """The records of a cache (none if it does not exist)."""
    path = Path(cache)
    if not path.exists():
        return []
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserInputError(f"is not a JSON-lines cache of this study ({exc})",
                             field="cache", value=path) from None


def machine(device: str) -> str:
    """What the seconds were measured on: CPU architecture, torch threads, device."""
    import torch

    text = f"{platform.machine()}, {torch.get_num_threads()} threads"
    return text if device == "cpu" else f"{text}, {device}"


def run(artifact: Artifact, cache: str | Path, *, points: Sequence[str] = tuple(POINTS),
        methods: Sequence[str] = METHODS, n_faces: int = 4, n_other: int = 4, slow: int = 2,
        weights: str | Path | None = None, budget: float | None = None, seed: int = 0,
        overrides: dict[str, Any] | None = None,
        echo: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Solve every (point, method, photo) the cache lacks; append each record as soon as
    it exists. Returns the new records (none when the cache already holds them all)."""
    from gs.metrics import psnr
    from gs.problems import OperatorOptions, simulated_problem

    chosen = photos(n_faces, n_other, artifact.metadata.image_shape)
    slow_photos = {p.name for group in GROUPS
                   for p in [q for q in chosen if q.group == group][:slow]}
    finished = {(r["point"], r["method"], r["photo"]) for r in read_cache(cache)}
    where = machine(str(artifact.device))
    path = Path(cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = []
    for point in points:
        task, options = POINTS[point]
        for name in methods:
            method = None
            for index, photo in enumerate(chosen):
                if (point, name, photo.name) in finished or (name in SLOW_METHODS and
                                                             photo.name not in slow_photos):
                    continue
                method = method or build(name, task, artifact, weights=weights,
                                         budget=budget, overrides=overrides)
                problem = simulated_problem(Path(photo.name), index, photo.image,
                                            OperatorOptions(task, **options), seed)
                (result,) = method.solve([problem], seed=seed)
                record = {"point": point, "method": name, "photo": photo.name,
                          "group": photo.group, "psnr": psnr(result.image, photo.image),
                          "seconds": result.seconds, "stage_seconds": result.stage_seconds,
                          "answer": result.details.get("answer"), "machine": where}
                with open(path, "a") as handle:
                    handle.write(json.dumps(record) + "\n")
                new.append(record)
                if echo is not None:
                    echo(f"{point:8s} {name:10s} {photo.name:22s} {record['psnr']:6.2f} dB "
                         f"{result.seconds:7.1f} s {record['answer']}")
    return new


def table(records: Sequence[dict[str, Any]]) -> str:
    """The Markdown table: per point and photo group, each method's PSNR mean ± sd
    (photos), their count and median seconds per image, the best mean of the row in
    bold; then best − defaults per photo: mean (worst photo)."""
    by: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in records:
        by[(r["point"], r["group"], r["method"])][r["photo"]] = r
    methods = [m for m in METHODS if any(key[2] == m for key in by)]
    lines = ["| task | photos | " + " | ".join(LABELS.get(m, m) for m in methods)
             + " | best − defaults: mean (worst photo) |",
             "|---|---|" + "---|" * (len(methods) + 1)]
    points = [p for p in POINTS if any(key[0] == p for key in by)]
    points += sorted({key[0] for key in by} - set(points))
    groups = [g for g in GROUPS if any(key[1] == g for key in by)]
    groups += sorted({key[1] for key in by} - set(groups))
    for point in points:
        for group in groups:
            means: dict[str, str] = {}
            cells: dict[str, tuple[str, str]] = {}
            for m in methods:
                rows = list(by.get((point, group, m), {}).values())
                if rows:
                    p = np.array([r["psnr"] for r in rows])
                    means[m] = f"{p.mean():.2f}"
                    cells[m] = (f"{means[m]} ± {p.std():.2f} ({len(p)})",
                                f"{np.median([r['seconds'] for r in rows]):.1f} s")
            if not cells:
                continue
            top = max(means.values(), key=float)
            shown = ["" if m not in cells else
                     f"**{cells[m][0]}**, {cells[m][1]}" if means[m] == top else
                     f"{cells[m][0]}, {cells[m][1]}" for m in methods]
            best = by.get((point, group, "best"), {})
            fast = by.get((point, group, "defaults"), {})
            gain = [best[k]["psnr"] - fast[k]["psnr"] for k in best if k in fast]
            gap = f"{np.mean(gain):+.2f} ({np.min(gain):+.2f})" if gain else ""
            lines.append(f"| {LABELS.get(point, point)} | {group} | " + " | ".join(shown)
                         + f" | {gap} |")
    return "\n".join(lines)
