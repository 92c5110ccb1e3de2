"""Typed settings of a training run shared by every model, and what a run returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_EPOCHS = 25


@dataclass
class TrainConfig:
    """Everything ``gs-train <model>`` needs besides the model's own options.

    Attributes:
        data: folder of training images (searched recursively).
        out: run folder: ``last.ckpt``, periodic checkpoints, ``samples/``, ``logs/``.
        image_size: side of the generated images; ``None``: the generator's default
            (64 for dcgan, 128 for began and vae), or the resumed run's.
        channels: 3 (RGB) or 1 (grey); ``None``: the generator's default (3), or the
            resumed run's.
        batch_size: images per batch and device.
        max_epochs: stop after this many epochs (``None`` with ``max_steps`` unset: 25).
        max_steps: stop after this many iterations (batches), counted from the start
            of the run, including those before a resume.
        limit_train_batches: batches per epoch (int) or share of an epoch (float).
        val_fraction: share of images held out (see :mod:`gs.train.data` for the rule).
        num_workers: DataLoader worker processes.
        seed: seeds weights, training noise, the split, shuffling and sample latents;
            ``None``: 0, or the resumed run's.
        resume: Lightning checkpoint to continue from.
        sample_every: write a grid of samples from fixed latents every N iterations.
        num_samples: images in each sample grid.
        checkpoint_every: keep a checkpoint every N iterations; ``None``: every epoch.
        log_every: log losses every N iterations.
        export_generator: also write the generator file here (see
            :func:`gs.models.checkpoint.generator_file`).
        cut_before_training: train a generator with its first C blocks removed (the
            paper's failing control); ``None``: 0, or the resumed run's.
        overwrite: replace the outputs of an earlier run in ``out``.
        accelerator, devices, strategy, precision, num_nodes: passed to ``lightning.Trainer``.
        progress_bar: show Lightning's progress bar (on stderr).
    """

    data: Path
    out: Path
    image_size: int | None = None
    channels: int | None = None
    batch_size: int = 64
    max_epochs: int | None = None
    max_steps: int | None = None
    limit_train_batches: int | float | None = None
    val_fraction: float = 0.05
    num_workers: int = 2
    seed: int | None = None
    resume: Path | None = None
    sample_every: int = 500
    num_samples: int = 64
    checkpoint_every: int | None = None
    log_every: int = 50
    export_generator: Path | None = None
    cut_before_training: int | None = None
    overwrite: bool = False
    accelerator: str = "auto"
    devices: str | int = "auto"
    strategy: str = "auto"
    precision: str | None = None
    num_nodes: int = 1
    progress_bar: bool = True


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
