"""What every ``gs-train`` model shares: run folder, Trainer, callbacks, :func:`fit`.

:func:`fit` writes nothing until every input has been checked: the resumed
checkpoint, the options, the module, the data folder, the run folder and the
Trainer's settings. Distributed training is Lightning's; the process of global
rank 0 prepares the run folder and writes the sample grids and files.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from lightning.pytorch.strategies import DDPStrategy
from PIL import Image
from torch import Tensor

from gs.errors import UserInputError
from gs.io import atomic_write, image_grid, to_uint8
from gs.models import checkpoint as contract
from gs.train.config import DEFAULT_MAX_EPOCHS, TrainConfig, TrainResult
from gs.train.data import ImageFolderDataModule
from gs.train.hparams import SHARED_GENERATOR_ARGUMENTS, resolve, resolve_hyperparameters
from gs.train.models import TRAINERS
from gs.train.module import GeneratorModule

LAST_CHECKPOINT = "last.ckpt"
SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINTS_DIR = "checkpoints"
RUN_OUTPUTS = (LAST_CHECKPOINT, SAMPLES_DIR, LOGS_DIR, TENSORBOARD_DIR, CHECKPOINTS_DIR)
"""What a run writes into ``--out``; ``--overwrite`` deletes exactly these."""

_RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")


class RunCheckpoint(ModelCheckpoint):
    """``last.ckpt`` in the run folder plus periodic ``checkpoints/epoch=E-step=S.ckpt``.

    ``step`` in file names counts iterations (batches), not Lightning's optimizer steps.
    """

    def __init__(self, optimizer_steps_per_iteration: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.optimizer_steps_per_iteration = int(optimizer_steps_per_iteration)

    def format_checkpoint_name(self, metrics: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        metrics = dict(metrics)
        if "step" in metrics:
            metrics["step"] = metrics["step"] // self.optimizer_steps_per_iteration
        return super().format_checkpoint_name(metrics, *args, **kwargs)


def make_grid(images: Tensor, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """Tile images (B, 1|3, H, W) in [0, 1] into one uint8 RGB array (H', W', 3):
    ``nrow`` per row, ``padding`` black pixels between and around them."""
    array = images.detach().float().clamp(0, 1).cpu().numpy()
    array = np.repeat(array, 3 // array.shape[1], axis=1)
    rows = [list(array[i : i + nrow]) for i in range(0, len(array), nrow)]
    return to_uint8(image_grid(rows, pad=padding, fill=0.0)).transpose(1, 2, 0)


class SampleGrid(L.Callback):
    """Write a PNG grid of samples from fixed latents every ``every`` iterations.

    Files are ``<folder>/step_<iteration:06d>.png``; the first is written before the
    first update (iteration 0 of a fresh run), the last when training ends. The
    generator runs in eval mode, as the exported artifact does.
    """

    def __init__(self, folder: Path, every: int, count: int = 64) -> None:
        self.folder, self.every, self.count = Path(folder), int(every), int(count)
        self.written: list[Path] = []
        self._last: int | None = None

    def _write(self, trainer: L.Trainer, module: GeneratorModule) -> None:
        iteration = module.iteration
        if iteration == self._last:
            return
        self._last = iteration
        images = module.sample_images(module.fixed_inputs(self.count))  # on every rank
        if not trainer.is_global_zero:
            return
        grid = make_grid(images, nrow=max(1, int(self.count**0.5)))
        self.written.append(atomic_write(self.folder / f"step_{iteration:06d}.png", lambda tmp:
                                         Image.fromarray(grid).save(tmp, format="PNG"), True))
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", grid, iteration, dataformats="HWC")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if pl_module.iteration == 0:
            self._write(trainer, pl_module)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        if pl_module.iteration % self.every == 0:
            self._write(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, pl_module)


def is_global_zero_process() -> bool:
    """True unless the environment says this is a process of rank > 0 (DDP, SLURM, torchrun)."""
    return all(os.environ.get(name, "0") in ("", "0") for name in _RANK_VARIABLES)


def read_resume_checkpoint(path: Path, model_name: str) -> dict[str, Any]:
    """The ``hyper_parameters`` of a gs-train checkpoint of ``model_name``, validated."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # any unpickling failure means "not a checkpoint"
        raise UserInputError("is not a readable Lightning checkpoint", field="resume",
                             value=path) from None
    try:
        record = contract.GeneratorRecord.read(checkpoint)
    except ValueError:
        record = None
    if (record is None or contract.HYPER_PARAMETERS not in checkpoint
            or contract.STATE_DICT not in checkpoint):  # a generator file cannot be resumed
        raise UserInputError("is not a checkpoint written by gs-train", field="resume", value=path)
    if record.model_name != model_name:
        raise UserInputError(f"was trained by gs-train {record.model_name}, not {model_name}",
                             field="resume", value=path)
    return checkpoint[contract.HYPER_PARAMETERS]


def resolve_shared(config: TrainConfig, module_class: type[GeneratorModule],
                   resumed: dict[str, Any] | None) -> TrainConfig:
    """Fill ``image_size``, ``channels``, ``cut_before_training`` and ``seed``.

    Each is the given value, else the resumed checkpoint's, else the default (the
    generator's own for the image size and channels); a given value that
    contradicts the checkpoint is an error.
    """
    hparams = resumed or {}
    defaults = inspect.signature(module_class.generator_class).parameters
    settings = [(field, hparams.get(contract.MODEL_CONFIG, {}).get(argument),
                 defaults[argument].default)
                for argument, field in SHARED_GENERATOR_ARGUMENTS.items()]
    settings += [(field, hparams.get(field), 0) for field in (contract.CUT_BEFORE_TRAINING, "seed")]
    for field, recorded, default in settings:
        setattr(config, field, int(resolve(field, getattr(config, field), recorded, default)))
    return config


def build_module(module_class: type[GeneratorModule], config: TrainConfig,
                 given: dict[str, Any], resumed: dict[str, Any] | None) -> GeneratorModule:
    """The LightningModule for a run: declared hyperparameters resolved and checked."""
    name = module_class.generator_class.model_name
    generator_args, module_args = resolve_hyperparameters(module_class, given, resumed)
    model_config = {**generator_args, **{argument: getattr(config, field)
                                         for argument, field in SHARED_GENERATOR_ARGUMENTS.items()}}
    cut = config.cut_before_training
    try:
        with torch.device("meta"):  # shapes only: no memory, no initialisation
            blocks = module_class.generator_class.from_config(model_config).num_blocks
    except ValueError as exc:
        raise UserInputError(f"is not allowed for {name}: {exc}", field="image_size",
                             value=config.image_size) from None
    if not 0 <= cut < blocks:
        raise UserInputError(
            f"is not allowed for a {config.image_size} px {name} with {blocks} blocks; "
            f"expected an integer from 0 to {blocks - 1}",
            field=contract.CUT_BEFORE_TRAINING, value=cut)
    return module_class(model_config=model_config, cut_before_training=cut, seed=config.seed,
                        **module_args)


def check_run_folder(config: TrainConfig) -> None:
    """Refuse to mix a new run into an earlier one, or to clobber files, before writing."""
    out, target = config.out, config.export_generator
    if out.exists() and not out.is_dir():
        raise UserInputError("is a file, expected a folder for the run", field="out", value=out)
    if config.resume is not None and config.overwrite:
        raise UserInputError("cannot be combined with {resume}, which continues the run in "
                             "{out}", field="overwrite", refs=("resume", "out"))
    if out.is_dir() and any(out.iterdir()) and not (config.overwrite or config.resume):
        raise UserInputError("is not empty; pass {overwrite} to replace the run in it or "
                             "{resume} to continue one", field="out", value=out,
                             refs=("overwrite", "resume"))
    if target is None:
        return
    if config.cut_before_training:
        raise UserInputError("is not available with {cut_before_training}: a generator trained "
                             "with blocks cut away is the failing control, not a usable model",
                             field="export_generator", refs=(contract.CUT_BEFORE_TRAINING,))
    if target.exists() and not config.overwrite:
        raise UserInputError("exists; pass {overwrite} to replace it", field="export_generator",
                             value=target, refs=("overwrite",))
    if target.is_dir():
        raise UserInputError("is a folder, expected a file path", field="export_generator",
                             value=target)


def prepare_run_folder(config: TrainConfig) -> None:
    """Create ``out``; with ``--overwrite`` delete the outputs of the earlier run in it."""
    config.out.mkdir(parents=True, exist_ok=True)
    if config.overwrite:
        for path in [*(config.out / name for name in RUN_OUTPUTS), *config.out.glob("*.ckpt")]:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def _devices(value: str | int) -> str | int:
    text = str(value).strip()
    return int(text) if text.lstrip("-").isdigit() else text


DDP_LAUNCHERS = ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")


def strategy_for(module: GeneratorModule, strategy: str) -> str:
    """Lightning's DDP strategy names, switched to find unused parameters where needed.

    A GAN's discriminator step leaves the generator without gradients and vice
    versa, which DDP accepts only with ``find_unused_parameters=True``.
    """
    if module.ddp_find_unused_parameters and strategy in DDP_LAUNCHERS:
        return f"{strategy}_find_unused_parameters_true"
    return strategy


def make_loggers(out: Path) -> list[Logger]:
    """CSV always (``out/logs/version_N``); TensorBoard too when it is installed."""
    loggers: list[Logger] = [CSVLogger(out, name=LOGS_DIR)]
    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        loggers.append(TensorBoardLogger(out, name=TENSORBOARD_DIR))
    return loggers


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, through gs.io.atomic_write: never half a checkpoint."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any,
                        storage_options: Any | None = None) -> None:
        atomic_write(Path(path), lambda tmp: super(AtomicCheckpointIO, self).save_checkpoint(
            checkpoint, tmp, storage_options), overwrite=True)


def build_trainer(
    config: TrainConfig, module: GeneratorModule, has_validation: bool
) -> tuple[L.Trainer, SampleGrid]:
    """A Trainer from the shared options; ``max_steps`` etc. are given in iterations."""
    per_iteration = module.optimizer_steps_per_iteration
    max_epochs = config.max_epochs
    if max_epochs is None and config.max_steps is None:
        max_epochs = DEFAULT_MAX_EPOCHS
    checkpoints = RunCheckpoint(
        per_iteration,
        dirpath=config.out,
        filename=CHECKPOINTS_DIR + "/epoch={epoch:03d}-step={step:07d}",
        auto_insert_metric_name=False,
        save_top_k=-1,
        save_last=True,
        save_on_exception=True,  # Ctrl-C or a crash leaves a checkpoint and last.ckpt
        every_n_train_steps=(
            None if config.checkpoint_every is None else config.checkpoint_every * per_iteration
        ),
    )
    samples = SampleGrid(config.out / SAMPLES_DIR, config.sample_every, config.num_samples)
    limit_train = config.limit_train_batches

    def make(strategy: str) -> L.Trainer:
        return L.Trainer(
            default_root_dir=config.out,
            accelerator=config.accelerator,
            devices=_devices(config.devices),
            strategy=strategy_for(module, strategy),
            precision=config.precision,
            num_nodes=config.num_nodes,
            max_epochs=max_epochs,
            max_steps=-1 if config.max_steps is None else config.max_steps * per_iteration,
            limit_train_batches=limit_train,
            limit_val_batches=(limit_train if has_validation else 0),
            logger=make_loggers(config.out),
            callbacks=[checkpoints, samples],
            plugins=[AtomicCheckpointIO()],
            log_every_n_steps=config.log_every,
            enable_progress_bar=config.progress_bar,
        )

    try:
        trainer = make(config.strategy)
        if (
            config.strategy == "auto"
            and module.ddp_find_unused_parameters
            and type(trainer.strategy) is DDPStrategy
        ):
            trainer = make("ddp")  # what "auto" chose, with unused parameters allowed
    except (MisconfigurationException, ValueError, TypeError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        settings = ("accelerator", "devices", "strategy", "precision", "num_nodes")
        given = " ".join(f"{{{name}}} {getattr(config, name)}" for name in settings)
        raise UserInputError(f"Lightning rejected {given}: {first}", refs=settings) from None
    return trainer, samples


def save_generator_state(module: GeneratorModule, path: Path) -> Path:
    """Write the generator atomically as a generator file (:mod:`gs.models.checkpoint`)."""
    state = contract.generator_file(module.generator)
    return atomic_write(path, lambda tmp: torch.save(state, tmp), overwrite=True)


def fit(model_name: str, config: TrainConfig, **hyperparameters: Any) -> TrainResult:
    """Train ``model_name`` as ``config`` says; the Python entry point behind ``gs-train``.

    Args:
        model_name: a registered trainer (``dcgan``, ``began``, ``vae``).
        config: the shared settings of the run.
        hyperparameters: the model's declared hyperparameters (``nz=8, lr=1e-3``);
            left out: the declared default, or the resumed checkpoint's value.

    Raises:
        UserInputError: any input (folder, flag, checkpoint) is not usable; raised
            before anything is written.
    """
    if model_name not in TRAINERS:
        raise UserInputError(TRAINERS.unknown(model_name),
                             field="model_name", value=repr(model_name))
    module_class = TRAINERS[model_name]
    resumed = None if config.resume is None else read_resume_checkpoint(config.resume, model_name)
    resolve_shared(config, module_class, resumed)
    module = build_module(module_class, config, hyperparameters, resumed)
    data = ImageFolderDataModule(
        config.data, image_size=int(config.image_size), batch_size=config.batch_size,
        channels=int(config.channels), value_range=module.value_range,
        val_fraction=config.val_fraction, num_workers=config.num_workers, seed=config.seed)
    data.scan()
    if is_global_zero_process():
        check_run_folder(config)
    trainer, samples = build_trainer(config, module, bool(data.val_files))
    if is_global_zero_process():
        prepare_run_folder(config)

    start = time.perf_counter()
    with warnings.catch_warnings():
        # Saving after the optimiser step is what a GAN checkpoint should hold, and the
        # run folder has been checked above.
        warnings.filterwarnings("ignore", message=".*manual optimization and every_n_train_steps.*")
        warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")
        # Lightning's own loader flattening builds torch's deprecated LeafSpec on every fit
        # (Lightning-AI/pytorch-lightning#21326); no setting of ours reaches it.
        warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)`",
                                category=FutureWarning,
                                module=r"lightning\.pytorch\.utilities\._pytree")
        trainer.fit(module, datamodule=data, ckpt_path=config.resume, weights_only=True)
    seconds = time.perf_counter() - start

    last = config.out / LAST_CHECKPOINT
    # The final state, also when --max-steps stops the run in the middle of an epoch.
    trainer.save_checkpoint(last, weights_only=False)
    generator_state = None
    if config.export_generator is not None and trainer.is_global_zero:
        generator_state = save_generator_state(module, config.export_generator)
    log_dir = trainer.loggers[0].log_dir if trainer.loggers else None
    return TrainResult(
        out=config.out, last_checkpoint=last, iterations=module.iteration,
        epochs=trainer.current_epoch, seconds=seconds, sample_grids=list(samples.written),
        log_dir=None if log_dir is None else Path(log_dir), generator_state=generator_state,
        is_global_zero=trainer.is_global_zero)
