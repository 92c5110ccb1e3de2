"""The contract every registered model passes: cuts, gs.json, export parity (forward and
gradients), inversion, training.

A test class inherits :class:`ModelConformance` and names its model::

    from gs.testing import ModelConformance

    class TestMyGenerator(ModelConformance):
        model_under_test = "mygen"

(or overrides the ``model_name`` fixture, e.g. to run over several models, as gs's own
``tests/test_models.py`` does). Every model is built from its ``smoke_config``; nothing
here knows a particular model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from gs import artifacts as artifact
from gs.artifacts import onnx as onnx_runtime
from gs.export import export_artifact
from gs.invert import invert
from gs.models import MODELS, StagedGenerator, build_model, load_generator, model_class
from gs.models import checkpoint as contract
from gs.operators import GaussianCS
from gs.problems import simulate
from gs.seeding import Stream, problem_rng
from gs.settings import TASKS, InversionSettings
from gs.surgery import cut, head_stages
from gs.testing.images import write_images
from gs.testing.tolerances import assert_close_f32, assert_gradients_close

WARMUP_PASSES = 30


def export_cuts(model: StagedGenerator) -> list[int]:
    """No surgery, the first cut, the recommended and the last one (each an export)."""
    cuts = {0, 1, model.recommended_cut, model.num_blocks - 1}
    return sorted(c for c in cuts if c in model.valid_cuts)


def first_state(model: StagedGenerator, batch: int, seed: int = 1) -> tuple[torch.Tensor, ...]:
    """Inputs at cut 0 drawn from the model's own initial distributions (a real latent)."""
    rng = np.random.default_rng(seed)
    return tuple(torch.from_numpy(x) for x in model.cut_spec(0).sample(rng, batch))


def required_options(model: StagedGenerator) -> dict[str, Any]:
    """The options every load of ``model`` names (the ``module`` model's code and blocks)."""
    config = model.config()
    return {name: config[name] for name in model.required_options()}


class ModelConformance:
    """Mixin of the conformance tests (pytest); set :attr:`model_under_test` or override
    the ``model_name`` fixture."""

    model_under_test: ClassVar[str] = ""
    """The registered name of the model the tests run on."""

    @pytest.fixture(scope="class")
    @classmethod
    def model_name(cls) -> str:
        """:attr:`model_under_test`, which a subclass sets."""
        if not cls.model_under_test:
            pytest.fail(f"{cls.__name__} names no model: set model_under_test = '<name>'")
        return cls.model_under_test

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, model_name: str) -> StagedGenerator:
        """The model at its smoke configuration, seeded, loaded as gs-export loads it."""
        model_cls = model_class(model_name)
        torch.manual_seed(0)
        model = model_cls.from_config(model_cls.smoke_config)
        # Forward passes in training mode, as training makes them: batch-norm statistics
        # and spectral-norm estimates become those of a network in use, not of a fresh one.
        with torch.no_grad():
            for seed in range(WARMUP_PASSES):
                model.train()(*first_state(model, 4, seed))
        return model.eval()

    @pytest.fixture(scope="class")
    @classmethod
    def weights(cls, model: StagedGenerator, tmp_path_factory: pytest.TempPathFactory) -> Path:
        """The model written as gs-train's ``--export-generator`` writes it."""
        path = tmp_path_factory.mktemp(model.model_name) / "generator.pt"
        torch.save(contract.generator_file(model), path)
        return path

    @pytest.fixture(scope="class")
    @classmethod
    def options(cls, model: StagedGenerator) -> dict[str, Any]:
        """What each load and export names besides the weights (see :func:`required_options`)."""
        return required_options(model)

    @pytest.fixture(scope="class")
    @classmethod
    def loaded(cls, weights: Path, model_name: str, options: dict[str, Any]) -> StagedGenerator:
        return load_generator(weights, model_name, **options).model

    @pytest.fixture(scope="class")
    @classmethod
    def artifacts(cls, weights: Path, loaded: StagedGenerator, model_name: str,
                  options: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
                  ) -> dict[int, Any]:
        folder = tmp_path_factory.mktemp(f"{model_name}_artifacts")
        return {c: artifact.load(export_artifact(weights, folder / f"c{c}.pt", cut=c,
                                                 model=model_name, **options))
                for c in export_cuts(loaded)}

    @pytest.fixture(scope="class")
    @classmethod
    def onnx_artifact(cls, weights: Path, loaded: StagedGenerator, model_name: str,
                      options: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
        """The ONNX artifact at the first cut (no surgery for a one-block model), whose head
        makes every graph kind: tail, head, and the VJP of each."""
        cuts = export_cuts(loaded)
        first = cuts[1] if len(cuts) > 1 else 0
        path = tmp_path_factory.mktemp(f"{model_name}_onnx") / "a.onnx"
        export_artifact(weights, path, cut=first, model=model_name, **options)
        return onnx_runtime.load(path, providers=["CPUExecutionProvider"])

    # --- the model alone ----------------------------------------------------------------

    def test_registry_and_config_round_trip(self, model, model_name):
        assert MODELS[model_name] is type(model) and model.model_name == model_name
        config = json.loads(json.dumps(model.config()))  # recorded as JSON in gs.json
        assert build_model(model_name, config).config() == model.config()
        assert set(model.options()) == set(model.export_options) <= set(config)
        with pytest.warns(UserWarning, match="unknown keys"):
            build_model(model_name, {**config, "colour": "red"})

    def test_cuts_compose_to_the_uncut_generator(self, model):
        assert list(model.valid_cuts) == list(range(model.num_blocks))
        assert model.recommended_cut in model.valid_cuts
        state0 = first_state(model, 2)
        with torch.no_grad():
            expected = model.to_image(model(*state0))
            assert expected.shape == (2, *model.image_shape)
            assert expected.min() >= 0 and expected.max() <= 1
            for c in model.valid_cuts:
                spec = model.cut_spec(c)
                assert spec.cut == c and len(set(spec.names)) == len(spec.inputs)
                state = model.run_from(0, state0, until=c)
                assert [tuple(s.shape[1:]) for s in state] == list(spec.shapes)
                assert_close_f32(cut(model, c)(*state), expected, model)
                carried = state0
                for stage in head_stages(model, c):
                    carried = stage(*carried)
                for got, want in zip(carried, state, strict=True):
                    assert torch.equal(got, want)

    def test_a_cut_outside_the_model_names_the_allowed_range(self, model, weights, model_name,
                                                             options, tmp_path):
        last = model.num_blocks - 1
        for bad in (-1, model.num_blocks):
            with pytest.raises(ValueError, match=f"expected an integer from 0 to {last}"):
                cut(model, bad)
        with pytest.raises(ValueError, match=f"cut {last + 1} is not allowed for {model_name}; "
                                             f"expected an integer from 0 to {last}"):
            export_artifact(weights, tmp_path / "bad.pt", cut=last + 1, model=model_name,
                            **options)
        assert not (tmp_path / "bad.pt").exists()

    def test_recommended_settings_cover_every_task(self, model):
        for task in TASKS:
            settings = model.recommended_settings(task)
            assert settings.lr > 0 and settings.steps > 0

    # --- export -------------------------------------------------------------------------

    def test_loading_freezes_and_keeps_the_outputs(self, model, loaded):
        assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
        state0 = first_state(model, 2)
        with torch.no_grad():
            assert_close_f32(loaded(*state0), model(*state0), model)

    def test_every_cut_exports_with_its_shapes_in_gs_json(self, loaded, artifacts, weights):
        state0 = first_state(loaded, 3)
        with torch.no_grad():
            expected = loaded.to_image(loaded(*state0))
        for c, art in artifacts.items():
            meta = art.metadata
            assert (meta.model, meta.cut, meta.model_config) == (loaded.model_name, c,
                                                                  loaded.config())
            assert meta.valid_cuts == tuple(loaded.valid_cuts)
            assert meta.image_shape == loaded.image_shape
            assert meta.latents == tuple(loaded.cut_spec(k) for k in range(c + 1))
            assert meta.source_name == weights.name and len(meta.source_sha256) == 64
            assert meta.torch_version == torch.__version__ and meta.format == "torchscript"
            assert meta.recommended == {t: loaded.recommended_settings(t, c) for t in TASKS}
            assert meta.paper == {t: loaded.paper_settings(t) for t in TASKS}
            recorded = json.loads(json.dumps(meta.to_json()))  # as gs.json holds it
            assert artifact.ArtifactMetadata.from_json(recorded) == meta
            assert not art.module.training
            assert not any(p.requires_grad for p in art.module.parameters())
            graph_inputs = list(art.module.tail.graph.inputs())[1:]  # the first is ``self``
            assert len(graph_inputs) == len(meta.spec.inputs)
            for batch in (1, 3):
                with torch.no_grad():
                    state = loaded.run_from(0, tuple(x[:batch] for x in state0), until=c)
                    image = art.generator(*state)
                    assert_close_f32(image, expected[:batch], loaded)
                    heads_and_tail = art.generator_at(0)(*(x[:batch] for x in state0))
                    assert_close_f32(heads_and_tail, expected[:batch], loaded)
                    for got, want in zip(art.carry(0, c, [x[:batch] for x in state0]), state,
                                         strict=True):
                        assert_close_f32(got, want, loaded)
            for i, shape in enumerate(meta.spec.shapes):  # another channel count is refused
                inputs = [torch.rand(1, *s) for s in meta.spec.shapes]
                inputs[i] = torch.rand(1, shape[0] + 1, *shape[1:])
                with pytest.raises(RuntimeError):
                    art.generator(*inputs)

    def test_default_export_cut_is_the_recommended_one(self, loaded, weights, model_name,
                                                       options, tmp_path):
        meta = artifact.load(export_artifact(weights, tmp_path / "d.pt", model=model_name,
                                             **options))
        assert meta.metadata.cut == loaded.recommended_cut

    def test_onnx_matches_torchscript_with_its_head(self, loaded, artifacts, onnx_artifact):
        onnx_art = onnx_artifact
        deepest = onnx_art.metadata.cut
        ts = artifacts[deepest]
        for field in ("model", "model_config", "cut", "latents", "image_shape", "recommended",
                      "source_sha256"):
            assert getattr(onnx_art.metadata, field) == getattr(ts.metadata, field)
        assert onnx_art.metadata.format == "onnx"
        pieces = {"tail", *(f"head_{k}" for k in range(deepest))}
        assert set(onnx_art.metadata.extra["onnx"]["pieces"]) == {
            *pieces, *(f"{piece}_vjp" for piece in pieces)}
        state0 = [x.numpy() for x in first_state(loaded, 2)]
        for c in range(deepest + 1):
            with torch.no_grad():
                state = [s.numpy() for s in loaded.run_from(0, tuple(map(torch.as_tensor,
                                                                          state0)), until=c)]
                expected = ts.generator_at(c)(*map(torch.as_tensor, state)).numpy()
            assert_close_f32(onnx_art.generator_at(c)(*state), expected, loaded)
        with torch.no_grad():
            want = ts.carry(0, deepest, [torch.as_tensor(a) for a in state0])
        carried = onnx_art.carry(0, deepest, state0)
        assert [a.shape for a in carried] == [(2, *shape) for shape in
                                              onnx_art.metadata.spec.shapes]
        for got, ref in zip(carried, want, strict=True):
            assert_close_f32(got, ref.numpy(), loaded)

    def test_onnx_gradients_match_autograd_at_every_cut(self, loaded, onnx_artifact):
        """The artifact's own vector–Jacobian products (heads and tail chained) equal torch
        autograd through the eager model, from every cut the artifact serves."""
        gen = torch.Generator().manual_seed(5)
        state0 = first_state(loaded, 2, seed=3)
        for c in range(onnx_artifact.metadata.cut + 1):
            with torch.no_grad():
                state = loaded.run_from(0, state0, until=c)
            leaves = [x.clone().requires_grad_(True) for x in state]
            with torch.enable_grad():
                image = cut(loaded, c)(*leaves)
                v = torch.randn(image.shape, generator=gen)
                grads = torch.autograd.grad(image, leaves, v, allow_unused=True)
            got_image, got_grads = onnx_artifact.image_and_vjp(
                c, [x.numpy() for x in state], lambda _image, v=v: v.numpy())
            assert_close_f32(got_image, image.detach(), loaded)
            assert len(got_grads) == len(grads)
            for got, want, x in zip(got_grads, grads, state, strict=True):
                assert got.shape == tuple(x.shape)
                if want is None:  # an input the image ignores: the graph gives zeros
                    assert not np.any(got)
                else:
                    assert_gradients_close(got, want, loaded)

    # --- inversion ----------------------------------------------------------------------

    def test_inversion_at_the_recommended_cut_fits_the_measurements(self, loaded, artifacts):
        art = artifacts[loaded.recommended_cut]
        with torch.no_grad():
            truth = loaded.to_image(loaded(*first_state(loaded, 1, seed=5)))[0].numpy()
        op = GaussianCS(truth.size // 2, truth.shape, problem_rng(0, 0, Stream.OPERATOR))
        y = simulate(truth, op, problem_rng(0, 0, Stream.NOISE))
        settings = InversionSettings(optimizer="adam", lr=0.01, steps=5, restarts=2,
                                     tolerance=0.0)
        (result,) = invert(art, [op], [y], settings, seed=0)
        assert result.image.shape == truth.shape and result.image.dtype == np.float32
        assert 0 <= result.image.min() and result.image.max() <= 1
        assert [lat.shape for lat in result.latents] == list(art.metadata.spec.shapes)
        (stage,) = result.stages
        assert np.isfinite(stage.final_loss) and stage.final_loss < stage.first_loss

    # --- training -----------------------------------------------------------------------

    def test_training_follows_the_checkpoint_contract(self, model_name, tmp_path):
        from gs.train.config import TrainConfig
        from gs.train.fit import fit
        from gs.train.models import TRAINERS

        if model_name not in TRAINERS:
            pytest.skip(f"gs-train does not train {model_name}")
        config = dict(model_class(model_name).smoke_config)
        images = write_images(tmp_path / "images", count=6)
        result = fit(model_name, TrainConfig(
            data=images, out=tmp_path / "run", image_size=config.pop("image_size"),
            channels=config.pop("nc"), batch_size=3, max_steps=2, num_workers=0,
            accelerator="cpu", devices=1, log_every=1, num_samples=4, sample_every=1,
            progress_bar=False, export_generator=tmp_path / "G.pt"), **config)
        assert result.iterations == 2 and result.last_checkpoint.is_file()
        ck = torch.load(result.last_checkpoint, map_location="cpu", weights_only=False)
        record = contract.GeneratorRecord.read(ck)
        module = TRAINERS[model_name].load_from_checkpoint(result.last_checkpoint,
                                                           map_location="cpu")
        generator = module.generator.eval()
        assert record.model_name == model_name and record.cut_before_training == 0
        assert record.model_config == generator.config()
        assert record.state_dict.keys() == generator.state_dict().keys()
        hparams = ck[contract.HYPER_PARAMETERS]
        assert {contract.MODEL_NAME, contract.MODEL_CONFIG, contract.CUT_BEFORE_TRAINING,
                "seed"} <= set(hparams)
        assert ck[contract.GS_RECORD]["iterations"] == 2
        assert ck["global_step"] == 2 * module.optimizer_steps_per_iteration
        assert sorted(p.name for p in (result.out / "samples").glob("*.png")) == [
            "step_000000.png", "step_000001.png", "step_000002.png"]
        state0 = first_state(generator, 2)
        with torch.no_grad():
            expected = generator.to_image(generator(*state0))
        for weights in (result.last_checkpoint, result.generator_state):
            c = generator.recommended_cut
            out = tmp_path / f"from_{weights.stem}.pt"
            art = artifact.load(export_artifact(weights, out, cut=c, model=model_name,
                                                **required_options(generator)))
            with torch.no_grad():
                image = art.generator(*generator.run_from(0, state0, until=c))
            assert_close_f32(image, expected, generator)
