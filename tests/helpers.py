"""Small shared helpers for the tests (tiny models, in-range images, training runs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner, Result
from PIL import Image

from gs.models.dcgan import DCGANGenerator
from gs.train.cli import main as train_cli

TINY = DCGANGenerator.smoke_config
FAST_TRAINER = ["--batch-size", "4", "--num-workers", "0", "--accelerator", "cpu", "--devices",
                "1", "--no-progress-bar", "--log-every", "1", "--num-samples", "4"]
"""gs-train flags of a quick single-process CPU run (four images per batch and grid)."""


def tiny_dcgan(seed: int = 0) -> DCGANGenerator:
    """A 16 px DCGAN with random but well-conditioned weights, in eval mode."""
    torch.manual_seed(seed)
    model = DCGANGenerator(**TINY)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def in_range_image(artifact, seed: int = 1) -> np.ndarray:
    """An image the artifact's generator can produce exactly: (C, H, W) in [0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randn((1, *s), generator=gen).clamp(-1, 1) for s in artifact.spec.shapes]
    with torch.no_grad():
        return artifact.generator(*inputs)[0].numpy()


def write_images(folder: Path, count: int = 16, seed: int = 0) -> Path:
    """``count`` small RGB images of varied sizes and formats in nested folders."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        sub = folder / ("faces" if i % 2 else "more/nested")
        sub.mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((18 + i, 24, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(sub / f"img{i:02d}.{('png', 'jpg', 'webp')[i % 3]}")
    return folder


def invoke_train(*args: object) -> Result:
    """Run ``gs-train`` in-process with ``args`` (stringified)."""
    return CliRunner().invoke(train_cli, [str(a) for a in args])


def smoke_train(model: str, images: Path, out: Path, steps: int, *options: object) -> Path:
    """Train ``model`` for ``steps`` iterations into ``out``; check it ends on last.ckpt."""
    result = invoke_train(model, "--data", images, "--out", out, "--max-steps", steps,
                          "--sample-every", 2, *options)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out / "last.ckpt")
    return out


def save_lightning_like(module: torch.nn.Module, path: Path) -> Path:
    """What ``trainer.save_checkpoint`` writes, as far as gs-export reads it."""
    torch.save({"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict()}, path)
    return path
