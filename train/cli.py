"""``gs-train``: one sub-command per model, over the shared options of :class:`TrainConfig`.

Thin by design: parse, build the typed settings, call :func:`gs.train.dcgan.fit_dcgan`
(or the next model's ``fit_*``), print. Progress goes to stderr; the path of the
final checkpoint is printed on stdout. A user error exits with code 2 and one
sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

import gs
from gs.clitools import user_errors

F = Callable[..., Any]


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


def shared_options(command: F) -> F:
    """The options every model's sub-command takes (data, run folder, Lightning pass-through)."""
    options = [
        click.option("--data", required=True,
                     type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="Folder of training images (.jpg .png .webp, subfolders included)."),
        click.option("--out", required=True, type=click.Path(path_type=Path),
                     help="Run folder: last.ckpt, checkpoints/, samples/, logs/."),
        click.option("--image-size", type=click.IntRange(min=1), default=None,
                     help="Side of the images trained on and generated  "
                          "[default: 64 for dcgan, 128 for began and vae]."),
        click.option("--channels", type=click.Choice(["1", "3"]), default=None,
                     help="3 for RGB, 1 for grey.  [default: 3]"),
        click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
                     help="Images per batch and device."),
        click.option("--max-epochs", type=click.IntRange(min=1), default=None,
                     help="Stop after this many epochs.  [default: 25 unless --max-steps]"),
        click.option("--max-steps", type=click.IntRange(min=1), default=None,
                     help="Stop after this many iterations (batches), resumed ones included."),
        click.option("--limit-train-batches", type=BatchLimit(), default=None,
                     help="Batches per epoch, or a share of an epoch (smoke runs)."),
        click.option("--val-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.05,
                     show_default=True, help="Share of images held out (seeded hash of the path)."),
        click.option("--num-workers", type=click.IntRange(min=0), default=2, show_default=True,
                     help="DataLoader worker processes."),
        click.option("--seed", type=click.IntRange(min=0), default=None,
                     help="Seed of weights, noise, split and shuffling.  [default: 0]"),
        click.option("--resume", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="Continue from this checkpoint (e.g. OUT/last.ckpt)."),
        click.option("--sample-every", type=click.IntRange(min=1), default=500, show_default=True,
                     help="Write OUT/samples/step_N.png every N iterations."),
        click.option("--num-samples", type=click.IntRange(1, 1024), default=64, show_default=True,
                     help="Images per sample grid."),
        click.option("--checkpoint-every", type=click.IntRange(min=1), default=None,
                     help="Keep a checkpoint every N iterations.  [default: every epoch]"),
        click.option("--log-every", type=click.IntRange(min=1), default=50, show_default=True,
                     help="Log losses every N iterations."),
        click.option("--export-generator", type=click.Path(path_type=Path), default=None,
                     help="Also save the generator's state dict (pytorch-examples keys) here."),
        click.option("--cut-before-training", type=click.IntRange(min=0), default=None,
                     help="Remove the first C blocks before training (the failing control)."),
        click.option("--overwrite", is_flag=True, help="Replace an earlier run in --out."),
        click.option("--accelerator", default="auto", show_default=True,
                     help="Lightning accelerator: cpu, gpu, mps, auto, ..."),
        click.option("--devices", default="auto", show_default=True,
                     help="Lightning devices: a count, a list like 0,1, or auto."),
        click.option("--strategy", default="auto", show_default=True,
                     help="Lightning strategy: ddp, fsdp, auto, ..."),
        click.option("--precision", default=None,
                     help="Lightning precision: 32-true, 16-mixed, bf16-mixed, ..."),
        click.option("--num-nodes", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Lightning num_nodes."),
        click.option("--progress-bar/--no-progress-bar", default=True, show_default=True,
                     help="Show the progress bar with the losses (stderr)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def train_config(kwargs: dict[str, Any]) -> Any:
    """Pop the shared options out of ``kwargs`` into a :class:`TrainConfig`."""
    from gs.train.config import TrainConfig

    channels = kwargs.pop("channels")
    return TrainConfig(
        data=kwargs.pop("data"),
        out=kwargs.pop("out"),
        image_size=kwargs.pop("image_size"),
        channels=None if channels is None else int(channels),
        batch_size=kwargs.pop("batch_size"),
        max_epochs=kwargs.pop("max_epochs"),
        max_steps=kwargs.pop("max_steps"),
        limit_train_batches=kwargs.pop("limit_train_batches"),
        val_fraction=kwargs.pop("val_fraction"),
        num_workers=kwargs.pop("num_workers"),
        seed=kwargs.pop("seed"),
        resume=kwargs.pop("resume"),
        sample_every=kwargs.pop("sample_every"),
        num_samples=kwargs.pop("num_samples"),
        checkpoint_every=kwargs.pop("checkpoint_every"),
        log_every=kwargs.pop("log_every"),
        export_generator=kwargs.pop("export_generator"),
        cut_before_training=kwargs.pop("cut_before_training"),
        overwrite=kwargs.pop("overwrite"),
        accelerator=kwargs.pop("accelerator"),
        devices=kwargs.pop("devices"),
        strategy=kwargs.pop("strategy"),
        precision=kwargs.pop("precision"),
        num_nodes=kwargs.pop("num_nodes"),
        progress_bar=kwargs.pop("progress_bar"),
    )


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(gs.__version__, prog_name="gs-train")
def main() -> None:
    """Train a generator on a folder of images; gs-export then cuts it.

    \b
    gs-train dcgan --data ~/celeba --image-size 64 --max-epochs 25 --out runs/dcgan
    gs-export --weights runs/dcgan/last.ckpt --cut 1 -o dcgan_c1.pt

    Scale with Lightning's flags: --accelerator, --devices, --strategy, --precision,
    --num-nodes.
    """


@main.command("dcgan")
@shared_options
@click.option("--nz", type=click.IntRange(min=1), default=None, help="Latent size.  [default: 100]")
@click.option("--ngf", type=click.IntRange(min=1), default=None,
              help="Generator width (last hidden block).  [default: 64]")
@click.option("--ndf", type=click.IntRange(min=1), default=None,
              help="Discriminator width (first block).  [default: 64]")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Adam learning rate of both networks.  [default: 2e-4]")
@click.option("--beta1", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Adam beta1.  [default: 0.5]")
def dcgan(**kwargs: Any) -> None:
    """DCGAN as in pytorch/examples (images scaled to [-1, 1], image size a power of two)."""
    from gs.train.dcgan import DCGANOptions, fit_dcgan

    config = train_config(kwargs)
    options = DCGANOptions(**kwargs)
    run_and_report(lambda: fit_dcgan(config, options))


@main.command("began")
@shared_options
@click.option("--nz", type=click.IntRange(min=1), default=None, help="Latent size.  [default: 64]")
@click.option("--ngf", type=click.IntRange(min=1), default=None,
              help="Generator width n (every block).  [default: 128]")
@click.option("--ndf", type=click.IntRange(min=1), default=None,
              help="Auto-encoder discriminator width n.  [default: 128]")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Adam learning rate of both networks.  [default: 1e-4]")
@click.option("--beta1", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Adam beta1.  [default: 0.5]")
@click.option("--gamma", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Equilibrium diversity ratio γ.  [default: 0.5]")
@click.option("--lambda-k", type=click.FloatRange(min=0), default=None,
              help="Gain λ_k of the k_t update.  [default: 1e-3]")
def began(**kwargs: Any) -> None:
    """BEGAN with skip connections (images scaled to [-1, 1]; --image-size a power of
    two of at least 16, default 128 for a new run)."""
    from gs.train.began import BEGANOptions, fit_began

    config = train_config(kwargs)
    options = BEGANOptions(**kwargs)
    run_and_report(lambda: fit_began(config, options))


@main.command("vae")
@shared_options
@click.option("--nz", type=click.IntRange(min=1), default=None, help="Latent size.  [default: 512]")
@click.option("--ngf", type=click.IntRange(min=1), default=None,
              help="Decoder width of the last block (doubles per block up).  [default: 64]")
@click.option("--nef", type=click.IntRange(min=1), default=None,
              help="Encoder width of the first block.  [default: 32]")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="AdamW learning rate.  [default: 2e-4]")
@click.option("--beta", type=click.FloatRange(min=0), default=None,
              help="Weight β of the KL term.  [default: 2.5e-4]")
@click.option("--lr-gamma", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Learning-rate factor applied after every epoch.  [default: 0.95]")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=None,
              help="AdamW weight decay.  [default: 0.01]")
def vae(**kwargs: Any) -> None:
    """Convolutional VAE (images in [0, 1]; --image-size a power of two of at least 8,
    default 128 for a new run); the decoder is the generator gs-export cuts."""
    from gs.train.vae import VAEOptions, fit_vae

    config = train_config(kwargs)
    options = VAEOptions(**kwargs)
    run_and_report(lambda: fit_vae(config, options))
