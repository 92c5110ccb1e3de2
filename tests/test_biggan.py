"""BigGAN-deep: upstream parity, surgery with the conditioning vector, folder loading, export
from the folder, progressive surgery and inversion, on a tiny random configuration.

The paper's 512 px shapes and settings: the tables in test_models.py; cuts, export (ONNX
included), inversion: the conformance suite it runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from pytorch_pretrained_biggan import BigGAN

from gs import artifacts as artifact
from gs.cli import main as invert_cli
from gs.errors import UserInputError
from gs.export import export_artifact
from gs.export.cli import main as export_cli
from gs.export.torchscript import trace_artifact
from gs.invert import invert
from gs.io import sha256_file
from gs.models import build_model, load_generator
from gs.models.biggan import BIGGAN_SMOKE, BigGANDeep
from gs.operators import RandomInpainting, SuperResolution
from gs.problems import simulate
from gs.seeding import Stream, problem_rng
from gs.settings import InversionSettings
from gs.surgery import cut
from gs.testing.biggan import random_biggan, write_release_folder
from helpers import assert_close_f32, one_sentence_error

TINY = BIGGAN_SMOKE  # 16 px; stages: gen_z, 5 GenBlocks (self-attention before the third), out
CUTS = list(range(8))
EXPORTED = (0, 2, 5, 7)  # the cuts the tests below use; every cut: the conformance suite
SHAPES = {1: (64, 4, 4), 2: (64, 4, 4), 3: (32, 8, 8), 4: (32, 8, 8), 5: (16, 8, 8),
          6: (8, 16, 16), 7: (4, 16, 16)}
# Small L-BFGS steps: the class-conditional batch norms multiply by 1 + W·cond in every
# block, so a long step in z or cond overflows float32 on this random model.
LR = 0.1

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_upstream(seed: int = 0, **changes) -> BigGAN:
    """An upstream BigGAN with random weights and statistics that give visible images."""
    return random_biggan({**TINY, **changes}, seed)


def inputs(batch: int = 2, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Truncated z (t = 0.4) and one-hot labels."""
    gen = torch.Generator().manual_seed(seed)
    z = 0.4 * torch.randn(batch, TINY["z_dim"], generator=gen).clamp(-2, 2)
    labels = torch.randint(0, TINY["num_classes"], (batch,), generator=gen)
    return z, torch.nn.functional.one_hot(labels, TINY["num_classes"]).float()


def invoke(cli, *args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def upstream() -> BigGAN:
    return tiny_upstream()


@pytest.fixture(scope="module")
def folder(upstream, tmp_path_factory) -> Path:
    return write_release_folder(tmp_path_factory.mktemp("biggan") / "tiny-biggan", upstream)


@pytest.fixture(scope="module")
def model(folder) -> BigGANDeep:
    generator = load_generator(folder).model
    assert isinstance(generator, BigGANDeep)
    return generator


@pytest.fixture(scope="module")
def artifacts(folder, tmp_path_factory) -> dict[int, artifact.Artifact]:
    out = tmp_path_factory.mktemp("artifacts")
    return {c: artifact.load(export_artifact(folder, out / f"biggan_c{c}.pt", cut=c))
            for c in EXPORTED}


# --- architecture -------------------------------------------------------------------------


def test_tiny_configuration_shapes_and_recommended_cut(model):
    assert list(model.valid_cuts) == CUTS and model.image_shape == (3, 16, 16)
    assert model.recommended_cut == 7  # the paper's cut is still valid here
    for c, shape in SHAPES.items():
        spec = model.cut_spec(c)
        assert spec.shapes == ((shape,) if c == 7 else (shape, (16,)))
        assert spec.names == ((f"h{c}",) if c == 7 else (f"h{c}", "cond"))
    shallow = BigGANDeep({**TINY, "output_dim": 8, "layers": [[False, 16, 8], [True, 8, 4],
                                                               [False, 4, 2], [False, 2, 1]]})
    assert shallow.num_blocks == 7 and shallow.recommended_cut == 6  # one SelfAttn at 2


def test_config_round_trip_and_validation():
    g = BigGANDeep(TINY, truncation=0.7)
    config = json.loads(json.dumps(g.config()))
    assert config == {"biggan_config": TINY, "truncation": 0.7}
    assert build_model("biggan", config).config() == config
    bad = [
        ({**TINY, "z_dim": 0}, "z_dim"),
        ({**TINY, "layers": [[False, 16, 16], [True, 8, 4]]}, "layers[1]"),
        ({**TINY, "layers": [[False, 16, 16], [True, 16, 4], [False, 4, 1]]}, "halve"),
        ({**TINY, "output_dim": 32}, "output_dim"),
        ({k: v for k, v in TINY.items() if k != "eps"}, "lacks eps"),
    ]
    for config, message in bad:
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            BigGANDeep(config)
    with pytest.warns(UserWarning, match=r"unknown fields \['spectral'\]"):
        assert BigGANDeep({**TINY, "spectral": True}).config()["biggan_config"] == TINY
    for truncation in (0, 1.5, -0.1, True):
        with pytest.raises(ValueError, match="truncation must be a number in"):
            BigGANDeep(TINY, truncation=truncation)


# --- the staged network equals upstream ---------------------------------------------------


@pytest.mark.parametrize("truncation", [0.4, 1.0])
def test_staged_forward_equals_upstream(upstream, truncation):
    g = BigGANDeep(TINY, truncation=truncation).eval()
    g.load_upstream(upstream.state_dict())
    z, one_hot = inputs()
    with torch.no_grad():
        expected = upstream(z, one_hot, truncation)
        assert_close_f32(g(z, g.embed(one_hot)), expected, upstream)
    assert expected.std() > 0.1  # visible images, not a flat grey


def test_cond_is_carried_unchanged_and_is_a_genuine_input_of_the_cut_generator(model):
    z, one_hot = inputs()
    state0 = (z, model.embed(one_hot))
    with torch.no_grad():
        expected = model.to_image(model(*state0))
        for c in range(1, 7):  # the cuts with two inputs, (h_c, cond); cut 7 takes h7 alone
            h, cond = model.run_from(0, state0, until=c)
            assert torch.equal(cond, torch.cat(state0, dim=1))
            assert not torch.allclose(cut(model, c)(h, cond + 0.5), expected)


def test_baking_spectral_norm_keeps_the_output(upstream):
    g = BigGANDeep(TINY).eval()
    g.load_upstream(upstream.state_dict())
    z, one_hot = inputs(3)
    with torch.no_grad():
        before = g(z, g.embed(one_hot))
        assert g.spectral_norm_active
        g.bake_spectral_norm()
        g.bake_spectral_norm()  # idempotent
        assert_close_f32(g(z, g.embed(one_hot)), before, upstream)
    keys = g.state_dict()
    assert not g.spectral_norm_active and not any(k.endswith("_orig") for k in keys)
    assert "biggan.generator.gen_z.weight" in keys
    # A baked state dict (a generator file saved after loading) loads into a fresh model.
    fresh = BigGANDeep(TINY).eval()
    fresh.load_state_dict(keys, strict=True)
    with torch.no_grad():
        assert_close_f32(fresh(z, fresh.embed(one_hot)), before, upstream)


# --- loading from a folder ----------------------------------------------------------------


def test_folder_loads_baked_frozen_and_equal_to_upstream(folder, upstream):
    loaded = load_generator(folder)
    g = loaded.model
    assert loaded.options["truncation"] == 0.4 and g.truncation == 0.4
    assert loaded.source_name == "tiny-biggan"
    assert loaded.source_sha256 == sha256_file(folder / "pytorch_model.bin")
    assert not g.training and not g.spectral_norm_active
    assert not any(p.requires_grad for p in g.parameters())
    z, one_hot = inputs()
    with torch.no_grad():
        assert_close_f32(g(z, g.embed(one_hot)), upstream(z, one_hot, 0.4), upstream)
    other = load_generator(folder, model="biggan", truncation=0.7)
    assert other.options["truncation"] == 0.7 and other.model.config()["truncation"] == 0.7


def test_gs_export_cli_reads_the_folder_and_records_the_truncation(folder, upstream, tmp_path):
    out = tmp_path / "b.pt"
    result = invoke(export_cli, "biggan", "--weights", folder, "--cut", 3, "--truncation", 0.5,
                    "-o", out)
    assert result.exit_code == 0, result.output
    art = artifact.load(out)
    meta = art.metadata
    assert (meta.model, meta.cut, meta.model_config["truncation"]) == ("biggan", 3, 0.5)
    assert meta.model_config["truncation"] == 0.5 and meta.valid_cuts == tuple(CUTS)
    assert meta.spec.names == ("h3", "cond") and meta.latents[0].names == ("z", "embedding")
    z, one_hot = inputs()
    with torch.no_grad():
        embedding = upstream.embeddings(one_hot)
        assert_close_f32(art.generator_at(0)(z, embedding), (upstream(z, one_hot, 0.5) + 1) / 2,
                         upstream)


def test_a_generator_file_of_the_baked_model_loads_with_another_truncation(model, tmp_path):
    path = tmp_path / "biggan.pt"
    torch.save({"model_name": "biggan", "model_config": model.config(),
                "state_dict": model.state_dict()}, path)
    loaded = load_generator(path, truncation=0.7)
    assert loaded.options["truncation"] == 0.7 and loaded.model.config()["truncation"] == 0.7
    reference = BigGANDeep(TINY, truncation=0.7).eval()
    reference.load_state_dict(model.state_dict())
    z, one_hot = inputs()
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(z, loaded.model.embed(one_hot)),
                                   reference(z, reference.embed(one_hot)), rtol=0, atol=0)
    assert load_generator(path).options["truncation"] == 0.4  # the recorded one



def test_user_errors_exit_2_with_one_sentence_naming_the_file(folder, upstream, tmp_path,
                                                               tiny_weights):
    def broken(name: str, file: str, content: bytes | None) -> Path:
        """A copy of the good folder with ``file`` replaced by ``content`` (None: removed)."""
        target = tmp_path / name
        target.mkdir()
        for source in folder.iterdir():
            if source.name != file:
                (target / source.name).write_bytes(source.read_bytes())
        if content is not None:
            (target / file).write_bytes(content)
        return target

    def saved(state: dict) -> bytes:
        path = tmp_path / "state.bin"
        torch.save(state, path)
        return path.read_bytes()

    config, weights = "config.json", "pytorch_model.bin"
    partial = {k: v for k, v in upstream.state_dict().items() if k != "generator.bn.bias"}
    wider = tiny_upstream(channel_width=8).state_dict()
    bad_layers = json.dumps({**TINY, "layers": [[False, 16, 16], [True, 16, 4]]}).encode()
    cases = [
        (["--weights", broken("a", config, None)], ["a lacks config.json"]),
        (["--weights", broken("b", weights, None)], ["b lacks pytorch_model.bin"]),
        (["--weights", broken("c", config, b"{not json")],
         ["c/config.json is not readable JSON"]),
        (["--weights", broken("d", config, bad_layers)],
         ["d/config.json is not a valid BigGAN configuration", "layers[1]"]),
        (["--weights", broken("e", weights, saved(partial))],
         ["e/pytorch_model.bin does not match", "generator.bn.bias"]),
        (["--weights", broken("f", weights, saved(wider))],
         ["f/pytorch_model.bin has", "of shape"]),
        (["--weights", broken("g", weights, b"\x00junk")],
         ["g/pytorch_model.bin is not a readable PyTorch state dict"]),
        (["dcgan", "--weights", folder], ["is a folder", "MODEL dcgan"]),
        (["biggan", "--weights", folder / weights], ["pytorch_model.bin is a file; biggan is "
                                                     "read from a folder holding config.json"]),
        (["--weights", folder, "--truncation", 0], ["--truncation must be a number in (0, 1]"]),
        (["--weights", folder, "--truncation", 1.5], ["--truncation must be a number in"]),
        (["--weights", tiny_weights, "--truncation", 0.5],
         ["--truncation applies to biggan only", "tiny_dcgan.pth holds a dcgan"]),
    ]
    out = tmp_path / "out.pt"
    for args, fragments in cases:
        line = one_sentence_error(invoke(export_cli, *args, "--cut", 1, "-o", out))
        for fragment in fragments:
            assert fragment in line, (fragment, line)
        assert not out.exists()
    with pytest.raises(UserInputError, match="applies to biggan only, not to dcgan"):
        load_generator(tiny_weights, model="dcgan", truncation=0.5)


# --- export of a model with its spectral norm still active --------------------------------


def test_an_unbaked_model_exports_too(upstream):
    g = BigGANDeep(TINY).eval()
    g.load_upstream(upstream.state_dict())
    module = trace_artifact(g, 3)
    assert g.spectral_norm_active  # export leaves the model as it was
    z, one_hot = inputs()
    state0 = (z, g.embed(one_hot))
    with torch.no_grad():
        expected = g.to_image(g(*state0))
        assert_close_f32(module.tail(*g.run_from(0, state0, until=3)), expected, upstream)
        head = module.head_0(*state0)
        assert_close_f32(head[0], g.stage(0, state0)[0], upstream)


# --- inversion ----------------------------------------------------------------------------


def smooth_image(seed: int = 0) -> np.ndarray:
    """A smooth colour image (3, 16, 16) in [0, 1], not produced by the generator."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((3, 4, 4)).astype(np.float32)
    return np.kron(coarse, np.ones((4, 4), np.float32)) * 0.8 + 0.1


def test_progressive_warm_start_carries_h_and_cond_through_the_heads(artifacts):
    art = artifacts[2]
    truth = smooth_image(1)
    op = RandomInpainting(0.5, truth.shape, problem_rng(0, 0, Stream.OPERATOR))
    y = simulate(truth, op, problem_rng(0, 0, Stream.NOISE))
    settings = InversionSettings(lr=LR, steps=3, restarts=2, schedule=(0, 1, 2))
    (result,) = invert(art, [op], [y], settings, seed=0)
    assert [s.cut for s in result.stages] == [0, 1, 2]
    assert np.isfinite([s.final_loss for s in result.stages]).all()
    for shallow, deep in zip(result.stages, result.stages[1:]):
        assert deep.first_loss == pytest.approx(shallow.final_loss, rel=1e-4, abs=1e-7)
        assert deep.final_loss <= deep.first_loss
    assert [lat.shape for lat in result.latents] == [SHAPES[2], (16,)]


def test_progressive_surgery_to_the_last_cut_drops_cond(artifacts):
    art = artifacts[7]
    truth = smooth_image(2)
    op = SuperResolution(2, truth.shape)
    y = simulate(truth, op, problem_rng(0, 0, Stream.NOISE))
    settings = InversionSettings(lr=LR, steps=2, restarts=1, schedule=(0, 3, 7))
    (result,) = invert(art, [op], [y], settings, seed=0)
    assert [s.cut for s in result.stages] == [0, 3, 7]
    assert result.stages[2].first_loss == pytest.approx(result.stages[1].final_loss, rel=1e-4,
                                                        abs=1e-7)
    assert [lat.shape for lat in result.latents] == [SHAPES[7]]


@pytest.mark.parametrize("task", ["inpaint", "sr"])
def test_surgery_fits_the_measurements_better_than_no_surgery(artifacts, task):
    truth = smooth_image(3)
    if task == "inpaint":
        op = RandomInpainting(0.5, truth.shape, problem_rng(0, 0, Stream.OPERATOR))
    else:
        op = SuperResolution(2, truth.shape)
    y = simulate(truth, op, problem_rng(0, 0, Stream.NOISE))
    settings = InversionSettings(lr=LR, steps=8, restarts=2, tolerance=0.0)
    losses = {}
    for c in (0, 5):
        (result,) = invert(artifacts[c], [op], [y], settings, seed=0)
        assert result.image.shape == (3, 16, 16) and result.image.dtype == np.float32
        assert 0 <= result.image.min() and result.image.max() <= 1
        assert [lat.shape for lat in result.latents] == [s for s in
                                                         artifacts[c].metadata.spec.shapes]
        losses[c] = result.measurement_loss
    assert losses[5] < 0.8 * losses[0], losses


def test_gs_invert_cli_runs_progressive_inpainting(artifacts, photo, tmp_path):
    report = tmp_path / "report.json"
    result = invoke(invert_cli, artifacts[2].path, photo, "--task", "inpaint", "--keep", 0.5,
                    "--simulate", "--init", "progressive", "--schedule", "0,1,2", "--steps", 2,
                    "--inner-iterations", 5, "--restarts", 2, "--seed", 0, "-o", tmp_path / "out",
                    "--report", report)
    assert result.exit_code == 0, result.output
    entry = json.loads(report.read_text())["images"][0]
    assert [s["cut"] for s in entry["stages"]] == [0, 1, 2] and entry["psnr"] > 5
