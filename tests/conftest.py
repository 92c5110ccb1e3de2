"""Shared fixtures: a tiny seeded DCGAN's state dict, its artifacts in both formats, a real
photo."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers import FAST_TRAINER, smoke_train, tiny_dcgan, write_images


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pytorch-examples style state dict, wrapped like the public face weights."""
    path = tmp_path_factory.mktemp("weights") / "tiny_dcgan.pth"
    torch.save({"netG_state_dict": tiny_dcgan().state_dict()}, path)
    return path


@pytest.fixture(scope="session")
def tiny_artifacts(tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """TorchScript artifacts of the tiny DCGAN at cuts 0, 1 and 2."""
    from gs.export import export_artifact

    folder = tmp_path_factory.mktemp("artifacts")
    return {c: export_artifact(tiny_weights, folder / f"tiny_c{c}.pt", cut=c, model="dcgan")
            for c in (0, 1, 2)}


@pytest.fixture(scope="session")
def onnx_c2(tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny DCGAN's ONNX artifact at cut 2 (heads included), written by gs-export."""
    from click.testing import CliRunner

    from gs.export.cli import main as export_cli

    path = tmp_path_factory.mktemp("onnx") / "tiny_c2.onnx"
    result = CliRunner().invoke(export_cli, ["dcgan", "--weights", str(tiny_weights), "--cut",
                                             "2", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="session")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real photo (scikit-image's astronaut, face crop) as a PNG file."""
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(data.astronaut()[30:150, 160:280]).save(path)
    return path


@pytest.fixture(scope="module")
def one_thread():
    """Tiny convolutions run faster on one thread, and do not fight other processes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def generator():
    """The tiny DCGAN with frozen weights: the whole-generator baselines' prior."""
    model = tiny_dcgan()
    for weight in model.parameters():
        weight.requires_grad_(False)
    return model


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of 16 small RGB images of varied sizes and formats (training data)."""
    return write_images(tmp_path_factory.mktemp("data") / "images")


@pytest.fixture(scope="module")
def smoke_run(request: pytest.FixtureRequest, images: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``gs-train`` run from the command line as the test module's ``SMOKE_RUN`` says:
    ``(model, iterations, model flags)``, quick trainer flags added; the run folder. The
    generator alone (``--export-generator``) lies beside it, as ``G.pth``."""
    model, steps, flags = request.module.SMOKE_RUN
    runs = tmp_path_factory.mktemp("runs")
    return smoke_train(model, images, runs / model, steps, *flags, "--export-generator",
                       runs / "G.pth", *FAST_TRAINER)
