"""``gs-export``: cut a trained generator and write a self-describing artifact."""

from __future__ import annotations

from typing import Any

import click

from gs.clitools import declared_parameter, user_errors
from gs.errors import UserInputError
from gs.export.api import export_artifact
from gs.io import check_writable
from gs.models import MODELS, model_class, models_with_option
from gs.params import declared_params


def export_option_params() -> list[click.Option]:
    """One flag per export option that a registered model declares (BigGAN: --truncation)."""
    params = []
    for name in sorted({option for cls in MODELS.values() for option in cls.export_options}):
        takers = models_with_option(name)
        declared = declared_params(model_class(takers[0]))[name]
        help = f"{', '.join(takers)} only: {declared.param.help.rstrip('.')}."
        params.append(declared_parameter(declared, optional=True, help=help))
    return params


class ExportCommand(click.Command):
    """gs-export, whose export-option flags follow the model registry when it runs (a
    model registered after import, e.g. by a plug-in, gets its flags too)."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        help_option = self.get_help_option(ctx)
        return [*self.params, *export_option_params(), *([help_option] if help_option else [])]


def list_models(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--list``: print the installed models (as ``gs models`` does) and stop."""
    if value and not ctx.resilient_parsing:
        from gs.commands import list_models as table

        click.echo(table())
        ctx.exit()


@click.command(cls=ExportCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--list", "list_", is_flag=True, is_eager=True, expose_value=False,
              callback=list_models, help="List the installed models and exit.")
@click.argument("model", required=False)
@click.option("--weights", type=click.Path(),
              help="Checkpoint, state dict or folder (or --pretrained).")
@click.option("--pretrained", metavar="NAME",
              help="A pretrained generator by name (gs weights list), fetched and checked; "
                   "instead of --weights.")
@click.option("--cut", default=None,
              help="Blocks to remove (0 = no surgery), or auto: choose by a sweep on "
                   "--val-images; default: the model's recommended cut.")
@click.option("--val-images", type=click.Path(),
              help="--cut auto: folder of validation images (subfolders are groups).")
@click.option("--val-ratio", type=float, default=0.1, show_default=True,
              help="--cut auto: CS measurement ratio m/n of the sweep.")
@click.option("--val-cuts", help="--cut auto: cuts to try, e.g. 0,1,2 (default: all valid).")
@click.option("--val-cache", type=click.Path(),
              help="--cut auto: keep per-image results here (shared with gs-experiment).")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Artifact path: .pt (TorchScript) or .onnx.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@user_errors(aliases={"out": "output", "cuts": "val_cuts", "ratio": "val_ratio",
                      "name": "pretrained"})
def main(model: str | None, weights: str | None, pretrained: str | None, cut: str | None,
         val_images: str | None, val_ratio: float, val_cuts: str | None,
         val_cache: str | None, output: str, overwrite: bool, **options: Any) -> None:
    """Export MODEL from --weights (or the generator --pretrained names), cut at --cut,
    to --output.

    MODEL may be left out for --pretrained, for checkpoints written by gs-train, which
    record it, and for the layouts only one model reads (a pytorch-examples state dict:
    dcgan; a folder with config.json + pytorch_model.bin: biggan). --list shows the
    installed models, plug-ins included; gs weights list shows the pretrained generators.

    MODEL module cuts a generator of your own whose blocks run one after another,
    with no model class: --module names the code that builds it, --blocks its blocks,
    e.g.

    \b
    gs-export module --module dcgan_generator:Generator --weights G.pth \\
        --blocks main.0-2,main.3-5,main.6-8,main.9-11,main.12-13 --cut 1 -o G_c1.pt
    """
    given = {name: value for name, value in options.items() if value is not None}
    extra: dict[str, Any] = {}
    recommended = None
    if (weights is None) == (pretrained is None):
        raise UserInputError("exactly one of {weights} and {pretrained} is needed",
                             refs=("weights", "pretrained"))
    if pretrained is not None:
        from gs.weights.fetch import resolve

        check_writable(output, overwrite)  # before a download, not after
        resolved = resolve(pretrained, model)
        weights, model = str(resolved.path), resolved.model
        recommended, extra = resolved.recommended, resolved.record
    if cut == "auto":
        from gs.export.autocut import auto_cut_from_flags

        cut_index, sweep = auto_cut_from_flags(weights, model, val_images, val_ratio, val_cuts,
                                               val_cache, output, overwrite, given)
        extra.update(sweep)
    else:
        if val_images is not None or val_cuts is not None or val_cache is not None:
            raise UserInputError("{val_images}, {val_cuts} and {val_cache} apply only to "
                                 "{cut} auto", refs=("val_images", "val_cuts", "val_cache",
                                                     "cut"))
        cut_index = _as_cut(cut)
        if cut_index is None and pretrained is not None:
            cut_index = resolved.entry.cut
    path = export_artifact(weights, output, cut=cut_index, model=model, overwrite=overwrite,
                           extra=extra, recommended=recommended, **given)
    click.echo(f"wrote {path}", err=True)


def _as_cut(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise UserInputError(f"must be a block count or auto, got {text!r}",
                             field="cut") from None

