"""Shared fixtures: a tiny seeded DCGAN's state dict, its artifacts, a real photo."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers import tiny_dcgan


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
def tiny_onnx(tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX artifact of the tiny DCGAN at cut 2 (forward and VJP of every piece)."""
    from gs.export import export_artifact

    path = tmp_path_factory.mktemp("onnx") / "tiny_c2.onnx"
    return export_artifact(tiny_weights, path, cut=2, model="dcgan")


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
