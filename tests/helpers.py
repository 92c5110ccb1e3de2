"""Small shared helpers for the tests (tiny models, in-range images, training runs); the
float32 comparison and the image folders are gs.testing's (re-exported here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner, Result

from gs.models.dcgan import DCGANGenerator
from gs.testing import assert_close_f32, write_images
from gs.train.cli import main as train_cli

__all__ = ["FAST_TRAINER", "TINY", "assert_close_f32", "in_range_image", "invoke_train",
           "one_sentence_error", "save_lightning_like", "smoke_train", "tiny_architecture",
           "tiny_dcgan", "write_images"]

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


def one_sentence_error(result: Result, *fragments: str) -> str:
    """Check a CLI result is a user error: exit 2, no traceback, one ``Error:`` line that
    holds every fragment; return that line."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = [line for line in result.output.strip().splitlines() if line.startswith("Error")]
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def save_lightning_like(module: torch.nn.Module, path: Path) -> Path:
    """What ``trainer.save_checkpoint`` writes, as far as gs-export reads it."""
    torch.save({"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict()}, path)
    return path


def tiny_architecture() -> DCGANGenerator:
    """The tiny DCGAN's layers without weights (meta device: no memory, no random draws)."""
    with torch.device("meta"):
        return DCGANGenerator(**TINY)
