"""VAE: the decoder as a cuttable generator, training, export and inversion."""

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
from gs.models.vae import VAEDecoder, VAEEncoder
from gs.operators import GaussianCS
from gs.surgery import cut
from gs.train.vae import VAEModule, kl_divergence
from helpers import assert_close_f32, invoke_train, save_lightning_like, smoke_train, write_images

TINY = {"nz": 8, "ngf": 2, "nc": 3, "image_size": 32}  # cuts 0 … 3
TRAIN = ["--image-size", "16", "--nz", "8", "--ngf", "4", "--nef", "4", "--batch-size", "4",
         "--num-workers", "0", "--accelerator", "cpu", "--devices", "1", "--no-progress-bar",
         "--log-every", "1", "--num-samples", "4"]
SMOKE_STEPS = 3


pytestmark = pytest.mark.usefixtures("one_thread")


def latent(batch: int = 2, seed: int = 1, nz: int = TINY["nz"]) -> torch.Tensor:
    return torch.randn(batch, nz, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[VAEDecoder, Path]:
    """A seeded 32 px VAE (random weights, decoder in eval mode) and its checkpoint."""
    module = VAEModule(model_config=TINY, nef=2, seed=0)
    path = save_lightning_like(module, tmp_path_factory.mktemp("vae") / "tiny.ckpt")
    return module.generator.eval(), path


@pytest.fixture(scope="module")
def artifacts(tiny, tmp_path_factory) -> dict[int, artifact.TorchScriptArtifact]:
    generator, ckpt = tiny
    folder = tmp_path_factory.mktemp("artifacts")
    return {
        c: artifact.load(export_artifact(ckpt, folder / f"vae_c{c}.pt", cut=c))
        for c in generator.valid_cuts
    }


# --- architecture and cut specs -----------------------------------------------------------


def test_paper_configuration_and_registry():
    g = VAEDecoder()
    assert MODELS["vae"] is VAEDecoder
    assert g.config() == {"nz": 512, "ngf": 64, "nc": 3, "image_size": 128}
    assert list(g.valid_cuts) == [0, 1, 2, 3, 4, 5] and g.recommended_cut == 1
    shapes = [g.cut_spec(c).shapes[0] for c in g.valid_cuts]
    assert shapes == [(512,), (2048, 4, 4), (1024, 8, 8), (512, 16, 16), (256, 32, 32),
                      (128, 64, 64)]
    assert all(g.cut_spec(c).inputs[0].init.kind == "clamped_normal" for c in g.valid_cuts)
    with torch.no_grad():
        image = g.eval()(latent(1, nz=512))
    assert image.shape == (1, 3, 128, 128) and 0 <= image.min() and image.max() <= 1
    mu, logvar = VAEEncoder()(torch.rand(2, 3, 128, 128))
    assert mu.shape == logvar.shape == (2, 512)


def test_recommended_settings_follow_the_supplement():
    g = VAEDecoder(**TINY)
    for task in ("cs", "inpaint", "sr"):
        s = g.recommended_settings(task)
        assert (s.optimizer, s.lr, s.steps) == ("lbfgs", 1.0, 25)
    assert g.recommended_settings("denoise").steps == 40


@pytest.mark.parametrize("size", [4, 12, 96])
def test_image_size_must_be_a_power_of_two_of_at_least_8(size):
    with pytest.raises(ValueError, match="power of two of at least 8"):
        VAEDecoder(image_size=size)


def test_kl_divergence_matches_torch_distributions():
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3, 5), torch.ones(3, 5))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1).mean()
    torch.testing.assert_close(kl_divergence(mu, logvar), expected)


# --- surgery ------------------------------------------------------------------------------


def test_every_cut_with_the_true_intermediate_tensor_gives_the_uncut_output(tiny, artifacts):
    g, _ = tiny
    z = latent()
    with torch.no_grad():
        expected = g.to_image(g(z))
        for c in g.valid_cuts:
            state = g.run_from(0, (z,), until=c)
            assert torch.equal(cut(g, c)(*state), expected)
            assert_close_f32(artifacts[c].generator(*state), expected, g)


@pytest.mark.parametrize("c", [0, 1, 2, 3])
def test_every_valid_cut_runs_with_the_shapes_listed_in_gs_json(tiny, artifacts, c):
    g, _ = tiny
    art = artifacts[c]
    meta = art.metadata
    assert meta.model == "vae" and meta.cut == c and meta.valid_cuts == (0, 1, 2, 3)
    assert meta.spec == g.cut_spec(c)
    assert [s.cut for s in meta.latents] == list(range(c + 1))
    graph_inputs = list(art.module.tail.graph.inputs())[1:]  # the first is ``self``
    assert len(graph_inputs) == len(meta.spec.inputs) == 1
    (shape,) = meta.spec.shapes
    for batch in (1, 3):
        images = art.generator(torch.randn(batch, *shape))
        assert images.shape == (batch, *meta.image_shape) == (batch, 3, 32, 32)
        assert images.min() >= 0 and images.max() <= 1
    with pytest.raises(RuntimeError):  # any other channel count is refused
        art.generator(torch.randn(1, shape[0] + 1, *shape[1:]))
    z = latent()
    with torch.no_grad():
        assert_close_f32(art.generator(*art.carry(0, c, (z,))), art.generator_at(0)(z), g)


def test_gs_json_carries_the_paper_settings_and_default_cut(tiny, tmp_path):
    _, ckpt = tiny
    meta = artifact.load(export_artifact(ckpt, tmp_path / "default.pt")).metadata
    assert meta.cut == 1 and meta.spec.names == ("h1",)
    assert meta.settings_for("cs").lr == 1.0 and meta.settings_for("cs").steps == 25
    assert meta.settings_for("sr").steps == 25
    assert meta.settings_for("denoise").steps == 40


def test_a_cut_the_model_does_not_allow_names_the_allowed_range(tiny, tmp_path):
    g, ckpt = tiny
    with pytest.raises(ValueError, match="expected an integer from 0 to 3"):
        cut(g, 4)
    with pytest.raises(UserInputError, match="cut 6 is not allowed for vae; expected an "
                                             "integer from 0 to 3"):
        export_artifact(ckpt, tmp_path / "bad.pt", cut=6)
    assert not (tmp_path / "bad.pt").exists()


# --- inversion round trip -----------------------------------------------------------------


def test_export_invert_round_trip_at_the_recommended_cut(tmp_path):
    """A 16 px VAE, an image from the decoder itself, CS with more measurements than free
    scalars at c=1: the inversion recovers the image."""
    config = {"nz": 8, "ngf": 4, "nc": 3, "image_size": 16}  # c=1: 16·4·4 = 256 scalars
    module = VAEModule(model_config=config, nef=2, seed=3)
    with torch.no_grad():  # more contrast than a freshly initialised network has
        module.generator.out[0].weight.mul_(5)
    ckpt = save_lightning_like(module, tmp_path / "g.ckpt")
    art = artifact.load(export_artifact(ckpt, tmp_path / "g.pt"))
    assert art.metadata.cut == 1
    g = module.generator.eval()
    with torch.no_grad():
        truth = g.to_image(g(latent(1, seed=4))).numpy()[0]
    rng = np.random.default_rng(0)
    operator = GaussianCS(400, truth.shape, rng, noise_std=0.0)
    y = operator.measure(truth[None], rng)[0]
    settings = art.metadata.settings_for("cs").override(restarts=1)
    (result,) = invert(art, [operator], [y], settings, seed=0)
    assert [x.shape for x in result.latents] == [(16, 4, 4)]
    assert psnr(result.image, truth) > 40
    assert psnr(result.image, truth) > psnr(np.full_like(truth, truth.mean()), truth) + 15


# --- training -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    return write_images(tmp_path_factory.mktemp("data") / "images", count=10)


@pytest.fixture(scope="module")
def smoke_run(images, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "vae"
    return smoke_train("vae", images, out, SMOKE_STEPS, *TRAIN)


def test_smoke_training_follows_the_checkpoint_contract(smoke_run):
    ck = torch.load(smoke_run / "last.ckpt", map_location="cpu", weights_only=False)
    hp = ck["hyper_parameters"]
    assert hp["model_name"] == "vae" and hp["cut_before_training"] == 0
    assert hp["model_config"] == {"nz": 8, "ngf": 4, "nc": 3, "image_size": 16}
    assert (hp["lr"], hp["beta"], hp["lr_gamma"], hp["nef"]) == (2e-4, 2.5e-4, 0.95, 4)
    assert ck["global_step"] == SMOKE_STEPS and ck["gs"]["iterations"] == SMOKE_STEPS
    state = ck["state_dict"]
    assert "generator.fc.weight" in state and "encoder.fc_mu.weight" in state
    assert type(ck["optimizer_states"]) is list and ck["lr_schedulers"]
    with open(smoke_run / "logs" / "version_0" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("loss")]
    assert len(rows) == SMOKE_STEPS
    for row in rows:
        mse, kld, loss = (float(row[k]) for k in ("mse", "kld", "loss"))
        assert np.isfinite([mse, kld, loss]).all() and kld >= 0
        assert loss == pytest.approx(mse + 2.5e-4 * kld, rel=1e-5)
    assert sorted(p.name for p in (smoke_run / "samples").glob("*.png")) == [
        "step_000000.png", "step_000002.png", "step_000003.png"]


def test_trained_decoder_exports_at_every_cut(smoke_run, tmp_path):
    module = VAEModule.load_from_checkpoint(smoke_run / "last.ckpt", map_location="cpu")
    g = module.generator.eval()
    z = latent(2)
    for c in g.valid_cuts:
        art = artifact.load(export_artifact(smoke_run / "last.ckpt", tmp_path / f"{c}.pt", cut=c))
        with torch.no_grad():
            expected = g.to_image(g(z))
            state = g.run_from(0, (z,), until=c)
        assert_close_f32(art.generator(*state), expected, g)


def test_user_errors_exit_2_with_one_sentence(images, tmp_path):
    cases = [
        (["--image-size", "12"], "--image-size 12 is not allowed for vae"),
        (["--image-size", "16", "--cut-before-training", "1"],
         "--cut-before-training 1 is not available for vae"),
        (["--lr-gamma", "0"], "--lr-gamma"),
    ]
    for args, message in cases:
        out = tmp_path / "out"
        result = invoke_train("vae", "--data", images, "--out", out, "--max-steps", 1, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
        assert not out.exists(), args
