"""``gs-export``: cut a trained generator and write a self-describing artifact."""

from __future__ import annotations

from typing import Any

import click

from gs.clitools import user_errors
from gs.export.api import export_artifact
from gs.models import MODELS, model_class, models_with_option
from gs.params import declared_params


def export_option_flags(command: Any) -> Any:
    """One flag per export option that a registered model declares (BigGAN: --truncation)."""
    names = sorted({option for cls in MODELS.values() for option in cls.export_options})
    for name in reversed(names):
        takers = models_with_option(name)
        declared = declared_params(model_class(takers[0]))[name]
        command = click.option(
            f"--{name.replace('_', '-')}", name, type=declared.type, default=None,
            help=f"{', '.join(takers)} only: {declared.param.help} "
                 f"(default {declared.default}).")(command)
    return command


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", required=False)
@click.option("--weights", required=True, type=click.Path(),
              help="Checkpoint, state dict or folder.")
@click.option("--cut", type=int, default=None,
              help="Blocks to remove (0 = no surgery); default: the model's recommended cut.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Artifact path: .pt (TorchScript) or .onnx.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@export_option_flags
@user_errors
def main(model: str | None, weights: str, cut: int | None, output: str, overwrite: bool,
         **options: Any) -> None:
    """Export MODEL from --weights, cut at --cut, to --output.

    MODEL may be left out for checkpoints written by gs-train, which record it, and
    for the layouts only one model reads (a pytorch-examples state dict: dcgan; a
    folder with config.json + pytorch_model.bin: biggan).
    """
    given = {name: value for name, value in options.items() if value is not None}
    path = export_artifact(weights, output, cut=cut, model=model, overwrite=overwrite, **given)
    click.echo(f"wrote {path}", err=True)
