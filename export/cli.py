"""``gs-export``: cut a trained generator and write a self-describing artifact."""

from __future__ import annotations

import click

from gs.clitools import user_errors
from gs.export.api import export_artifact


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", required=False)
@click.option("--weights", required=True, type=click.Path(),
              help="Checkpoint, state dict or folder.")
@click.option("--cut", type=int, default=None,
              help="Blocks to remove (0 = no surgery); default: the model's recommended cut.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Artifact path: .pt (TorchScript) or .onnx.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@user_errors
def main(model: str | None, weights: str, cut: int | None, output: str, overwrite: bool) -> None:
    """Export MODEL (dcgan, ...) from --weights, cut at --cut, to --output.

    MODEL may be left out for checkpoints written by gs-train, which record it.
    """
    path = export_artifact(weights, output, cut=cut, model=model, overwrite=overwrite)
    click.echo(f"wrote {path}", err=True)
