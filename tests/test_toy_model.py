"""A model defined and registered in this file alone gets gs-export, gs-invert and the whole
conformance suite: nothing outside this file knows it."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from torch import Tensor, nn

from conformance import ModelConformance
from gs.cli import main as invert_cli
from gs.export.cli import main as export_cli
from gs.latent import InitSpec, InputSpec, LatentSpec
from gs.models import StagedGenerator, register_model, unregister_model
from gs.models.base import Channels, LatentSize, PaperPreset, State, Width
from gs.models.checkpoint import generator_file


@register_model
class ToyGenerator(StagedGenerator):
    """Two blocks: ``z`` (nz,) → Linear → h1 (width, 4, 4) → ConvT, sigmoid → (nc, 8, 8)."""

    model_name = "toy"
    paper = PaperPreset(cut=1, lr=0.5, steps=10, raw_lr=0.5, raw_steps=10)

    def __init__(self, nz: LatentSize = 6, width: Width = 4, nc: Channels = 3,
                 image_size: int = 8) -> None:
        super().__init__()
        self.nz, self.width, self.nc, self.image_size = nz, width, nc, image_size
        self.fc = nn.Linear(nz, width * 16)
        self.up = nn.ConvTranspose2d(width, nc, 4, 2, 1)

    @property
    def num_blocks(self) -> int:
        return 2

    def cut_spec(self, cut: int) -> LatentSpec:
        self.check_cut(cut)
        shape = (self.nz,) if cut == 0 else (self.width, 4, 4)
        return LatentSpec(cut, (InputSpec("z" if cut == 0 else "h1", shape, InitSpec()),))

    def stage(self, k: int, state: State) -> State:
        (h,) = state
        return (self.fc(h).view(-1, self.width, 4, 4),) if k == 0 else (self.up(h).sigmoid(),)

    def to_image(self, raw: Tensor) -> Tensor:
        return raw


@pytest.fixture(scope="module", autouse=True)
def forget_the_toy_afterwards():
    yield
    unregister_model(ToyGenerator.model_name)


class TestToyConformance(ModelConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def model_name(cls) -> str:
        return ToyGenerator.model_name


def test_the_command_line_tools_export_and_invert_the_toy(tmp_path, photo):
    torch.manual_seed(0)
    weights = tmp_path / "toy.pt"
    torch.save(generator_file(ToyGenerator().eval()), weights)
    artifact = tmp_path / "toy_c1.pt"
    runner = CliRunner()
    result = runner.invoke(export_cli, ["--weights", str(weights), "-o", str(artifact)])
    assert result.exit_code == 0, result.output
    report = tmp_path / "report.json"
    result = runner.invoke(invert_cli, [str(artifact), str(photo), "--task", "inpaint",
                                        "--simulate", "-o", str(tmp_path / "out"), "--report",
                                        str(report), "--steps", "2", "--restarts", "2"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(report.read_text())["images"]
    assert entry["psnr"] > 5 and (tmp_path / "out" / "astronaut.png").is_file()
