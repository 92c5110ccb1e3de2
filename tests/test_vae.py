"""VAE: what is particular to it (encoder, KL, the ELBO in the training logs).

The paper's decoder shapes: the architecture table in test_models.py; cuts, export, inversion
and the checkpoint contract: the conformance suite it runs.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from gs.train.networks import VAEEncoder
from gs.train.vae import kl_divergence

SMOKE_STEPS = 3
SMOKE_RUN = ("vae", SMOKE_STEPS, ["--image-size", 16, "--nz", 8, "--ngf", 4, "--nef", 4])


pytestmark = pytest.mark.usefixtures("one_thread")


# --- the encoder and the KL term ----------------------------------------------------------


def test_encoder_maps_paper_sized_images_to_mu_and_logvar():
    mu, logvar = VAEEncoder(nz=512, nef=32, nc=3, image_size=128)(torch.rand(2, 3, 128, 128))
    assert mu.shape == logvar.shape == (2, 512)


def test_kl_divergence_matches_torch_distributions():
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3, 5), torch.ones(3, 5))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1).mean()
    torch.testing.assert_close(kl_divergence(mu, logvar), expected)


# --- training -----------------------------------------------------------------------------


def test_smoke_run_records_vae_settings_and_the_elbo_terms(smoke_run):
    """gs-train vae from the command line: recorded options, the encoder beside the
    decoder, the epoch scheduler and loss = MSE + β·KL in the logs."""
    ck = torch.load(smoke_run / "last.ckpt", map_location="cpu", weights_only=False)
    hp = ck["hyper_parameters"]
    assert hp["model_config"] == {"nz": 8, "ngf": 4, "nc": 3, "image_size": 16}
    assert (hp["lr"], hp["beta"], hp["lr_gamma"], hp["nef"]) == (2e-4, 2.5e-4, 0.95, 4)
    assert ck["global_step"] == SMOKE_STEPS and ck["gs"]["iterations"] == SMOKE_STEPS
    assert "encoder.fc_mu.weight" in ck["state_dict"]
    assert type(ck["optimizer_states"]) is list and ck["lr_schedulers"]
    with open(smoke_run / "logs" / "version_0" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("loss")]
    assert len(rows) == SMOKE_STEPS
    for row in rows:
        mse, kld, loss = (float(row[k]) for k in ("mse", "kld", "loss"))
        assert np.isfinite([mse, kld, loss]).all() and kld >= 0
        assert loss == pytest.approx(mse + 2.5e-4 * kld, rel=1e-5)


