"""The three studies of the paper's figures, as functions the CLI calls.

Each study builds its method table, plans its grid, runs it through the cache
(:mod:`gs.experiments.cells`), and writes into ``out_dir``: ``results.csv`` /
``summary.csv`` / ``results.json`` (:mod:`gs.experiments.summary`), its plot, and
image grids of original / observed / recovered per method. ``plan.json`` records
the grid; rerunning the same study into the same folder resumes it, while a
different study there needs ``overwrite``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gs.artifacts import Artifact
from gs.errors import UserInputError
from gs.experiments import cells, grid, plots, summary
from gs.experiments.inits import INIT_LABELS, parse_init
from gs.experiments.method_table import SURGERY, MethodFactory, method_factory
from gs.io import check_writable, write_json
from gs.methods import Method
from gs.methods.answer import GENERATOR_IMAGE
from gs.methods.surgery import NoSurgery, Surgery
from gs.problems import build_operator


@dataclass
class StudyResult:
    """What a study computed and wrote."""

    records: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    files: list[Path] = field(default_factory=list)
    best_cut: int | None = None
    sweep: dict[str, Any] | None = None


def _start(out_dir: Path, study: str, methods: Mapping[str, Method],
           points: Sequence[grid.TaskPoint], images: Sequence[grid.EvalImage],
           seeds: Sequence[int], overwrite: bool) -> None:
    """Record the plan; refuse to mix a different study into existing results."""
    manifest = {
        "study": study,
        "methods": {label: m.config() for label, m in methods.items()},
        "points": [p.to_json() for p in points],
        "images": [{"name": i.name, "group": i.group, "digest": i.digest} for i in images],
        "seeds": list(seeds),
    }
    path = out_dir / "plan.json"
    if path.exists() and not overwrite:
        try:
            same = json.loads(path.read_text()) == json.loads(json.dumps(manifest))
        except (OSError, json.JSONDecodeError):
            same = False
        if not same:
            raise UserInputError("holds results of a different experiment; pass {overwrite} "
                                 "to replace them (cached cells are kept)", field="output_dir",
                                 value=out_dir, refs=("overwrite",))
    elif not path.exists():
        for name in ("results.csv", "summary.csv", "results.json"):
            check_writable(out_dir / name, overwrite, "output_dir")
    write_json(path, manifest, overwrite=True)


def execute(study: str, methods: Mapping[str, Method], points: Sequence[grid.TaskPoint],
            images: Sequence[grid.EvalImage], seeds: Sequence[int], out_dir: str | Path,
            cache_dir: str | Path | None = None, *, overwrite: bool = False,
            batch_size: int = 4, progress: bool = True, compute: bool = True,
            extra: dict[str, Any] | None = None) -> tuple[StudyResult, list[cells.CellResult]]:
    """Plan, run (resuming from the cache) and tabulate one study.

    ``compute=False`` tabulates and plots the finished cells only; ``extra["missing"]``
    (also in results.json) then counts the cells still to do.
    """
    out = Path(out_dir)
    _start(out, study, methods, points, images, seeds, overwrite)
    planned = grid.plan(list(methods), list(points), list(images), list(seeds))
    results = cells.run(planned, methods, out / "cache" if cache_dir is None else cache_dir,
                         batch_size=batch_size, progress=progress, compute=compute)
    if not results:
        raise UserInputError("holds no finished cells of this study yet", field="cache_dir",
                             value=cache_dir or out / "cache")
    records = [r.record for r in results]
    table = summary.summarise(records)
    extra = {"study": study, **(extra or {}), "missing": len(planned) - len(results)}
    files = summary.write_tables(out, records, table, extra)
    return StudyResult(records, table, files), results


def write_grids(out_dir: Path, results: Sequence[cells.CellResult],
                images: Sequence[grid.EvalImage], points: Sequence[grid.TaskPoint], seed: int,
                max_rows: int = 8) -> list[Path]:
    """One grid PNG per task point: rows = images (at most ``max_rows``, spread over the
    groups), columns = original, observed, and each method's recovery with its PSNR."""
    rows = _spread(images, max_rows)
    files = []
    for point in points:
        recovered: dict[str, dict[int, np.ndarray]] = {}
        for r in results:
            record = r.record
            if (record["task"], record["ratio"], record["seed"]) == (point.task, point.ratio,
                                                                     seed):
                recovered.setdefault(record["label"], {})[record["index"]] = r.image
        shown = [img for img in rows if any(img.index in d for d in recovered.values())]
        if not shown:
            continue
        problems = [cells.build_problem(grid.Cell("", point, img, seed)) for img in shown]
        observed = [problem.operator.preview(problem.y) for problem in problems]
        columns = {label: [d.get(img.index, np.zeros_like(img.pixels)) for img in shown]
                   for label, d in recovered.items()}
        name = point.task if point.ratio is None else f"{point.task}_{point.ratio:g}"
        files.append(plots.recovery_grid(
            [img.pixels for img in shown], observed, columns, out_dir / f"grid_{name}.png",
            row_names=[img.name for img in shown]))
    return files


def _spread(images: Sequence[grid.EvalImage], count: int) -> list[grid.EvalImage]:
    """Up to ``count`` images taken in turn from each group (so every group is shown)."""
    groups: dict[str, list[grid.EvalImage]] = {}
    for image in images:
        groups.setdefault(image.group, []).append(image)
    chosen: list[grid.EvalImage] = []
    depth = 0
    while len(chosen) < min(count, len(images)):
        for members in groups.values():
            if depth < len(members) and len(chosen) < count:
                chosen.append(members[depth])
        depth += 1
    return sorted(chosen, key=lambda img: img.index)


def _method_table(artifacts: Sequence[Artifact], names: Sequence[str],
                  make: MethodFactory, surgery: dict[str, Any] | None) -> dict[str, Method]:
    table: dict[str, Method] = {}
    gs_cuts = [a.metadata.cut for a in artifacts if a.metadata.cut > 0]
    for name in names:
        if name == SURGERY:
            for artifact in artifacts:
                cut = artifact.metadata.cut
                label = ("no surgery" if cut == 0 else "gs" if len(gs_cuts) == 1
                         else f"gs c={cut}")
                table[label] = Surgery(artifact, overrides=surgery)
        elif name == "no-surgery":
            table.setdefault("no surgery", NoSurgery(artifacts[0], overrides=surgery))
        else:
            table[name] = make(name)
    return table


def cs_curve(artifacts: Sequence[Artifact], images: Sequence[grid.EvalImage],
             ratios: Sequence[float], out_dir: str | Path, *,
             methods: Sequence[str] = (SURGERY, "no-surgery", "classical"),
             seeds: Sequence[int] = (0,),
             make_method: MethodFactory | None = None,
             surgery: dict[str, Any] | None = None, **run_options: Any) -> StudyResult:
    """PSNR against m/n for every method on Gaussian CS (the paper's main figure).

    ``gs`` runs every artifact at its own cut (c = 0 is labelled "no surgery");
    ``no-surgery`` adds the first artifact seen at c = 0; other names are methods of
    :mod:`gs.methods` built by ``make_method`` (default: :func:`method_factory` on the
    artifacts). ``surgery`` overrides the artifacts' settings (e.g. steps).
    Writes ``curve.png`` and ``grid_cs_<ratio>.png``.
    """
    if not artifacts:
        raise ValueError("cs_curve needs at least one artifact")
    table = _method_table(artifacts, methods, make_method or method_factory(artifacts),
                          surgery)
    points = [grid.TaskPoint("cs", float(r)) for r in ratios]
    result, finished = execute("cs-curve", table, points, images, seeds, out_dir, **run_options)
    out = Path(out_dir)
    result.files.append(plots.curve_plot(result.summary, out / "curve.png"))
    result.files += write_grids(out, finished, images, points, seeds[0])
    return result


def cut_sweep(artifact: Artifact, images: Sequence[grid.EvalImage], out_dir: str | Path, *,
              cuts: Sequence[int] | None = None, ratio: float | None = 0.1, raw: bool = True,
              point_task: str = "cs", seeds: Sequence[int] = (0,),
              surgery: dict[str, Any] | None = None, **run_options: Any) -> StudyResult:
    """Recover ``images`` at every cut ≤ the artifact's; choose the best mean PSNR.

    The criterion is the mean PSNR of ``point_task``, any registered task, at ``ratio``
    on its axis (cs: m/n; inpaint: fraction kept; sr: 1/scale; mri: 1/acceleration;
    None: the task's default operator, the only point of a task without an axis such as
    deblur or denoise) over all images and seeds;
    ``raw`` adds the representation error of each cut (A = I, no noise). Writes
    ``cuts.png``; ``result.best_cut`` and ``result.sweep`` (also in results.json).
    """
    available = list(range(artifact.metadata.cut + 1))
    cuts = available if cuts is None else sorted(set(int(c) for c in cuts))
    if not cuts or any(c not in available for c in cuts):
        raise UserInputError(f"must be among {available} (the artifact's cut "
                             f"{artifact.metadata.cut} and those in front), got {list(cuts)}",
                             field="cuts")
    # The generator's own image at each cut: the sweep measures what a cut can represent.
    table: dict[str, Method] = {f"c={c}": Surgery(artifact, task=point_task, cut=c,
                                                  overrides=surgery, rule=GENERATOR_IMAGE)
                                for c in cuts}
    cs = grid.TaskPoint(point_task, None if ratio is None else float(ratio))
    if images:  # an impossible point (e.g. MRI at 1/ratio = 10) fails before any fit
        build_operator(cs.options(), images[0].pixels.shape, seeds[0], images[0].index)
    points = list(dict.fromkeys([cs] + ([grid.TaskPoint("raw")] if raw else [])))
    result, finished = execute("cut-sweep", table, points, images, seeds, out_dir, **run_options)
    sweep = sweep_record(result.records, cs)
    result.best_cut, result.sweep = sweep["best_cut"], sweep
    if result.best_cut is None:
        raise UserInputError(f"holds no finished {cs.task} cells of this sweep yet",
                             field="cache_dir", value=run_options.get("cache_dir"))
    out = Path(out_dir)
    summary.write_tables(out, result.records, result.summary,
                         {"study": "cut-sweep", "sweep": sweep,
                          "missing": len(table) * len(points) * len(images) * len(seeds)
                          - len(result.records)})
    result.files.append(plots.cut_plot(result.summary, out / "cuts.png", best=result.best_cut))
    result.files += write_grids(out, finished, images, points, seeds[0])
    return result


def sweep_record(records: Sequence[dict[str, Any]], point: grid.TaskPoint) -> dict[str, Any]:
    """The cut choice: per cut mean ± sd PSNR (all images) for ``point`` and raw, best cut.

    Ties go to the smaller cut (the cheaper, more constrained search).
    """
    def by_cut(task: str, ratio: float | None) -> dict[int, tuple[float, float, int]]:
        scores: dict[int, list[float]] = {}
        for r in records:
            if r["task"] == task and r["ratio"] == ratio:
                scores.setdefault(int(r["cut"]), []).append(float(r["psnr"]))
        return {c: (*summary.mean_sd(v), len(v)) for c, v in sorted(scores.items())}

    chosen = by_cut(point.task, point.ratio)
    best = max(chosen, key=lambda c: (chosen[c][0], -c)) if chosen else None
    return {
        "task": point.task, "ratio": point.ratio, "criterion": "mean PSNR over all images",
        "best_cut": best,
        "psnr": {str(c): {"mean": m, "sd": s, "n": n} for c, (m, s, n) in chosen.items()},
        "raw_psnr": {str(c): {"mean": m, "sd": s, "n": n}
                     for c, (m, s, n) in by_cut("raw", None).items()},
    }


def init_comparison(artifact: Artifact, images: Sequence[grid.EvalImage], out_dir: str | Path, *,
                    inits: Sequence[str] = ("zero", "clamped_normal", "normal:5", "normal:10",
                                            "lasso"),
                    ratio: float = 0.1, seeds: Sequence[int] = (0,),
                    surgery: dict[str, Any] | None = None, **run_options: Any) -> StudyResult:
    """Surgery at the artifact's cut from each initialisation (supplement Fig. 5).

    ``lasso`` (LassoInv) starts from the Lasso-DCT recovery. Writes ``inits.png``.
    """
    table: dict[str, Method] = {}
    # The generator's own image, from each init: the study compares starts, not answers.
    cs_settings = artifact.metadata.settings_for("cs").override(schedule=())
    for name in inits:
        init = parse_init(name)
        warm = method_factory([artifact])("lasso-dct") if init == "lasso" else None
        label = INIT_LABELS.get(name, name)
        # Each strategy starts at the cut itself (the supplement's protocol): one stage.
        table[label] = Surgery(artifact, settings=cs_settings, init=init, init_name=label,
                               warm_start=warm, overrides=surgery, rule=GENERATOR_IMAGE)
    points = [grid.TaskPoint("cs", float(ratio))]
    result, finished = execute("init", table, points, images, seeds, out_dir, **run_options)
    out = Path(out_dir)
    result.files.append(plots.box_plot(result.records, out / "inits.png", by="init"))
    result.files += write_grids(out, finished, images, points, seeds[0])
    return result
