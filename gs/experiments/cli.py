"""``gs-experiment``: the paper's studies from the command line (thin layer over
:mod:`gs.experiments.studies`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from gs.artifacts import Artifact, load
from gs.clitools import declared_option, device_option, user_errors
from gs.errors import UserInputError
from gs.experiments import evalset, grid, quality, studies
from gs.experiments.summary import ALL_GROUPS
from gs.jobs import JOB_PARAMS
from gs.operators import get_task, tasks
from gs.params import declared_params
from gs.settings import InversionSettings

CONTEXT = {"help_option_names": ["-h", "--help"]}


def parse_list(text: str, field: str, kind: type = str) -> list[Any]:
    """``"a,b"`` → ``[kind("a"), kind("b")]``; an error naming ``field`` otherwise."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    try:
        values = [kind(p) for p in parts]
    except ValueError:
        values = []
    if not values:
        raise UserInputError(f"must be a comma-separated list of {kind.__name__} values, "
                             f"got {text!r}", field=field)
    return values


def parse_ratios(text: str, field: str = "ratios") -> list[float]:
    ratios = parse_list(text, field, float)
    if any(not 0 < r <= 1 for r in ratios):
        raise UserInputError(f"values must be in (0, 1], got {text!r}", field=field)
    return ratios


def parse_seeds(text: str) -> list[int]:
    seeds = parse_list(text, "seeds", int)
    if any(s < 0 for s in seeds):
        raise UserInputError(f"must be non-negative integers, got {text!r}", field="seeds")
    return seeds


def _images(folder: str, artifact: Artifact, limit: int | None) -> list[grid.EvalImage]:
    if limit is not None and limit < 1:
        raise UserInputError(f"must be at least 1, got {limit}", field="limit")
    return grid.load_images(folder, tuple(artifact.metadata.image_shape), limit)


#: The inversion settings a study may override; flag, type, range and help are their
#: declarations (:class:`gs.settings.InversionSettings`).
_SETTINGS = declared_params(InversionSettings)
_OVERRIDES = ("steps", "restarts")


def _overrides(steps: int | None, restarts: int | None) -> dict[str, Any]:
    """The overrides given, checked against their declarations (None: the artifact's)."""
    given = {"steps": steps, "restarts": restarts}
    return {name: None if value is None else _SETTINGS[name].check(value)
            for name, value in given.items()}


def override_options(f: Any) -> Any:
    """``--steps``, ``--restarts`` (default: what the artifact records) and ``--device``."""
    f = device_option()(f)
    for name in reversed(_OVERRIDES):
        f = declared_option(_SETTINGS[name], optional=True, show_default=False,
                            help=f"{_SETTINGS[name].param.help[:-1]} (default: the "
                                 f"artifact's).")(f)
    return f


def _echo_summary(rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        if row["group"] in (ALL_GROUPS,) or len({r["group"] for r in rows}) == 1:
            ratio = "" if row["ratio"] is None else f" {row['ratio']:g}"
            click.echo(f"{row['label']:>16} {row['task']}{ratio:<6} {row['group']:>10}: "
                       f"{row['psnr_mean']:6.2f} ± {row['psnr_sd']:.2f} dB (n={row['n']})",
                       err=True)


def run_options(f: Any) -> Any:
    """Options every study shares."""
    for decorator in reversed([
        click.option("--images", required=True, type=click.Path(),
                     help="Folder of ground-truth images; subfolders are groups."),
        click.option("--limit", type=int, help="At most N images per group."),
        click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds."),
        click.option("-o", "--output-dir", required=True, type=click.Path(),
                     help="Folder for tables, plots and the cell cache."),
        click.option("--cache-dir", type=click.Path(),
                     help="Per-cell cache (default OUTPUT_DIR/cache)."),
        click.option("--batch-size", type=int, default=4, show_default=True,
                     help="Images recovered together by one method."),
        override_options,
        click.option("--overwrite", is_flag=True,
                     help="Replace results of a different experiment in OUTPUT_DIR."),
        click.option("--cached-only", is_flag=True,
                     help="Compute nothing: tables and plots of the finished cells only."),
    ]):
        f = decorator(f)
    return f


def _common(options: dict[str, Any]) -> dict[str, Any]:
    if options["batch_size"] < 1:
        raise UserInputError(f"must be at least 1, got {options['batch_size']}",
                             field="batch_size")
    return {"seeds": parse_seeds(options["seeds"]), "out_dir": Path(options["output_dir"]),
            "cache_dir": options["cache_dir"], "overwrite": options["overwrite"],
            "batch_size": options["batch_size"], "compute": not options["cached_only"],
            "surgery": _overrides(options["steps"], options["restarts"])}


@click.group(context_settings=CONTEXT)
def main() -> None:
    """Reproduce the paper's studies: cs-curve, cut-sweep, init; quality (best against the
    defaults and the baselines); evalset writes the photos."""


@main.command("evalset", context_settings=CONTEXT)
@click.option("-o", "--output-dir", required=True, type=click.Path())
@click.option("--split", type=click.Choice(evalset.SPLITS + ("both",)), default="both",
              show_default=True)
@click.option("--faces", "n_faces", type=int, default=4, show_default=True)
@click.option("--others", "n_other", type=int, default=4, show_default=True)
@click.option("--size", type=int, default=64, show_default=True, help="Side in pixels.")
@click.option("--overwrite", is_flag=True)
@user_errors
def evalset_command(output_dir: str, split: str, n_faces: int, n_other: int, size: int,
                    overwrite: bool) -> None:
    """Write the bundled face / non-face photos as OUTPUT_DIR/<split>/<group>/*.png."""
    if n_faces < 0 or n_other < 0 or n_faces + n_other == 0 or size < 8:
        raise UserInputError("{n_faces} and {n_other} must be non-negative with at least one "
                             "photo, and {size} at least 8", refs=("n_faces", "n_other", "size"))
    splits = evalset.SPLITS if split == "both" else (split,)
    for name in splits:
        paths = evalset.write_evalset(output_dir, name, n_faces, n_other, size, overwrite)
        click.echo(f"wrote {len(paths)} images to {Path(output_dir) / name}", err=True)


@main.command("cs-curve", context_settings=CONTEXT)
@click.argument("more_artifacts", nargs=-1, type=click.Path())
@click.option("--artifacts", "artifacts", multiple=True,
              help="Artifacts (comma-separated or repeated; also as arguments).")
@click.option("--ratios", default="0.02,0.05,0.1,0.2,0.33", show_default=True)
@click.option("--methods", default="gs,no-surgery,classical", show_default=True,
              help="gs (surgery on every artifact), no-surgery, classical (the task's own "
                   "classical answer) and any registered method (lasso-dct, dip, …).")
@click.option("--weights", type=click.Path(), help="Whole generator, for iagan / mganprior.")
@click.option("--model", help="Model of --weights.")
@run_options
@user_errors(aliases={"artifact": "artifacts"})
def cs_curve_command(more_artifacts: tuple[str, ...], artifacts: tuple[str, ...], ratios: str,
                     methods: str, weights: str | None, model: str | None,
                     **options: Any) -> None:
    """PSNR against m/n for each method on Gaussian CS (curve.png, grids, tables)."""
    paths = [p for text in artifacts for p in parse_list(text, "artifacts")]
    paths += list(more_artifacts)
    if not paths:
        raise UserInputError("needs at least one artifact (.pt or .onnx from gs-export)",
                             field="artifacts")
    common = _common(options)
    names = parse_list(methods, "methods")
    ratio_values = parse_ratios(ratios)
    loaded = [load(p, options["device"]) for p in paths]
    images = _images(options["images"], loaded[0], options["limit"])
    from gs.experiments.method_table import method_factory

    factory = method_factory(loaded, weights, model, loaded[0].device)
    result = studies.cs_curve(loaded, images, ratio_values, methods=names,
                              make_method=factory, **common)
    _echo_summary(result.summary)
    click.echo(str(common["out_dir"] / "curve.png"))


@main.command("cut-sweep", context_settings=CONTEXT)
@click.option("--artifact", type=click.Path(), help="Artifact at the deepest cut to try.")
@click.option("--weights", type=click.Path(), help="Or: weights to export (with --model).")
@click.option("--model", help="Model of --weights (dcgan, began, vae, biggan).")
@click.option("--cuts", help="Cuts to try, e.g. 0,1,2,3 (default: all up to the deepest).")
@click.option("--task", type=click.Choice(tasks()), default="cs", show_default=True,
              help="The task whose mean PSNR chooses the cut.")
@click.option("--ratio", type=float,
              help="The point on the task's axis: m/n (cs), fraction of pixels kept "
                   "(inpaint), 1/scale (sr), 1/acceleration (mri). Default: 0.1 for a "
                   "task whose ratio has no default (cs), else the task's default "
                   "operator; tasks without such an axis (denoise, deblur) take none.")
@click.option("--raw/--no-raw", default=True, show_default=True,
              help="Also measure each cut's representation error (A = I, no noise).")
@run_options
@user_errors
def cut_sweep_command(artifact: str | None, weights: str | None, model: str | None,
                      cuts: str | None, task: str, ratio: float | None, raw: bool,
                      **options: Any) -> None:
    """Recover validation images at each cut; print and record the best cut."""
    common = _common(options)
    cut_list = None if cuts is None else parse_list(cuts, "cuts", int)
    ratio = task_ratio(task, ratio)
    if (artifact is None) == (weights is None):
        raise UserInputError("give exactly one of {artifact} and {weights}",
                             refs=("artifact", "weights"))
    if weights is not None:
        artifact = str(export_deepest(weights, model, cut_list, common["out_dir"]))
    loaded = load(str(artifact), options["device"])
    images = _images(options["images"], loaded, options["limit"])
    result = studies.cut_sweep(loaded, images, cuts=cut_list, ratio=ratio, raw=raw,
                               point_task=task, **common)
    _echo_summary(result.summary)
    click.echo(f"best cut: {result.best_cut}")


def task_ratio(task: str, ratio: float | None) -> float | None:
    """``--ratio`` checked against ``task``: None for a task without a ratio axis (or
    its default operator), 0.1 where the task's own default gives no point (cs)."""
    entry = get_task(task)
    if entry.from_ratio is None:
        if ratio is not None:
            raise UserInputError(f"task {task} has no ratio axis; leave it out",
                                 field="ratio")
        return None
    if ratio is None:
        return 0.1 if "ratio" in entry.defaults and entry.defaults["ratio"] is None else None
    return parse_ratios(str(ratio), "ratio")[0]


def export_deepest(weights: str, model: str | None, cuts: list[int] | None, out_dir: Path
                   ) -> Path:
    """Export ``weights`` once at the deepest cut to try (shallower cuts are views of it)."""
    # The command line composes export and experiments; the library never imports gs.export.
    from gs.export import export_artifact
    from gs.models import load_generator

    generator = load_generator(weights, model).model
    deepest = max(cuts) if cuts else max(generator.valid_cuts)
    generator.check_cut(deepest, field="cuts")
    path = out_dir / "artifacts" / f"{generator.model_name}_c{deepest}.pt"
    if not path.exists():
        export_artifact(weights, path, cut=deepest, model=model)
    return path


@main.command("init", context_settings=CONTEXT)
@click.option("--artifact", required=True, type=click.Path())
@click.option("--inits", default="zero,clamped_normal,normal:5,normal:10,lasso",
              show_default=True, help="zero, clamped_normal, normal:VARIANCE, lasso.")
@click.option("--ratio", type=float, default=0.1, show_default=True, help="CS m/n.")
@run_options
@user_errors
def init_command(artifact: str, inits: str, ratio: float, **options: Any) -> None:
    """Surgery from each initialisation strategy (box plot inits.png, tables)."""
    common = _common(options)
    names = parse_list(inits, "inits")
    from gs.experiments.inits import parse_init

    for name in names:
        parse_init(name)
    parse_ratios(str(ratio), "ratio")
    loaded = load(artifact, options["device"])
    images = _images(options["images"], loaded, options["limit"])
    result = studies.init_comparison(loaded, images, inits=names, ratio=ratio, **common)
    _echo_summary(result.summary)
    click.echo(str(common["out_dir"] / "inits.png"))


#: best's time budget, declared by the inversion settings (type and range).
_BUDGET = _SETTINGS["budget"]


@main.command("quality", context_settings=CONTEXT)
@click.option("--artifact", type=click.Path(),
              help="Artifact whose defaults and best are measured (leave out to draw the "
                   "cache only).")
@click.option("--weights", type=click.Path(),
              help="Whole generator, for the iagan / mganprior baselines.")
@click.option("--faces", "n_faces", type=int, default=4, show_default=True,
              help="The first N face photos of the test split.")
@click.option("--others", "n_other", type=int, default=4, show_default=True,
              help="The first N other photos of the test split.")
@click.option("--points", default=",".join(quality.POINTS), show_default=True,
              help=f"Comma-separated task points among: {', '.join(quality.POINTS)}.")
@click.option("--methods", default=",".join(quality.METHODS), show_default=True,
              help="Comma-separated: classical, defaults, best (every photo); dip, iagan, "
                   "mganprior (the first --slow photos of each group, their papers' "
                   "budgets).")
@click.option("--slow", type=int, default=2, show_default=True,
              help="The baselines run on the first N photos of each group.")
@declared_option(_BUDGET, optional=True, show_default=False,
                 help="best's seconds per image (default: the artifact's settings).")
@declared_option(JOB_PARAMS["seed"])
@override_options
@click.option("--threads", type=int, help="Torch threads (default: torch's).")
@click.option("-o", "--cache", required=True, type=click.Path(),
              help="JSON-lines cache: each result is appended as it comes; a run resumes "
                   "from it.")
@click.option("--table", is_flag=True, help="Print the Markdown table of the cache.")
@click.option("--plot", type=click.Path(), help="Draw PSNR against seconds here (PNG).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --plot file.")
@user_errors
def quality_command(artifact: str | None, weights: str | None, n_faces: int, n_other: int,
                    points: str, methods: str, slow: int, budget: float | None, seed: int,
                    steps: int | None, restarts: int | None, device: str,
                    threads: int | None, cache: str, table: bool, plot: str | None,
                    overwrite: bool) -> None:
    """quality="best" against the defaults, the classical answer and the papers'
    baselines on the test photos; the table and the PSNR-against-seconds plot."""
    point_names = quality.parse_points(parse_list(points, "points"))
    method_names = quality.parse_methods(parse_list(methods, "methods"))
    if artifact is None and not (table or plot):
        raise UserInputError("is needed to run the study; without it, ask for {table} or "
                             "{plot} of the cache", field="artifact", refs=("table", "plot"))
    for field, value, least in (("n_faces", n_faces, 0), ("n_other", n_other, 0),
                                ("slow", slow, 0), ("threads", threads, 1)):
        if value is not None and value < least:
            raise UserInputError(f"must be at least {least}, got {value}", field=field)
    JOB_PARAMS["seed"].check(seed)
    if budget is not None:
        _BUDGET.check(budget)
    overrides = _overrides(steps, restarts)
    if plot is not None:
        from gs.io import check_writable

        check_writable(plot, overwrite, "plot")
    if artifact is not None:
        if n_faces + n_other == 0:
            raise UserInputError("{n_faces} and {n_other} give no photo",
                                 refs=("n_faces", "n_other"))
        needs = [m for m in method_names if m in quality.GENERATOR_METHODS]
        if needs and slow and weights is None:
            raise UserInputError(f"is needed by {' and '.join(needs)} (the whole generator); "
                                 f"give it or leave {' and '.join(needs)} out of {{methods}}",
                                 field="weights", refs=("methods",))
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        loaded = load(artifact, device)
        new = quality.run(loaded, cache, points=point_names, methods=method_names,
                          n_faces=n_faces, n_other=n_other, slow=slow, weights=weights,
                          budget=budget, seed=seed, overrides=overrides,
                          echo=lambda line: click.echo(line, err=True))
        click.echo(f"{len(new)} new results in {cache}", err=True)
    if table or plot:
        records = quality.read_cache(cache)
        if not records:
            raise UserInputError("holds no results yet", field="cache", value=cache)
        if table:
            click.echo(quality.table(records))
        if plot:
            from gs.experiments.plots import quality_plot

            path = quality_plot(records, plot, points=list(quality.POINTS),
                                methods=quality.METHODS, marked=quality.MARKED,
                                labels=quality.LABELS)
            click.echo(str(path), err=table)
