"""Every registered model passes the conformance suite (tests/conformance.py); the
built-in models' own figures (supplement settings, sizes, recovery) as tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conformance import ModelConformance
from gs import artifact
from gs.export import export_artifact
from gs.invert import invert
from gs.metrics import psnr
from gs.models import MODELS, model_class
from gs.operators import GaussianCS
from gs.train.models import TRAINERS
from helpers import save_lightning_like

pytestmark = pytest.mark.usefixtures("one_thread")


class TestRegisteredModels(ModelConformance):
    # gs's own models: one a test file registers is run by that file (tests/test_toy_model.py)
    @pytest.fixture(scope="class", params=sorted(name for name, cls in MODELS.items()
                                                if cls.__module__.startswith("gs.")))
    @classmethod
    def model_name(cls, request: pytest.FixtureRequest) -> str:
        return request.param


# --- the built-in models' own figures, one table each ------------------------------------

SUPPLEMENT = {  # model: (lr, steps) for cs, inpaint and sr; denoising steps (Table 1)
    "began": (1.0, 25, 100),
    "vae": (1.0, 25, 40),
}


@pytest.mark.parametrize("name", sorted(SUPPLEMENT))
def test_recommended_settings_follow_the_supplement(name):
    lr, steps, denoise_steps = SUPPLEMENT[name]
    g = model_class(name)(**model_class(name).smoke_config)
    for task in ("cs", "inpaint", "sr"):
        s = g.paper_settings(task)
        assert (s.optimizer, s.lr, s.steps) == ("lbfgs", lr, steps)
    assert g.paper_settings("denoise").steps == denoise_steps


@pytest.mark.parametrize("name, size, minimum", [
    ("began", 8, 16), ("began", 24, 16), ("began", 100, 16),
    ("vae", 4, 8), ("vae", 12, 8), ("vae", 96, 8),
])
def test_image_size_must_be_a_power_of_two_of_at_least_the_minimum(name, size, minimum):
    with pytest.raises(ValueError, match=f"power of two of at least {minimum}"):
        model_class(name)(image_size=size)


def _began_latent(nz: int, seed: int) -> torch.Tensor:
    return torch.rand(1, nz, generator=torch.Generator().manual_seed(seed)) * 2 - 1  # U[-1, 1]


def _normal_latent(nz: int, seed: int) -> torch.Tensor:
    return torch.randn(1, nz, generator=torch.Generator().manual_seed(seed))


ROUND_TRIPS = {
    # model: (generator config, module options, output layer to sharpen, measurements,
    #         recommended cut, latent shapes there, PSNR margin over a flat image, prior)
    # c=2 of BEGAN: 2·16·16 + 2·8·8 = 640 free scalars; c=1 of the VAE: 16·4·4 = 256.
    "began": ({"nz": 4, "ngf": 2, "nc": 3, "image_size": 16}, {"ndf": 2},
              lambda g: g.out, 700, 2, [(2, 16, 16), (2, 8, 8)], 20, _began_latent),
    "vae": ({"nz": 8, "ngf": 4, "nc": 3, "image_size": 16}, {"nef": 2},
            lambda g: g.out[0], 400, 1, [(16, 4, 4)], 15, _normal_latent),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_export_invert_round_trip_at_the_recommended_cut(name, tmp_path):
    """A 16 px model, an image from the generator itself, CS with more measurements than
    free scalars at the recommended cut: the inversion recovers the image."""
    config, options, output_layer, m, c, shapes, margin, prior = ROUND_TRIPS[name]
    module = TRAINERS[name](model_config=config, seed=3, **options)
    with torch.no_grad():  # more contrast than a freshly initialised network has
        output_layer(module.generator).weight.mul_(5)
    ckpt = save_lightning_like(module, tmp_path / "g.ckpt")
    art = artifact.load(export_artifact(ckpt, tmp_path / "g.pt"))
    assert art.metadata.cut == c
    g = module.generator.eval()
    with torch.no_grad():
        truth = g.to_image(g(prior(config["nz"], 4))).numpy()[0]
    rng = np.random.default_rng(0)
    operator = GaussianCS(m, truth.shape, rng, noise_std=0.0)
    y = operator.measure(truth[None], rng)[0]
    settings = art.metadata.settings_for("cs").override(restarts=1)
    (result,) = invert(art, [operator], [y], settings, seed=0)
    assert [x.shape for x in result.latents] == shapes
    assert psnr(result.image, truth) > 40
    assert psnr(result.image, truth) > psnr(np.full_like(truth, truth.mean()), truth) + margin
