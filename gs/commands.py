"""``gs``: commands about gs itself (``gs models``); the tools proper are gs-export,
gs-invert, gs-train, gs-serve, gs-experiment and gs-baseline."""

from __future__ import annotations

import json
from typing import Any

import click

import gs
from gs.clitools import flag


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def models_table(models: list[Any], left_out: list[Any]) -> str:
    """The installed models as a text table (one row each; left-out plug-ins last)."""
    rows = [("MODEL", "SOURCE", "CUTS", "LATENT AT THE RECOMMENDED CUT", "IMAGE", "TRAINER")]
    for m in models:
        if m.latents:
            cut = m.recommended_cut
            inputs = ", ".join(f"{name} {_shape(shape)}" for name, shape in m.latents[cut])
            cuts, latent = f"{min(m.latents)}-{max(m.latents)}", f"c={cut}: {inputs}"
            image = _shape(m.image_shape)
        else:
            needs = ", ".join(map(flag, m.needs))
            cuts, latent, image = "-", m.note or f"cuts and shapes follow from {needs}", "-"
        rows.append((m.name, m.source, cuts, latent, image, "yes" if m.trainer else "no"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
             for row in rows]
    lines += [f"left out: the {u.kind} {u.name!r} of {u.source} {u.problem}" for u in left_out]
    return "\n".join(line.rstrip() for line in lines)


def models_json(models: list[Any], left_out: list[Any]) -> str:
    """The installed models as JSON: ``{"models": [...], "unavailable": [...]}``."""
    from dataclasses import asdict

    return json.dumps({"models": [m.to_json() for m in models],
                       "unavailable": [asdict(u) for u in left_out]}, indent=2)


def list_models(as_json: bool = False) -> str:
    """The installed models (gs's and the plug-ins'), as ``gs models`` prints them."""
    from gs.models.listing import describe_models
    from gs.train.models import TRAINERS

    models, left_out = describe_models(TRAINERS)
    return (models_json if as_json else models_table)(models, left_out)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(gs.__version__, prog_name="gs")
def main() -> None:
    """Generator Surgery: what is installed. The tools are gs-export, gs-invert, gs-train,
    gs-serve, gs-experiment and gs-baseline (each has --help)."""


@main.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every cut's latents).")
def models_command(as_json: bool) -> None:
    """List the installed models: gs's own and those of plug-in packages (entry points
    gs.models and gs.trainers), with where each comes from, its cuts, the latent at its
    recommended cut, its image shape and whether gs-train trains it."""
    click.echo(list_models(as_json))
