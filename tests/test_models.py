"""Every registered model passes the conformance suite (gs.testing); the
built-in models' own figures (supplement settings, sizes, recovery) as tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gs import artifacts as artifact
from gs.export import export_artifact
from gs.invert import invert
from gs.latent import InitSpec
from gs.metrics import psnr
from gs.models import MODELS, model_class
from gs.models.began import BEGANGenerator
from gs.models.biggan import BIGGAN_DEEP_512, BigGANDeep
from gs.models.dcgan import DCGANGenerator
from gs.models.vae import VAEDecoder
from gs.operators import GaussianCS
from gs.testing import ModelConformance
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

SUPPLEMENT = {  # model: its row of Table 1: the cut c, then L-BFGS (lr, steps) for compressed
    # sensing, inpainting and super-resolution, and for the raw reconstruction (A = I: denoising)
    "dcgan": (1, (0.1, 25), (1.0, 100)),
    "began": (2, (1.0, 25), (1.0, 100)),
    "vae": (1, (1.0, 25), (1.0, 40)),
    "biggan": (7, (1.5, 25), (1.5, 25)),  # no raw row: denoising keeps inpainting's settings
}


@pytest.mark.parametrize("name", sorted(SUPPLEMENT))
def test_paper_settings_follow_the_supplement(name):
    _, (lr, steps), (raw_lr, raw_steps) = SUPPLEMENT[name]
    model_cls = model_class(name)
    g = model_cls.from_config(model_cls.smoke_config)
    for task in ("cs", "inpaint", "sr"):
        s = g.paper_settings(task)
        assert (s.optimizer, s.lr, s.steps) == ("lbfgs", lr, steps)
    s = g.paper_settings("denoise")
    assert (s.optimizer, s.lr, s.steps) == ("lbfgs", raw_lr, raw_steps)


CN = InitSpec()  # the paper's CN(0, 1): a normal draw clipped to [-1, 1]

PAPER_ARCHITECTURES = {
    # model: (class, default configuration (the paper's), image shape, number of blocks,
    #         {cut: ((input name, shape), ...)}, initial distribution of z)
    "dcgan": (DCGANGenerator, {"nz": 100, "ngf": 64, "nc": 3, "image_size": 64}, (3, 64, 64), 5,
              {0: (("z", (100, 1, 1)),), 1: (("h1", (512, 4, 4)),), 2: (("h2", (256, 8, 8)),),
               3: (("h3", (128, 16, 16)),), 4: (("h4", (64, 32, 32)),)}, CN),
    "began": (BEGANGenerator, {"nz": 64, "ngf": 128, "nc": 3, "image_size": 128},
              (3, 128, 128), 6,
              {0: (("z", (64,)),), 1: (("h1", (128, 8, 8)),),
               **{c: ((f"h{c}", (128, side, side)), ("z2", (128, 8, 8)))  # z2: the skip input
                  for c, side in [(2, 16), (3, 32), (4, 64), (5, 128)]}},
              InitSpec("uniform", limit=1.0)),
    "vae": (VAEDecoder, {"nz": 512, "ngf": 64, "nc": 3, "image_size": 128}, (3, 128, 128), 6,
            {0: (("z", (512,)),), 1: (("h1", (2048, 4, 4)),), 2: (("h2", (1024, 8, 8)),),
             3: (("h3", (512, 16, 16)),), 4: (("h4", (256, 32, 32)),),
             5: (("h5", (128, 64, 64)),)}, CN),
    "biggan": (BigGANDeep, {"biggan_config": BIGGAN_DEEP_512, "truncation": 0.4},
               (3, 512, 512), 17,
               {0: (("z", (128,)), ("embedding", (128,))),
                7: (("h7", (1024, 32, 32)), ("cond", (256,))),
                10: (("h10", (512, 64, 64)), ("cond", (256,))),  # after the self-attention
                16: (("h16", (128, 512, 512)),)}, InitSpec(std=0.4, limit=0.8)),
}


@pytest.mark.parametrize("name", sorted(PAPER_ARCHITECTURES))
def test_paper_configuration_cut_shapes_and_registry(name):
    """The paper's architecture: its cuts' inputs as documented, and the blocks really map
    each cut's shapes to the next (propagated on the meta device: no arithmetic)."""
    cls, config, image_shape, blocks, inputs, z_init = PAPER_ARCHITECTURES[name]
    assert MODELS[name] is cls
    g = cls().eval()
    assert g.config() == config and g.image_shape == image_shape
    assert g.num_blocks == blocks and g.recommended_cut == SUPPLEMENT[name][0]
    specs = [g.cut_spec(c) for c in g.valid_cuts]
    for c, named_shapes in inputs.items():
        assert tuple(zip(specs[c].names, specs[c].shapes, strict=True)) == named_shapes
    assert specs[0].inputs[0].init == z_init
    assert all(spec.inputs[0].init == CN for spec in specs[1:])  # every h_c starts from CN
    g = g.to("meta")
    state = tuple(torch.empty(1, *shape, device="meta") for shape in specs[0].shapes)
    with torch.no_grad():
        for c, spec in enumerate(specs):
            assert [tuple(s.shape[1:]) for s in state] == list(spec.shapes), c
            state = g.stage(c, state)
        assert g.to_image(state[0]).shape == (1, *image_shape)


def test_an_unknown_model_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"model 'stylegan' is not known; expected one of .*dcgan"):
        model_class("stylegan")


@pytest.mark.parametrize("name, size, minimum", [
    ("dcgan", 4, 8), ("dcgan", 48, 8), ("dcgan", 100, 8),
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
