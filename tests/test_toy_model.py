"""A model and its trainer defined and registered in this file alone get gs-export,
gs-invert, gs-train and the whole conformance suite: nothing outside this file knows them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
import torch
from click.testing import CliRunner
from torch import Tensor, nn

from gs import artifacts as gs_artifact
from gs.cli import main as invert_cli
from gs.export.cli import main as export_cli
from gs.latent import InitSpec, InputSpec, LatentSpec
from gs.models import StagedGenerator, register_model, unregister_model
from gs.models.base import Channels, LatentSize, PaperPreset, State, Width
from gs.models.checkpoint import generator_file
from gs.params import Param
from gs.testing import ModelConformance
from gs.train.cli import main as train_cli
from gs.train.module import GeneratorModule, register_trainer, unregister_trainer
from helpers import FAST_TRAINER, write_images


@register_model
class ToyGenerator(StagedGenerator):
    """Two blocks: ``z`` (nz,) → Linear → h1 (width, 4, 4) → ConvT, ×gain, sigmoid →
    (nc, 8, 8); ``gain`` is an export option (fixed in the artifact, like BigGAN's
    truncation)."""

    model_name = "toy"
    paper = PaperPreset(cut=1, lr=0.5, steps=10, raw_lr=0.5, raw_steps=10)
    smoke_config = {"nz": 6, "width": 4, "nc": 3, "image_size": 8}
    export_options = ("gain",)

    def __init__(self, nz: LatentSize = 6, width: Width = 4, nc: Channels = 3,
                 image_size: int = 8,
                 gain: Annotated[float, Param("Output gain.", min=0, min_open=True)] = 1.0
                 ) -> None:
        super().__init__()
        self.nz, self.width, self.nc, self.image_size = nz, width, nc, image_size
        self.gain = gain
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
        if k == 0:
            return (self.fc(h).view(-1, self.width, 4, 4),)
        return ((self.up(h) * self.gain).sigmoid(),)

    def to_image(self, raw: Tensor) -> Tensor:
        return raw


@register_trainer
class ToyModule(GeneratorModule):
    """Toy training: the batch mean and spread of G(z) follow those of the images."""

    generator_class = ToyGenerator
    value_range = (0.0, 1.0)

    def __init__(self, lr: Annotated[float, Param("Adam learning rate.", min=0,
                                                  min_open=True)] = 0.01,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_weights(self.generator)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr)

    def moment_loss(self, batch: Tensor) -> Tensor:
        fake = self.generate(self.latent_inputs(batch.shape[0], self.noise, self.device))
        return ((fake.mean(0) - batch.mean(0)).pow(2).mean()
                + (fake.std(0, correction=0) - batch.std(0, correction=0)).pow(2).mean())

    def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
        loss = self.moment_loss(batch)
        self.log("loss", loss)
        return loss

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        self.log("val/loss", self.moment_loss(batch))


@pytest.fixture(scope="module", autouse=True)
def forget_the_toy_afterwards():
    yield
    unregister_trainer(ToyGenerator.model_name)
    unregister_model(ToyGenerator.model_name)


class TestToyConformance(ModelConformance):
    model_under_test = ToyGenerator.model_name


def test_the_command_line_tools_export_and_invert_the_toy(tmp_path, photo):
    torch.manual_seed(0)
    weights = tmp_path / "toy.pt"
    torch.save(generator_file(ToyGenerator().eval()), weights)
    artifact = tmp_path / "toy_c1.pt"
    runner = CliRunner()
    assert "toy only: Output gain." in runner.invoke(export_cli, ["--help"]).output
    result = runner.invoke(export_cli, ["--weights", str(weights), "-o", str(artifact),
                                        "--gain", "0"])
    assert result.exit_code == 2 and "--gain must be a number > 0, got 0.0" in result.output
    result = runner.invoke(export_cli, ["--weights", str(weights), "-o", str(artifact),
                                        "--gain", "2"])
    assert result.exit_code == 0, result.output
    metadata = gs_artifact.load(artifact).metadata.to_json()
    assert metadata["model_config"]["gain"] == 2.0
    report = tmp_path / "report.json"
    result = runner.invoke(invert_cli, [str(artifact), str(photo), "--task", "inpaint",
                                        "--simulate", "-o", str(tmp_path / "out"), "--report",
                                        str(report), "--steps", "2", "--restarts", "2"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(report.read_text())["images"]
    assert entry["psnr"] > 5 and (tmp_path / "out" / "astronaut.png").is_file()


def test_gs_train_trains_the_toy_and_checks_its_declared_option(tmp_path):
    images = write_images(tmp_path / "images", count=6)
    runner = CliRunner()
    assert "toy" in runner.invoke(train_cli, ["--help"]).output
    common = ["toy", "--data", str(images), "--max-steps", "2", "--image-size", "8",
              *FAST_TRAINER]
    result = runner.invoke(train_cli, [*common, "--out", str(tmp_path / "bad"), "--lr", "0"])
    assert result.exit_code == 2 and "--lr must be a number > 0, got 0.0" in result.output
    assert not (tmp_path / "bad").exists()
    result = runner.invoke(train_cli, [*common, "--out", str(tmp_path / "run"), "--width", "3"])
    assert result.exit_code == 0, result.output
    checkpoint = torch.load(tmp_path / "run" / "last.ckpt", map_location="cpu",
                            weights_only=False)
    assert checkpoint["hyper_parameters"]["model_config"]["width"] == 3


def test_a_name_is_registered_once():
    class Impostor(ToyGenerator):
        pass

    class ImpostorModule(ToyModule):
        generator_class = Impostor

    assert register_model(ToyGenerator) is ToyGenerator  # again: a no-op
    with pytest.raises(ValueError, match="'toy' is already registered by ToyGenerator"):
        register_model(Impostor)
    with pytest.raises(ValueError, match="'toy' is already registered by ToyModule"):
        register_trainer(ImpostorModule)
