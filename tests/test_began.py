"""BEGAN: architecture, surgery with the second input z2, training, export and inversion."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from gs import artifact
from gs.errors import UserInputError
from gs.export import export_artifact
from gs.invert import invert
from gs.metrics import psnr
from gs.models import MODELS
from gs.models.began import BEGANGenerator
from gs.operators import GaussianCS
from gs.surgery import cut
from gs.train.began import (
    BEGANDiscriminator,
    BEGANModule,
    BEGANOptions,
    fit_began,
    reconstruction_loss,
)
from gs.train.config import TrainConfig
from gs.train.module import STREAM_NOISE, derived_seed
from helpers import assert_close_f32, invoke_train, save_lightning_like, smoke_train, write_images

TINY = {"nz": 4, "ngf": 4, "nc": 3, "image_size": 32}  # cuts 0 … 3
TRAIN = ["--image-size", "16", "--nz", "4", "--ngf", "4", "--ndf", "4", "--batch-size", "4",
         "--num-workers", "0", "--accelerator", "cpu", "--devices", "1", "--no-progress-bar",
         "--log-every", "1", "--num-samples", "4"]
SMOKE_STEPS = 3


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[BEGANGenerator, Path]:
    """A seeded 32 px BEGAN (random weights, eval mode) and its checkpoint."""
    module = BEGANModule(model_config=TINY, ndf=4, seed=0)
    path = save_lightning_like(module, tmp_path_factory.mktemp("began") / "tiny.ckpt")
    return module.generator.eval(), path


@pytest.fixture(scope="module")
def artifacts(tiny, tmp_path_factory) -> dict[int, artifact.TorchScriptArtifact]:
    generator, ckpt = tiny
    folder = tmp_path_factory.mktemp("artifacts")
    return {
        c: artifact.load(export_artifact(ckpt, folder / f"began_c{c}.pt", cut=c))
        for c in generator.valid_cuts
    }


def latent(batch: int = 2, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, TINY["nz"], generator=gen) * 2 - 1  # U[-1, 1], BEGAN's prior


# --- architecture and cut specs -----------------------------------------------------------


def test_paper_configuration_and_registry():
    g = BEGANGenerator()
    assert MODELS["began"] is BEGANGenerator
    assert g.config() == {"nz": 64, "ngf": 128, "nc": 3, "image_size": 128}
    assert list(g.valid_cuts) == [0, 1, 2, 3, 4, 5] and g.recommended_cut == 2
    spec0 = g.cut_spec(0)
    assert spec0.names == ("z",) and spec0.shapes == ((64,),)
    assert spec0.inputs[0].init.kind == "uniform" and spec0.inputs[0].init.limit == 1.0
    assert g.cut_spec(1).shapes == ((128, 8, 8),)
    for c, side in [(2, 16), (3, 32), (4, 64), (5, 128)]:
        spec = g.cut_spec(c)
        assert spec.names == (f"h{c}", "z2")
        assert spec.shapes == ((128, side, side), (128, 8, 8))
    assert g(torch.rand(1, 64) * 2 - 1).shape == (1, 3, 128, 128)


def test_recommended_settings_follow_the_supplement():
    g = BEGANGenerator(**TINY)
    for task in ("cs", "inpaint", "sr"):
        s = g.recommended_settings(task)
        assert (s.optimizer, s.lr, s.steps) == ("lbfgs", 1.0, 25)
    assert g.recommended_settings("denoise").steps == 100


@pytest.mark.parametrize("size", [8, 24, 100])
def test_image_size_must_be_a_power_of_two_of_at_least_16(size):
    with pytest.raises(ValueError, match="power of two of at least 16"):
        BEGANGenerator(image_size=size)


def test_discriminator_is_an_auto_encoder():
    d = BEGANDiscriminator(nc=3, ndf=4, nz=4, image_size=32)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert d(x).shape == x.shape
    assert d(x).abs().max() <= 1


# --- surgery ------------------------------------------------------------------------------


def test_cuts_0_and_1_give_exactly_the_uncut_output(tiny, artifacts):
    g, _ = tiny
    z = latent()
    with torch.no_grad():
        expected = g.to_image(g(z))
        (h1,) = g.stage(0, (z,))
        assert torch.equal(cut(g, 0)(z), expected)
        assert torch.equal(cut(g, 1)(h1), expected)
        assert torch.equal(artifacts[0].generator(z), artifacts[1].generator(h1))
    assert_close_f32(artifacts[1].generator(h1), expected, g)


def test_cut_2_and_deeper_with_the_true_first_tensor_as_z2_reproduce_the_uncut_output(
    tiny, artifacts
):
    g, _ = tiny
    z = latent()
    with torch.no_grad():
        expected = g.to_image(g(z))
        (h1,) = g.stage(0, (z,))
        for c in range(2, g.num_blocks):
            h_c, z2 = g.run_from(0, (z,), until=c)
            assert torch.equal(z2, h1)  # the state carries the skip tensor unchanged
            assert torch.equal(cut(g, c)(h_c, h1), expected)
            assert_close_f32(artifacts[c].generator(h_c, h1), expected, g)
            # z2 is a genuine second input: another skip tensor gives another image.
            assert not torch.allclose(cut(g, c)(h_c, h1 + 1), expected)


@pytest.mark.parametrize("c", [0, 1, 2, 3])
def test_every_valid_cut_runs_with_the_shapes_listed_in_gs_json(tiny, artifacts, c):
    g, _ = tiny
    art = artifacts[c]
    meta = art.metadata
    assert meta.model == "began" and meta.cut == c and meta.valid_cuts == (0, 1, 2, 3)
    assert meta.spec == g.cut_spec(c)
    assert [s.cut for s in meta.latents] == list(range(c + 1))
    graph_inputs = list(art.module.tail.graph.inputs())[1:]  # the first is ``self``
    assert len(graph_inputs) == len(meta.spec.inputs) == (2 if c >= 2 else 1)
    for batch in (1, 3):
        inputs = [torch.rand(batch, *s) for s in meta.spec.shapes]
        images = art.generator(*inputs)
        assert images.shape == (batch, *meta.image_shape) == (batch, 3, 32, 32)
        assert images.min() >= 0 and images.max() <= 1
    # Any other channel count is refused by the traced graph.
    for i, shape in enumerate(meta.spec.shapes):
        inputs = [torch.rand(1, *s) for s in meta.spec.shapes]
        inputs[i] = torch.rand(1, shape[0] + 1, *shape[1:])
        with pytest.raises(RuntimeError):
            art.generator(*inputs)
    # The stored head blocks carry a shallower solution to this cut's inputs.
    z = latent()
    with torch.no_grad():
        state = art.carry(0, c, (z,))
        assert_close_f32(art.generator(*state), art.generator_at(0)(z), tiny[0])


def test_gs_json_carries_the_paper_settings(artifacts):
    meta = artifacts[2].metadata
    assert meta.settings_for("cs").lr == 1.0 and meta.settings_for("cs").steps == 25
    assert meta.settings_for("inpaint").steps == 25
    assert meta.settings_for("denoise").steps == 100
    assert meta.spec.inputs[1].name == "z2"


def test_default_export_cut_is_the_recommended_one(tiny, tmp_path):
    _, ckpt = tiny
    art = artifact.load(export_artifact(ckpt, tmp_path / "default.pt"))
    assert art.metadata.cut == 2 and art.metadata.spec.names == ("h2", "z2")


def test_a_cut_the_model_does_not_allow_names_the_allowed_range(tiny, tmp_path):
    g, ckpt = tiny
    with pytest.raises(ValueError, match="expected an integer from 0 to 3"):
        cut(g, 4)
    with pytest.raises(ValueError, match="expected an integer from 0 to 3"):
        g.cut_spec(-1)
    with pytest.raises(UserInputError, match="cut 7 is not allowed for began; expected an "
                                             "integer from 0 to 3"):
        export_artifact(ckpt, tmp_path / "bad.pt", cut=7)
    assert not (tmp_path / "bad.pt").exists()


# --- inversion round trip -----------------------------------------------------------------


def test_export_invert_round_trip_at_the_recommended_cut(tmp_path):
    """A 16 px model, an image from the generator itself, CS with more measurements than
    free scalars at c=2: the two-input inversion recovers the image."""
    config = {"nz": 4, "ngf": 2, "nc": 3, "image_size": 16}  # c=2: 2·16·16 + 2·8·8 = 640
    module = BEGANModule(model_config=config, ndf=2, seed=3)
    with torch.no_grad():  # more contrast than a freshly initialised network has
        module.generator.out.weight.mul_(5)
    ckpt = save_lightning_like(module, tmp_path / "g.ckpt")
    art = artifact.load(export_artifact(ckpt, tmp_path / "g.pt"))
    assert art.metadata.cut == 2
    g = module.generator.eval()
    with torch.no_grad():
        truth = g.to_image(g(latent(1, seed=4))).numpy()[0]
    rng = np.random.default_rng(0)
    operator = GaussianCS(700, truth.shape, rng, noise_std=0.0)
    y = operator.measure(truth[None], rng)[0]
    settings = art.metadata.settings_for("cs").override(restarts=1)
    (result,) = invert(art, [operator], [y], settings, seed=0)
    assert [x.shape for x in result.latents] == [(2, 16, 16), (2, 8, 8)]
    assert psnr(result.image, truth) > 40
    assert psnr(result.image, truth) > psnr(np.full_like(truth, truth.mean()), truth) + 20


def test_progressive_surgery_carries_a_solution_into_both_inputs(artifacts):
    """Schedule (0, 2): solve for z, map it through the head blocks to (h2, z2), go on."""
    art = artifacts[2]
    rng = np.random.default_rng(0)
    truth = rng.random((3, 32, 32)).astype(np.float32)
    operator = GaussianCS(300, truth.shape, rng)
    y = operator.measure(truth[None], rng)[0]
    settings = art.metadata.settings_for("cs").override(schedule=(0, 2), steps=2, restarts=2)
    (result,) = invert(art, [operator], [y], settings, seed=0)
    assert [s.cut for s in result.stages] == [0, 2]
    assert [x.shape for x in result.latents] == [(4, 16, 16), (4, 8, 8)]
    # The second stage starts where the first ended (the carried state), then improves.
    assert result.stages[1].first_loss == pytest.approx(result.stages[0].final_loss, rel=1e-4)
    assert result.stages[1].final_loss <= result.stages[1].first_loss


# --- training -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    return write_images(tmp_path_factory.mktemp("data") / "images", count=10)


@pytest.fixture(scope="module")
def smoke_run(images, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "began"
    return smoke_train("began", images, out, SMOKE_STEPS, *TRAIN)


def test_smoke_training_follows_the_checkpoint_contract(smoke_run):
    ck = torch.load(smoke_run / "last.ckpt", map_location="cpu", weights_only=False)
    hp = ck["hyper_parameters"]
    assert hp["model_name"] == "began" and hp["cut_before_training"] == 0
    assert hp["model_config"] == {"nz": 4, "ngf": 4, "nc": 3, "image_size": 16}
    assert (hp["lr"], hp["gamma"], hp["lambda_k"]) == (1e-4, 0.5, 1e-3)
    assert ck["global_step"] == 2 * SMOKE_STEPS and ck["gs"]["iterations"] == SMOKE_STEPS
    state = ck["state_dict"]
    assert "generator.fc.weight" in state and "discriminator.decoder.fc.weight" in state
    with open(smoke_run / "logs" / "version_0" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("loss_d")]
    assert len(rows) == SMOKE_STEPS
    k_t = 0.0  # k_0
    for row in rows:
        values = {key: float(row[key]) for key in
                  ("loss_d", "loss_g", "k_t", "m_global", "loss_real", "loss_fake")}
        assert np.isfinite(list(values.values())).all()
        balance = 0.5 * values["loss_real"] - values["loss_fake"]
        assert values["loss_d"] == pytest.approx(values["loss_real"] - k_t * values["loss_fake"])
        k_t = min(max(k_t + 1e-3 * balance, 0.0), 1.0)  # BEGAN eq. 4, clipped to [0, 1]
        assert values["k_t"] == pytest.approx(k_t, abs=1e-7)
        assert values["m_global"] == pytest.approx(values["loss_real"] + abs(balance))
    assert float(state["k_t"]) == pytest.approx(k_t, abs=1e-7)  # saved for resuming
    assert sorted(p.name for p in (smoke_run / "samples").glob("*.png")) == [
        "step_000000.png", "step_000002.png", "step_000003.png"]


def test_trained_checkpoint_exports_at_every_cut(smoke_run, tmp_path):
    module = BEGANModule.load_from_checkpoint(smoke_run / "last.ckpt", map_location="cpu")
    g = module.generator.eval()
    z = latent(2)
    for c in g.valid_cuts:
        art = artifact.load(export_artifact(smoke_run / "last.ckpt", tmp_path / f"{c}.pt", cut=c))
        with torch.no_grad():
            state = g.run_from(0, (z,), until=c)
            expected = g.to_image(g(z))
        assert_close_f32(art.generator(*state), expected, g)


def test_generator_step_uses_the_discriminator_after_its_update(images, tmp_path):
    """L_G is measured by a fresh forward pass of the updated D, not by the graph of D's step."""
    config = TrainConfig(
        data=images, out=tmp_path / "one", image_size=16, batch_size=4, max_steps=1,
        num_workers=0, seed=0, accelerator="cpu", devices=1, log_every=1, num_samples=4,
        sample_every=100, progress_bar=False,
    )
    options = BEGANOptions(nz=4, ngf=4, ndf=4, lr=1e-2)
    result = fit_began(config, options)
    with open(result.log_dir / "metrics.csv") as f:
        (row,) = [r for r in csv.DictReader(f) if r.get("loss_g")]
    before = BEGANModule(model_config={"nz": 4, "ngf": 4, "nc": 3, "image_size": 16},
                         ndf=4, lr=1e-2, seed=0)
    after = BEGANModule.load_from_checkpoint(result.last_checkpoint, map_location="cpu")
    noise = torch.Generator().manual_seed(derived_seed(0, STREAM_NOISE, 0))
    with torch.no_grad():
        fake = before.generator(*before.latent_inputs(4, noise))  # the step's G(z)
        old = reconstruction_loss(fake, before.discriminator(fake)).item()
        new = reconstruction_loss(fake, after.discriminator(fake)).item()
    assert float(row["loss_fake"]) == pytest.approx(old, rel=1e-5)
    assert float(row["loss_g"]) == pytest.approx(new, rel=1e-5)
    assert abs(new - old) > 1e-4


def test_user_errors_exit_2_with_one_sentence(images, tmp_path):
    cases = [
        (["--image-size", "24"], "--image-size 24 is not allowed for began"),
        (["--image-size", "16", "--cut-before-training", "3"],
         "--cut-before-training 3 is not allowed for a 16 px began with 3 blocks; expected an "
         "integer from 0 to 2"),
        (["--cut-before-training", "9"], "for a 128 px began"),  # the paper's default size
        (["--gamma", "0"], "--gamma"),
    ]
    for args, message in cases:
        out = tmp_path / "out"
        result = invoke_train("began", "--data", images, "--out", out, "--max-steps", 1, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
        assert not out.exists(), args
