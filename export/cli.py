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
@click.option("--truncation", type=float, default=None,
              help="BigGAN only: truncation in (0, 1], fixed in the artifact (default 0.4).")
@user_errors
def main(model: str | None, weights: str, cut: int | None, output: str, overwrite: bool,
         truncation: float | None) -> None:
    """Export MODEL (dcgan, began, vae, biggan) from --weights, cut at --cut, to --output.

    MODEL may be left out for checkpoints written by gs-train, which record it, and
    for a BigGAN folder (config.json + pytorch_model.bin).
    """
    path = export_artifact(weights, output, cut=cut, model=model, overwrite=overwrite,
                           truncation=truncation)
    click.echo(f"wrote {path}", err=True)
