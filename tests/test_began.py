"""BEGAN: what is particular to it (the skip input z2, the auto-encoder discriminator, the
equilibrium k_t). The paper's shapes and settings: the tables in test_models.py; cuts,
export, inversion and the checkpoint contract: the conformance suite it runs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from gs import artifacts as artifact
from gs.export import export_artifact
from gs.invert import invert
from gs.models.began import BEGANGenerator
from gs.operators import GaussianCS
from gs.surgery import cut
from gs.train.began import BEGANModule, reconstruction_loss
from gs.train.config import TrainConfig
from gs.train.fit import fit
from gs.train.module import STREAM_NOISE, derived_seed
from gs.train.networks import BEGANDiscriminator
from helpers import assert_close_f32, save_lightning_like

TINY = {"nz": 4, "ngf": 4, "nc": 3, "image_size": 32}  # cuts 0 … 3
SMOKE_STEPS = 3
SMOKE_RUN = ("began", SMOKE_STEPS, ["--image-size", 16, "--nz", 4, "--ngf", 4, "--ndf", 4])


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[BEGANGenerator, Path]:
    """A seeded 32 px BEGAN (random weights, eval mode) and its checkpoint."""
    module = BEGANModule(model_config=TINY, ndf=4, seed=0)
    path = save_lightning_like(module, tmp_path_factory.mktemp("began") / "tiny.ckpt")
    return module.generator.eval(), path


@pytest.fixture(scope="module")
def artifacts(tiny, tmp_path_factory) -> dict[int, artifact.Artifact]:
    generator, ckpt = tiny
    folder = tmp_path_factory.mktemp("artifacts")
    return {
        c: artifact.load(export_artifact(ckpt, folder / f"began_c{c}.pt", cut=c))
        for c in generator.valid_cuts
    }


def latent(batch: int = 2, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, TINY["nz"], generator=gen) * 2 - 1  # U[-1, 1], BEGAN's prior


# --- the discriminator --------------------------------------------------------------------


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


# --- inversion round trip -----------------------------------------------------------------


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


def test_smoke_run_records_began_settings_and_the_equilibrium(smoke_run):
    """gs-train began from the command line: the recorded options and BEGAN's k_t control
    (the checkpoint contract itself is the conformance suite's)."""
    ck = torch.load(smoke_run / "last.ckpt", map_location="cpu", weights_only=False)
    hp = ck["hyper_parameters"]
    assert hp["model_config"] == {"nz": 4, "ngf": 4, "nc": 3, "image_size": 16}
    assert (hp["lr"], hp["gamma"], hp["lambda_k"]) == (1e-4, 0.5, 1e-3)
    assert ck["global_step"] == 2 * SMOKE_STEPS and ck["gs"]["iterations"] == SMOKE_STEPS
    state = ck["state_dict"]
    assert "discriminator.decoder.fc.weight" in state
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
    assert (smoke_run / "samples" / "step_000003.png").is_file()


def test_generator_step_uses_the_discriminator_after_its_update(images, tmp_path):
    """L_G is measured by a fresh forward pass of the updated D, not by the graph of D's step."""
    config = TrainConfig(
        data=images, out=tmp_path / "one", image_size=16, batch_size=4, max_steps=1,
        num_workers=0, seed=0, accelerator="cpu", devices=1, log_every=1, num_samples=4,
        sample_every=100, progress_bar=False,
    )
    result = fit("began", config, nz=4, ngf=4, ndf=4, lr=1e-2)
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


