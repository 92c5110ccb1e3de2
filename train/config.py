"""Typed settings of a training run shared by every model, and what a run returns.

Each field of :class:`TrainConfig` declares its ``gs-train`` flag: the help and range
in a :class:`gs.params.Param`, and where click needs more than the type says (paths
that must exist, a batch count or share) a click type beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import click

from gs.params import Param, declared_params

DEFAULT_MAX_EPOCHS = 25


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


@dataclass
class TrainConfig:
    """Everything ``gs-train <model>`` needs besides the model's own options.

    ``None`` where a field allows it means: the resumed run's value, else the default
    named in the help. Distributed settings are passed to ``lightning.Trainer``.
    """

    data: Annotated[Path, Param("Folder of training images (.png .jpg .webp .bmp .tif, "
                                "subfolders included)."), click.Path(exists=True, file_okay=False,
                                                          path_type=Path)]
    out: Annotated[Path, Param("Run folder: last.ckpt, checkpoints/, samples/, logs/.")]
    image_size: Annotated[int | None, Param(
        "Side of the images trained on and generated  [default: the model's, or the resumed "
        "run's].", min=1)] = None
    channels: Annotated[int | None, Param("3 for RGB, 1 for grey.  [default: 3]",
                                          choices=(1, 3))] = None
    batch_size: Annotated[int, Param("Images per batch and device.", min=1)] = 64
    max_epochs: Annotated[int | None, Param(
        f"Stop after this many epochs.  [default: {DEFAULT_MAX_EPOCHS} unless --max-steps]",
        min=1)] = None
    max_steps: Annotated[int | None, Param(
        "Stop after this many iterations (batches), resumed ones included.", min=1)] = None
    limit_train_batches: Annotated[int | float | None, Param(
        "Batches per epoch, or a share of an epoch (smoke runs)."), BatchLimit()] = None
    val_fraction: Annotated[float, Param("Share of images held out (seeded hash of the path).",
                                         min=0, max=1, max_open=True)] = 0.05
    num_workers: Annotated[int, Param("DataLoader worker processes.", min=0)] = 2
    seed: Annotated[int | None, Param("Seed of weights, noise, split and shuffling.  "
                                      "[default: 0]", min=0)] = None
    resume: Annotated[Path | None, Param(
        "Continue from this checkpoint (e.g. OUT/last.ckpt)."),
        click.Path(exists=True, dir_okay=False, path_type=Path)] = None
    sample_every: Annotated[int, Param("Write OUT/samples/step_N.png every N iterations.",
                                       min=1)] = 500
    num_samples: Annotated[int, Param("Images per sample grid.", min=1, max=1024)] = 64
    checkpoint_every: Annotated[int | None, Param(
        "Keep a checkpoint every N iterations.  [default: every epoch]", min=1)] = None
    log_every: Annotated[int, Param("Log losses every N iterations.", min=1)] = 50
    export_generator: Annotated[Path | None, Param(
        "Also save the generator here (a pytorch-examples state dict for dcgan), for "
        "gs-export.")] = None
    cut_before_training: Annotated[int | None, Param(
        "Remove the first C blocks before training (the failing control).", min=0)] = None
    overwrite: Annotated[bool, Param("Replace an earlier run in --out.")] = False
    accelerator: Annotated[str, Param("Lightning accelerator: cpu, gpu, mps, auto, ...")] = "auto"
    devices: Annotated[str | int, Param(
        "Lightning devices: a count, a list like 0,1, or auto.")] = "auto"
    strategy: Annotated[str, Param("Lightning strategy: ddp, fsdp, auto, ...")] = "auto"
    precision: Annotated[str | None, Param(
        "Lightning precision: 32-true, 16-mixed, bf16-mixed, ...")] = None
    num_nodes: Annotated[int, Param("Lightning num_nodes.", min=1)] = 1
    progress_bar: Annotated[bool, Param("Show the progress bar with the losses (stderr).")] = True

    def __post_init__(self) -> None:
        """Expand ``~`` in paths; check each given setting against its declared range
        (the :class:`UserInputError` names the field)."""
        for name, declared in declared_params(TrainConfig).items():
            value = getattr(self, name)
            if value is not None and declared.type is Path:
                setattr(self, name, Path(value).expanduser())
            elif value is not None and declared.param.bounded:
                declared.check(value)


@dataclass
class TrainResult:
    """Where a finished run left its outputs."""

    out: Path
    last_checkpoint: Path
    iterations: int
    epochs: int
    seconds: float
    sample_grids: list[Path] = field(default_factory=list)
    log_dir: Path | None = None
    generator_state: Path | None = None
    is_global_zero: bool = True
    """False in the other processes of a distributed run (they report nothing)."""
