"""``gs-train``: one sub-command per registered model, over the shared options of
:class:`TrainConfig`.

Thin by design: parse, build the typed settings, call :func:`gs.train.runner.fit`,
print. Each model's own flags are generated from its declared hyperparameters
(:mod:`gs.train.hparams`). Progress goes to stderr; the path of the final checkpoint
is printed on stdout. A user error exits with code 2 and one sentence.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import click

import gs
from gs.errors import UserInputError
from gs.train.config import TrainConfig
from gs.train.hparams import hyperparameter_options
from gs.train.models import TRAINERS
from gs.train.module import GeneratorModule
from gs.train.runner import fit

F = Callable[..., Any]
DEFAULTS = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}


class BatchLimit(click.ParamType):
    """An integer number of batches, or a float share of an epoch in (0, 1]."""

    name = "N|FRACTION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float):
            return value
        text = str(value).strip()
        try:
            if text.isdigit() and int(text) >= 1:
                return int(text)
            number = float(text)
        except ValueError:
            number = -1.0
        if 0 < number <= 1:
            return number
        self.fail(f"expected a number of batches (1, 2, ...) or a share in (0, 1], got {value!r}")


def shared_options(command: F) -> F:
    """The options every model's sub-command takes (data, run folder, Lightning pass-through)."""
    options = [
        click.option("--data", required=True,
                     type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="Folder of training images (.jpg .png .webp, subfolders included)."),
        click.option("--out", required=True, type=click.Path(path_type=Path),
                     help="Run folder: last.ckpt, checkpoints/, samples/, logs/."),
        click.option("--image-size", type=click.IntRange(min=1), default=None,
                     help="Side of the images trained on and generated  "
                          "[default: the model's, or the resumed run's]."),
        click.option("--channels", type=click.Choice(["1", "3"]), default=None,
                     callback=lambda ctx, param, value: None if value is None else int(value),
                     help="3 for RGB, 1 for grey.  [default: 3]"),
        click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULTS["batch_size"],
                     show_default=True, help="Images per batch and device."),
        click.option("--max-epochs", type=click.IntRange(min=1), default=None,
                     help="Stop after this many epochs.  [default: 25 unless --max-steps]"),
        click.option("--max-steps", type=click.IntRange(min=1), default=None,
                     help="Stop after this many iterations (batches), resumed ones included."),
        click.option("--limit-train-batches", type=BatchLimit(), default=None,
                     help="Batches per epoch, or a share of an epoch (smoke runs)."),
        click.option("--val-fraction", type=click.FloatRange(0, 1, max_open=True),
                     default=DEFAULTS["val_fraction"],
                     show_default=True, help="Share of images held out (seeded hash of the path)."),
        click.option("--num-workers", type=click.IntRange(min=0), default=DEFAULTS["num_workers"],
                     show_default=True, help="DataLoader worker processes."),
        click.option("--seed", type=click.IntRange(min=0), default=None,
                     help="Seed of weights, noise, split and shuffling.  [default: 0]"),
        click.option("--resume", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="Continue from this checkpoint (e.g. OUT/last.ckpt)."),
        click.option("--sample-every", type=click.IntRange(min=1), default=DEFAULTS["sample_every"],
                     show_default=True, help="Write OUT/samples/step_N.png every N iterations."),
        click.option("--num-samples", type=click.IntRange(1, 1024), default=DEFAULTS["num_samples"],
                     show_default=True, help="Images per sample grid."),
        click.option("--checkpoint-every", type=click.IntRange(min=1), default=None,
                     help="Keep a checkpoint every N iterations.  [default: every epoch]"),
        click.option("--log-every", type=click.IntRange(min=1), default=DEFAULTS["log_every"],
                     show_default=True, help="Log losses every N iterations."),
        click.option("--export-generator", type=click.Path(path_type=Path), default=None,
                     help="Also save the generator here (a pytorch-examples state dict for "
                          "dcgan), for gs-export."),
        click.option("--cut-before-training", type=click.IntRange(min=0), default=None,
                     help="Remove the first C blocks before training (the failing control)."),
        click.option("--overwrite", is_flag=True, help="Replace an earlier run in --out."),
        click.option("--accelerator", default=DEFAULTS["accelerator"],
                     show_default=True, help="Lightning accelerator: cpu, gpu, mps, auto, ..."),
        click.option("--devices", default=DEFAULTS["devices"], show_default=True,
                     help="Lightning devices: a count, a list like 0,1, or auto."),
        click.option("--strategy", default=DEFAULTS["strategy"],
                     show_default=True, help="Lightning strategy: ddp, fsdp, auto, ..."),
        click.option("--precision", default=None,
                     help="Lightning precision: 32-true, 16-mixed, bf16-mixed, ..."),
        click.option("--num-nodes", type=click.IntRange(min=1), default=DEFAULTS["num_nodes"],
                     show_default=True, help="Lightning num_nodes."),
        click.option("--progress-bar/--no-progress-bar", default=DEFAULTS["progress_bar"],
                     show_default=True, help="Show the progress bar with the losses (stderr)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_and_report(train: Callable[[], Any]) -> None:
    """Run ``train``; turn a user error into exit code 2, report the outputs."""
    try:
        result = train()
    except UserInputError as exc:
        raise click.UsageError(str(exc)) from None
    if not result.is_global_zero:
        return
    click.echo(
        f"gs-train: finished after {result.iterations} iterations ({result.epochs} epochs) "
        f"in {result.seconds:.1f} s; samples in {result.out / 'samples'}, "
        f"logs in {result.log_dir}",
        err=True,
    )
    if result.generator_state is not None:
        click.echo(f"gs-train: generator state dict written to {result.generator_state}", err=True)
    click.echo(str(result.last_checkpoint))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(gs.__version__, prog_name="gs-train")
def main() -> None:
    """Train a generator on a folder of images; gs-export then cuts it.

    \b
    gs-train dcgan --data ~/celeba --image-size 64 --max-epochs 25 --out runs/dcgan
    gs-export --weights runs/dcgan/last.ckpt --cut 1 -o dcgan_c1.pt

    Scale with Lightning's flags: --accelerator, --devices, --strategy, --precision,
    --num-nodes.
    """


def train_command(name: str, module_class: type[GeneratorModule]) -> click.Command:
    """``gs-train NAME``: the shared options plus the model's declared hyperparameters."""

    def command(**kwargs: Any) -> None:
        config = TrainConfig(**{f.name: kwargs.pop(f.name) for f in fields(TrainConfig)})
        given = {key: value for key, value in kwargs.items() if value is not None}
        run_and_report(lambda: fit(name, config, **given))

    command.__doc__ = inspect.getdoc(module_class).split("\n\n")[0]
    return main.command(name)(shared_options(hyperparameter_options(module_class)(command)))


for _name, _module in sorted(TRAINERS.items()):
    train_command(_name, _module)
