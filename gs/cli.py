"""``gs-invert``: recover images with a cut-generator artifact (thin layer over gs.jobs).

Flags are parsed into a :class:`gs.jobs.InversionJob`; library errors name the
job's fields and :func:`gs.clitools.user_errors` names them as these flags.
Exit codes: see :mod:`gs.clitools` (3 = some images failed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from gs.artifacts import Artifact, artifact_format, load
from gs.clitools import (
    EXIT_SOME_FAILED,
    declared_option,
    device_option,
    interruptible,
    task_options,
    user_errors,
)
from gs.compare import column_label, comparison_job, comparison_paths, write_comparisons
from gs.errors import UserInputError
from gs.io import check_writable
from gs.jobs import (
    JOB_PARAMS,
    InversionJob,
    JobReport,
    OperatorOptions,
    PreparedJob,
    method_settings,
    prepare_job,
    run_job,
)
from gs.latent import INIT_KINDS, INIT_PARAMS, InitSpec
from gs.methods import Method, build_method
from gs.methods.answer import GENERATOR_IMAGE
from gs.methods.classical import classical_available, classical_name
from gs.methods.surgery import Surgery
from gs.params import declared_params
from gs.settings import PRESETS, InversionSettings
from gs.train.config import TrainConfig

#: gs-invert's --init: an initial distribution, or progressive surgery from shallower cuts.
INIT_CHOICES = (*INIT_KINDS, "progressive")


#: The Lightning settings gs-train declares, which --devices shares (num_nodes,
#: accelerator, strategy).
LIGHTNING = declared_params(TrainConfig)

#: Library fields that no parameter of gs-invert has the name of.
FIELD_FLAGS = {"image": "IMAGE", "keep_best": "--last-iterate"}


#: The inversion settings that a flag of the same name sets (``--inner-iterations``), in
#: the order of ``--help``; the flag's type, help and allowed values are the setting's
#: declaration (:class:`gs.settings.InversionSettings`). Two settings have flags of their
#: own: ``keep_best`` is ``--last-iterate`` (its opposite, a switch) and ``schedule`` is
#: ``--schedule`` (cuts written ``0,1``, only with ``--init progressive``).
SETTING_FLAGS = ("steps", "inner_iterations", "lr", "restarts", "optimizer", "tolerance",
                 "keep_restarts_after", "precision", "line_search", "answer", "quality",
                 "budget", "holdout")


#: The declarations of the inversion settings (:class:`gs.settings.InversionSettings`).
SETTINGS = declared_params(InversionSettings)


def setting_options(command: Any) -> Any:
    """The :data:`SETTING_FLAGS` of a click command, each None unless given (then the
    ``--preset`` settings recorded in the artifact apply). The help names no default,
    since the artifact records them, except the budget's, which every preset shares."""
    for name in reversed(SETTING_FLAGS):
        command = declared_option(SETTINGS[name], optional=True,
                                  show_default=name == "budget")(command)
    return command


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("artifact", type=click.Path())
@click.argument("images", nargs=-1, required=True, type=click.Path())
@task_options
@click.option("--preset", type=click.Choice(PRESETS), default="recommended", show_default=True,
              help="recommended: the measured defaults recorded in the artifact (progressive "
                   "surgery, line search, restarts screened, stop by held-out measurements): "
                   "faster and better. paper: the paper's protocol exactly (3 restarts to the "
                   "end, 25x20 L-BFGS iterations, last iterate, from noise at the cut), for "
                   "reproducing its figures. Flags below override either.")
@setting_options
@click.option("--last-iterate", is_flag=True,
              help="End each restart at its last point, not its best (the paper's protocol).")
@click.option("--init", type=click.Choice(INIT_CHOICES),
              help="Initial latents; progressive solves shallower cuts first.")
@declared_option(INIT_PARAMS["init_std"])
@declared_option(SETTINGS["schedule"], optional=True, show_default=False,
                 help="Cuts for --init progressive, e.g. 0,1 (default 0,<cut>).")
@declared_option(JOB_PARAMS["seed"])
@device_option()
@declared_option(JOB_PARAMS["batch_size"])
@click.option("-o", "--output-dir", required=True, type=click.Path(),
              help="Folder for the recovered images.")
@click.option("--report", type=click.Path(), help="Write a JSON report here.")
@click.option("--save-measurements", is_flag=True,
              help="With --simulate: also write each observation, <stem>.npz (cs, mri) "
                   "or <stem>_observed.png (deblur, sr, denoise).")
@click.option("--compare", type=click.Path(),
              help="Also recover with this artifact's generator (e.g. the c=0 one: no "
                   "surgery) into OUTPUT_DIR/compare/ and with the task's classical answer "
                   "into OUTPUT_DIR/classical/, and write <stem>_compare.png: truth, "
                   "observation, classical, it, this run, labelled with PSNR/SSIM.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--resume", is_flag=True,
              help="Continue the job whose --report exists: skip the images it records as "
                   "done, redo the rest.")
@click.option("--devices", type=int,
              help="Shard the images over N devices with Lightning (one process each).")
@declared_option(LIGHTNING["num_nodes"], help="Nodes for --devices (under a cluster launcher).")
@declared_option(LIGHTNING["accelerator"],
                 help="Lightning accelerator for --devices: auto, cpu, gpu.")
@declared_option(LIGHTNING["strategy"],
                 help="Lightning strategy for --devices (auto = ddp_spawn).")
@user_errors(aliases=FIELD_FLAGS)
def main(artifact: str, images: tuple[str, ...], task: str, operator: str | None, simulate: bool,
         mask: str | None, preset: str, last_iterate: bool, init: str | None,
         init_std: float, schedule: tuple[int, ...] | None, seed: int, device: str, batch_size: int,
         output_dir: str, report: str | None, save_measurements: bool,
         compare: str | None, overwrite: bool, resume: bool, devices: int | None,
         num_nodes: int, accelerator: str, strategy: str, **flags: Any) -> None:
    """Recover IMAGES with the cut generator ARTIFACT (.pt or .onnx from gs-export).

    A .pt artifact runs on torch; an .onnx artifact on onnxruntime and numpy
    (--device cuda: onnxruntime's CUDA execution provider).

    IMAGES are files or folders (every image below a folder, sorted, its layout
    kept under --output-dir).
    """
    if devices is not None and devices < 1:
        raise UserInputError(f"must be at least 1, got {devices}", field="devices")
    LIGHTNING["num_nodes"].check(num_nodes)
    if schedule is not None and init != "progressive":
        raise UserInputError("needs {init} progressive", field="schedule", refs=("init",))
    if devices is not None and artifact_format(artifact) == "onnx":
        raise UserInputError("shards .pt artifacts only; run .onnx artifacts without it",
                             field="devices")
    loaded = load(artifact, device)
    overrides = {name: flags.pop(name) for name in SETTING_FLAGS}
    overrides["keep_best"] = False if last_iterate else None
    operator_options = flags  # what is left: the task's factory options
    settings = loaded.metadata.settings_for(task, preset).with_user_changes(**overrides)
    init_spec = None
    if init == "progressive":
        given = None if schedule is None else SETTINGS["schedule"].check(schedule)
        cuts = given or settings.schedule or (0, loaded.metadata.cut)
        settings = settings.override(schedule=tuple(sorted(set(cuts))))
    elif init is not None:
        init_spec = InitSpec(init, std=init_std)
    job = InversionJob(
        artifact=Path(artifact), images=tuple(Path(p) for p in images),
        output_dir=Path(output_dir),
        operator=OperatorOptions(task, operator, **operator_options),
        settings=settings, init=init_spec, seed=seed, simulate=simulate,
        mask=None if mask is None else Path(mask), batch_size=batch_size,
        report=None if report is None else Path(report), overwrite=overwrite,
        save_measurements=save_measurements, resume=resume, device=device,
    )
    compared = None
    if compare is not None:
        if devices is not None:
            raise UserInputError("runs on one device; leave out {devices}", field="compare",
                                 refs=("devices",))
        compared = _comparison(job, loaded, Path(compare), overrides)
    if devices is not None:
        from gs.distributed import run_sharded

        result = run_sharded(job, devices=devices, num_nodes=num_nodes, accelerator=accelerator,
                             strategy=strategy)
        if result is not None:
            _finish(result)
        return
    done = 0

    def where() -> str:
        if report is None:
            return f"{done} images done are written (pass --report to be able to resume)"
        return f"{done} images done are recorded in {report}; rerun with --resume to finish"

    with interruptible(where), tqdm(unit="image", desc="gs-invert", leave=False,
                                    disable=None) as bar:
        def progress(entry: dict) -> None:
            nonlocal done
            done += 1
            bar.update(1)

        result = run_job(job, loaded, progress=progress)
        if compared is not None:
            shape = tuple(loaded.metadata.image_shape)
            columns = [(col.label, run_job(col.job, col.artifact, method=col.method,
                                           image_shape=shape, prepared=col.prepared))
                       for col in compared]
            columns.append((column_label(loaded.metadata.cut), result))
            for picture in write_comparisons(job, shape, columns):
                click.echo(f"comparison -> {picture}", err=True)
    _finish(result)


@dataclass(frozen=True)
class _Compared:
    """A ``--compare`` column: its caption, its job (prepared: outputs checked), and the
    method and artifact (None: no generator) that recover it."""

    label: str
    job: InversionJob
    prepared: PreparedJob
    method: Method
    artifact: Artifact | None


def _comparison(job: InversionJob, loaded: Artifact, path: Path,
                overrides: dict) -> list[_Compared]:
    """The ``--compare`` columns in picture order, every output checked before any work:
    the task's classical answer (into ``classical/``, where the task has one) and the
    other artifact's generator's own image (from its recommended settings with the same
    overrides, into ``compare/``)."""
    try:
        other = load(path, loaded.device)
    except UserInputError as exc:
        if exc.field != "artifact":
            raise
        raise UserInputError(exc.problem, field="compare", value=exc.value,
                             refs=exc.refs) from None
    if tuple(other.metadata.image_shape) != tuple(loaded.metadata.image_shape):
        raise UserInputError(
            f"makes images of shape {tuple(other.metadata.image_shape)}, ARTIFACT "
            f"{tuple(loaded.metadata.image_shape)}", field="compare", value=path)
    # the other artifact's generator shows its own image: the method holds that rule
    own = Surgery(other, task=job.operator.task, init=job.init, rule=GENERATOR_IMAGE,
                  settings=other.metadata.settings_for(job.operator.task).with_user_changes(
                      **overrides))
    other_job = comparison_job(job, path, own.settings)
    columns = [_Compared(column_label(other.metadata.cut), other_job,
                         prepare_job(other_job, method_settings(own)), own, other)]
    if classical_available(job.operator.task):
        method = build_method("classical", task=job.operator.task)
        classical_job = replace(other_job, artifact=None, settings=None,
                                output_dir=job.output_dir / "classical")
        columns.insert(0, _Compared(f"classical: {classical_name(job.operator.task)}",
                                    classical_job, prepare_job(classical_job,
                                                               method_settings(method)),
                                    method, None))
    for picture in comparison_paths(job):
        check_writable(picture, job.overwrite, "compare")
    return columns


def _finish(report: JobReport) -> None:
    """Print one line per image; exit with code 3 when some images failed."""
    for entry in report.images:
        if entry.get("failure"):
            click.echo(f"{entry['path']} FAILED: {entry['failure']}", err=True)
            continue
        score = "" if entry["psnr"] is None else f"  PSNR {entry['psnr']:.2f} dB"
        click.echo(f"{entry['path']} -> {entry['output']}{score}", err=True)
    failed = report.failed
    if failed:
        click.echo(f"gs-invert: {len(failed)} of {len(report.images)} images failed "
                   "(see the report's failure entries)", err=True)
        raise SystemExit(EXIT_SOME_FAILED)
