"""``gs-train``: one sub-command per registered model, over the shared options of
:class:`TrainConfig`.

Thin by design: parse, build the typed settings, call :func:`gs.train.fit.fit`,
print. Each model's own flags are generated from its declared hyperparameters
(:mod:`gs.train.hparams`). Progress goes to stderr; the path of the final checkpoint
is printed on stdout. A user error exits with code 2 and one sentence.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import click

import gs
from gs.clitools import CliError, declared_options, user_errors
from gs.params import declared_params
from gs.train.config import TrainConfig
from gs.train.fit import fit
from gs.train.hparams import hyperparameters
from gs.train.models import TRAINERS
from gs.train.module import GeneratorModule


def run_and_report(train: Callable[[], Any]) -> None:
    """Run ``train``; turn a user error into exit code 2, report the outputs."""
    result = user_errors(train)()
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


class TrainerGroup(click.Group):
    """One sub-command per registered trainer, built when asked for (so that a trainer
    registered after import, e.g. by a plug-in, is a command too)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(TRAINERS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in TRAINERS:
            return train_command(name, TRAINERS[name])
        if name in TRAINERS.failures:  # a plug-in that was left out: say why
            raise CliError(f"gs-train {name} {TRAINERS.unknown(name)}")
        return None


@click.group(cls=TrainerGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    """``gs-train NAME``: one option per field of :class:`TrainConfig`, then one per
    declared hyperparameter of ``module_class``."""

    def command(**kwargs: Any) -> None:
        shared = {f.name: kwargs.pop(f.name) for f in fields(TrainConfig)}
        given = {key: value for key, value in kwargs.items() if value is not None}
        run_and_report(lambda: fit(name, TrainConfig(**shared), **given))

    command.__doc__ = inspect.getdoc(module_class).split("\n\n")[0]
    shared_flags = declared_options(declared_params(TrainConfig).values())
    model_flags = declared_options([hp.declared for hp in hyperparameters(module_class).values()],
                                   optional=True)
    return click.command(name)(shared_flags(model_flags(command)))
