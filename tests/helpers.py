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


def one_sentence_error(result: Result, *fragments: str) -> str:
    """Check a CLI result is a user error: exit 2, no traceback, one ``Error:`` line that
    holds every fragment; return that line."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.strip().splitlines() if line.startswith("Error")]
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def save_lightning_like(module: torch.nn.Module, path: Path) -> Path:
    """What ``trainer.save_checkpoint`` writes, as far as gs-export reads it."""
    torch.save({"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict()}, path)
    return path


# --- tolerances that follow from float32 arithmetic -----------------------------------------

F32_EPS = float(np.finfo(np.float32).eps)  # 1.19e-7: relative rounding of one float32 op


def f32_atol(reduction: int, magnitude: float = 1.0, depth: int = 1) -> float:
    """Absolute tolerance between two float32 computations of the same quantity.

    A sum of ``reduction`` products whose terms are of size ``magnitude`` carries a
    rounding error that grows like a random walk, ``eps · √reduction · magnitude``;
    another summation order (another BLAS, thread count or fused kernel) gives
    another such error, and ``depth`` stacked layers add theirs. The factor 4
    covers both sides with room (each side's error stays within 2σ).
    """
    return 4.0 * depth * F32_EPS * float(np.sqrt(reduction)) * magnitude


def network_atol(module: torch.nn.Module, magnitude: float = 1.0) -> float:
    """:func:`f32_atol` for a network's output: its widest reduction, once per layer.

    The reduction of a convolution, transposed convolution or linear layer is its
    fan-in (input channels × kernel size); ``depth`` is the number of such layers.
    """
    layers = [m for m in module.modules()
              if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d | torch.nn.Linear)]
    return f32_atol(max(map(_fan_in, layers)), magnitude, depth=len(layers))


def _fan_in(layer: torch.nn.Module) -> int:
    """Products summed into one output: weight (in, out, kh, kw) for transposed convolutions."""
    weight = layer.weight
    if isinstance(layer, torch.nn.ConvTranspose2d):
        return weight[:, 0].numel()
    return weight[0].numel()


def tiny_architecture() -> DCGANGenerator:
    """The tiny DCGAN's layers without weights (meta device: no memory, no random draws)."""
    with torch.device("meta"):
        return DCGANGenerator(**TINY)


def assert_close_f32(actual: object, expected: object, module: torch.nn.Module) -> None:
    """``actual`` equals ``expected`` (outputs of ``module``) within float32 rounding.

    The tolerance is :func:`network_atol` at the magnitude of ``expected`` (at least 1).
    """
    expected = torch.as_tensor(np.asarray(expected) if isinstance(expected, np.ndarray)
                               else expected)
    actual = torch.as_tensor(np.asarray(actual) if isinstance(actual, np.ndarray) else actual)
    expected, actual = expected.detach(), actual.detach()
    magnitude = max(1.0, float(expected.abs().max()))
    torch.testing.assert_close(actual, expected, rtol=0, atol=network_atol(module, magnitude))
