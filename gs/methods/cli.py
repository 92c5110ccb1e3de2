"""``gs-baseline``: recover images with any registered method (thin layer over gs.methods)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import click

from gs.clitools import declared_option, device_option, task_options, user_errors
from gs.errors import UserInputError
from gs.jobs import JOB_PARAMS, InversionJob, OperatorOptions, list_inputs
from gs.methods import METHODS, build_method
from gs.methods.presets import (
    METHOD_PRESETS,
    CSGMSettings,
    LassoSettings,
    MGANPriorSettings,
    auto_preset,
    preset,
)
from gs.params import declared_params
from gs.results import StepEvent

#: Least seconds between two progress lines on stderr (a fast method prints none).
PROGRESS_INTERVAL = 5.0

#: CLI flag → settings field it overrides (where the method's settings have it).
OVERRIDE_FLAGS = {
    "--steps": "steps", "--lr": "lr", "--restarts": "restarts", "--alpha": "alpha",
    "--solver": "solver", "--cut": "layer", "--codes": "codes",
    "--back-projection": "back_projection",
}


def progress_line(method: str, images: int, event: StepEvent) -> str:
    """One line of progress, e.g. ``dip: image 1/2 restart 1/1 step 400/2000 loss 1.2e-03``
    (``images``: how many the job has; an event about a whole batch names no image)."""
    parts = [f"{method}:"]
    if event.image is not None:
        parts.append(f"image {event.image + 1}/{images}")
    if event.restart is not None:
        parts.append(f"restart {event.restart + 1}/{event.restarts}")
    elif event.restarts is not None:
        parts.append(f"{event.restarts} restart{'s' * (event.restarts != 1)}")
    if event.stages is not None and event.stages > 1:
        parts.append(f"stage {event.stage + 1}/{event.stages}")
    elif event.image is None:  # surgery: its stage's cut
        parts.append(f"cut {event.cut}")
    parts.append(f"step {event.step}/{event.steps}")
    losses = [float(v) for v in event.losses]
    if len(losses) == 1:
        parts.append(f"loss {losses[0]:.2e}")
    elif losses:
        parts.append(f"loss {min(losses):.2e}..{max(losses):.2e}")
    return " ".join(parts)


def progress_printer(method: str, images: int, interval: float = PROGRESS_INTERVAL,
                     clock: Callable[[], float] = time.monotonic) -> Callable[[StepEvent], None]:
    """An ``on_step`` that echoes :func:`progress_line` to stderr at most once every
    ``interval`` seconds (the first after ``interval`` seconds; 0: every step)."""
    last = [clock()]

    def on_step(event: StepEvent) -> None:
        now = clock()
        if now - last[0] >= interval:
            last[0] = now
            click.echo(progress_line(method, images, event), err=True)

    return on_step


def _override_option(flag: str, declaring: type, methods: str) -> Callable[[Any], Any]:
    """The optional click option ``flag`` of a settings field (:data:`OVERRIDE_FLAGS`),
    typed and described by its declaration in ``declaring`` (the methods that have it
    named first); its range is checked where the settings are built."""
    field = OVERRIDE_FLAGS[flag]
    declared = replace(declared_params(declaring)[field], name=flag[2:].replace("-", "_"))
    return declared_option(declared, optional=True, show_default=False,
                           help=f"{methods}: {declared.param.help}")


def override_options(command: Any) -> Any:
    """gs-baseline's flags that override one field of a method's preset (all but the
    switch ``--back-projection``), from the fields' declarations."""
    for flag, declaring, methods in reversed((
            ("--steps", CSGMSettings, "single-stage methods"),
            ("--lr", CSGMSettings, "Adam methods"),
            ("--restarts", CSGMSettings, "methods with restarts"),
            ("--alpha", LassoSettings, "lasso"),
            ("--solver", LassoSettings, "lasso"),
            ("--cut", MGANPriorSettings, "mganprior"),
            ("--codes", MGANPriorSettings, "mganprior"))):
        command = _override_option(flag, declaring, methods)(command)
    return command


def settings_with(method: str, base: Any, overrides: dict[str, Any]) -> Any:
    """``base`` with the non-None flag values applied; a flag the method lacks is an error."""
    names = {f.name for f in fields(base)}
    changes = {}
    for flag, value in overrides.items():
        if value is None:
            continue
        field = OVERRIDE_FLAGS[flag]
        if field not in names:
            raise UserInputError(f"does not apply to {method}", field=field)
        changes[field] = value
    return base.override(**changes)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("method_name", metavar="METHOD", type=click.Choice(list(METHODS)))
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--artifact", type=click.Path(),
              help="gs artifact (.pt or .onnx): surgery, no-surgery, csgm.")
@click.option("--weights", type=click.Path(), help="Whole generator: iagan, mganprior.")
@click.option("--model", help="Model of --weights (dcgan, began, vae, biggan).")
@task_options
@click.option("--preset", "preset_name", help="Named settings of the method (see --help).")
@override_options
@click.option("--back-projection", is_flag=True, default=None, help="iagan: back-project.")
@click.option("--size", type=int, help="Image side for methods without a generator (64).")
@declared_option(JOB_PARAMS["seed"])
@device_option("cpu")
@click.option("-o", "--output-dir", required=True, type=click.Path(),
              help="Folder for the recovered images.")
@click.option("--report", type=click.Path(), help="Write a JSON report here.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@user_errors(aliases={"image": "IMAGES", "layer": "cut", "preset": "preset_name"})
def main(method_name: str, images: tuple[str, ...], artifact: str | None, weights: str | None,
         model: str | None, task: str, operator: str | None, simulate: bool,
         mask: str | None, preset_name: str | None, steps: int | None,
         lr: float | None, restarts: int | None, alpha: float | None, solver: str | None,
         cut: int | None, codes: int | None, back_projection: bool | None, size: int | None,
         seed: int, device: str, output_dir: str, report: str | None,
         overwrite: bool, **operator_options: Any) -> None:
    """Recover IMAGES with METHOD on gs-invert's measurements and report format.

    Methods that optimise in steps print their progress to stderr every few seconds.

    \b
    Methods and presets (Table 3 of the paper's supplement):
    """
    from gs.devices import resolve_device
    from gs.jobs import run_job

    info = METHODS[method_name]
    device = resolve_device(device)
    loaded, generator, source = None, None, None
    if info.prior == "artifact":
        if artifact is None:
            raise UserInputError(f"is required by {method_name}", field="artifact")
        from gs.artifacts import load

        loaded = load(artifact, device=device)
        source, shape = Path(artifact), tuple(loaded.metadata.image_shape)
    elif info.prior == "generator":
        if weights is None or model is None:
            raise UserInputError(f"and {{model}} are required by {method_name}", field="weights",
                                 refs=("model",))
        from gs.methods.generators import load_full_generator

        generator = load_full_generator(weights, model)
        source, shape = Path(weights), tuple(generator.image_shape)
    else:
        side = 64 if size is None else size
        if side < 8:
            raise UserInputError(f"must be at least 8 pixels, got {side}", field="size")
        shape = (3, side, side)
    settings = _settings(method_name, preset_name, generator, shape, task, {
        "--steps": steps, "--lr": lr, "--restarts": restarts, "--alpha": alpha,
        "--solver": solver, "--cut": cut, "--codes": codes,
        "--back-projection": back_projection})
    built = build_method(method_name, task=task, settings=settings, artifact=loaded,
                         generator=generator, device=device, image_side=shape[1])
    job = InversionJob(
        artifact=source, images=tuple(Path(p) for p in images),
        output_dir=Path(output_dir),
        operator=OperatorOptions(task, operator, **operator_options),
        seed=seed, simulate=simulate, mask=None if mask is None else Path(mask),
        report=None if report is None else Path(report), overwrite=overwrite,
        device=device)
    count = len(list_inputs(job))  # folders count by the images they hold
    result = run_job(job, loaded, method=built, image_shape=shape,
                     on_step=progress_printer(method_name, count, PROGRESS_INTERVAL))
    for entry in result.images:
        score = "" if entry["psnr"] is None else f"  PSNR {entry['psnr']:.2f} dB"
        click.echo(f"{entry['path']} -> {entry['output']}{score}", err=True)


def _settings(method_name: str, preset_name: str | None, generator: Any,
              shape: tuple[int, int, int], task: str, overrides: dict[str, Any]) -> Any:
    if method_name not in METHOD_PRESETS:  # surgery (the artifact's settings) and classical
        if any(v is not None for v in overrides.values()) or preset_name is not None:
            where = ("the artifact; use gs-invert to change them"
                     if METHODS[method_name].kind == "surgery" else
                     "the task's classical method; name that method to change them")
            raise UserInputError(f"{method_name} takes its settings from {where}")
        return None
    if preset_name is not None:
        base = preset(method_name, preset_name)
    else:
        model = None if generator is None else generator.model_name
        base = auto_preset(method_name, model=model, image_side=shape[1], task=task)
    return settings_with(method_name, base, overrides)


main.help = (main.help or "").rstrip() + "".join(
    f"\n    {name:14s} {info.summary}"
    + (f" [presets: {', '.join(METHOD_PRESETS[name])}]" if name in METHOD_PRESETS else "")
    for name, info in METHODS.items())
