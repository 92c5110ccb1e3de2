"""gs.methods: every method on tiny problems, shared measurements, presets, gs-baseline."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gs.artifacts import load
from gs.errors import UserInputError
from gs.io import write_image
from gs.jobs import InversionJob, OperatorOptions, list_inputs, load_problems, simulated_problem
from gs.methods import METHODS, build_method, method_names
from gs.methods.base import measurement_loss
from gs.methods.cli import main as baseline_cli
from gs.methods.iagan import back_project
from gs.methods.lasso import Pixels, design_matrix, lasso_fista, lasso_sklearn
from gs.methods.presets import (
    METHOD_PRESETS,
    CSGMSettings,
    DeepDecoderSettings,
    DIPSettings,
    IAGANSettings,
    LassoSettings,
    MGANPriorSettings,
    auto_preset,
    preset,
)
from gs.methods.transforms import DCT2, Wavelet2
from gs.metrics import psnr
from gs.operators import make_operator
from gs.params import declared_params
from helpers import in_range_image, one_sentence_error

SHAPE = (3, 16, 16)
EPS = np.finfo(np.float32).eps


def smooth_image(seed: int = 0, shape=SHAPE) -> np.ndarray:
    """A smooth colour image in [0.1, 0.9] (a few low DCT frequencies): easy for every prior."""
    rng = np.random.default_rng(seed)
    c, h, w = shape
    yy, xx = np.meshgrid(np.linspace(0, np.pi, h), np.linspace(0, np.pi, w), indexing="ij")
    image = np.stack([0.5 + 0.2 * np.cos(rng.integers(1, 3) * yy) * np.cos(rng.integers(0, 2) * xx)
                      + 0.15 * np.sin(xx + k) for k in range(c)])
    return np.clip(image, 0.1, 0.9).astype(np.float32)


def problem(image, task="cs", seed=0, index=0, **options):
    defaults = {"cs": {"ratio": 0.3}, "inpaint": {"keep": 0.4}, "sr": {"scale": 2}}
    opts = OperatorOptions(task=task, **{**defaults.get(task, {}), **options})
    return simulated_problem("img.png", index, image, opts, seed)


def trivial(p) -> np.ndarray:
    """Aᵀy clipped to [0, 1]: the masked image for inpainting, the trivial CS estimate."""
    return np.clip(np.asarray(p.operator.A_adjoint(p.y[None].astype(np.float64))[0]), 0, 1)


# Tiny networks run faster on one thread and do not fight other processes.
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def uncut(tiny_artifacts):
    return load(tiny_artifacts[0])


# ------------------------------------------------------------------ transforms and Lasso
@pytest.mark.parametrize("transform", [DCT2(SHAPE), Wavelet2(SHAPE), Wavelet2((3, 64, 64))])
def test_transforms_are_orthonormal(transform):
    rng = np.random.default_rng(0)
    x = rng.random((2, *transform.image_shape))
    v = rng.standard_normal((2, x[0].size))
    n = x[0].size
    tol = 1e3 * np.finfo(np.float64).eps * np.sqrt(n)  # float64 transforms, n terms
    assert np.abs(transform.synthesis(transform.analysis(x)) - x).max() < tol
    assert abs(np.vdot(transform.analysis(x), v) - np.vdot(x, transform.synthesis(v))) < tol * n
    assert np.linalg.norm(transform.analysis(x)) == pytest.approx(np.linalg.norm(x), rel=tol)


@pytest.mark.parametrize("task", ["cs", "inpaint", "sr"])
def test_design_matrix_is_the_operator_in_the_basis(task):
    p = problem(smooth_image(), task)
    transform = Wavelet2(SHAPE)
    matrix, rows = design_matrix(p.operator, transform, chunk=100)
    w = np.random.default_rng(1).standard_normal((1, matrix.shape[1]))
    direct = np.asarray(p.operator.A(transform.synthesis(w))).reshape(-1)
    assert matrix.shape[1] == np.prod(SHAPE)  # m' × n, never n × n for cs/sr
    assert np.allclose(matrix @ w[0], direct[rows], atol=1e-9 * np.sqrt(matrix.shape[1]))
    assert not np.any(np.delete(direct, rows))  # only all-zero rows were dropped


@pytest.mark.parametrize("transform", [DCT2(SHAPE), Wavelet2(SHAPE)], ids=["dct", "wavelet"])
def test_sklearn_and_fista_reach_the_same_objective(transform):
    p = problem(smooth_image(), "cs", ratio=0.4)
    matrix, rows = design_matrix(p.operator, transform)
    y = p.y.astype(np.float64)
    alpha, weights = 1e-2, transform.penalty_weights()

    def objective(w):
        return 0.5 * np.sum((matrix @ w - y[rows]) ** 2) + alpha * np.sum(weights * np.abs(w))

    w_sk, _ = lasso_sklearn(matrix, y[rows], alpha / len(rows), 5000, 1e-10, weights)
    w_fista, _ = lasso_fista(p.operator, transform, y, alpha, 5000, 1e-10, weights=weights)
    assert objective(w_fista) == pytest.approx(objective(w_sk), rel=1e-4)
    # optimality (KKT) of the weighted problem: zero gradient on the unpenalised
    # coefficients, |gradient| ≤ alpha·d on the others (solver tolerance 1e-10, n terms)
    gradient = matrix.T @ (matrix @ w_sk - y[rows])
    slack = 1e-6 * np.sqrt(matrix.shape[1])
    assert np.all(np.abs(gradient) <= alpha * weights + slack)


def test_wavelet_lasso_leaves_the_approximation_band_unpenalised():
    """A flat grey photo seen through 10 % of its pixels: the standard estimator keeps its
    mean; penalising the coarse band (the old strawman) pulls the unseen pixels to 0."""
    shape = (1, 32, 32)  # two levels: 8×8 approximation coefficients, 256 seen pixels
    image = np.full(shape, 0.6, dtype=np.float32)
    p = problem(image, "inpaint", keep=0.25, noise_std=0.0)
    transform = Wavelet2(shape)
    assert transform.penalty_weights().sum() < transform.penalty_weights().size
    (result,) = build_method("lasso-wavelet", settings=LassoSettings(alpha=1e-2)).solve([p])
    assert np.abs(result.image - image).max() < 1e-4
    matrix, rows = design_matrix(p.operator, transform)
    uniform, _ = lasso_sklearn(matrix, p.y.ravel()[rows].astype(np.float64),
                               1e-2 / len(rows), 1000, 1e-8)
    assert np.abs(transform.synthesis(uniform[None])[0] - image).mean() > 0.1


def sparse_image(transform, k: int = 12, seed: int = 0) -> np.ndarray:
    """An image with ``k`` positive coefficients among the coarsest 16 of each channel."""
    rng = np.random.default_rng(seed)
    w = np.zeros((1, int(np.prod(SHAPE))))
    coarse = [c * SHAPE[1] * SHAPE[2] + r * SHAPE[2] + q for c in range(3) for r in range(4)
              for q in range(4)]
    w[0, rng.choice(coarse, k, replace=False)] = rng.uniform(0.5, 2.0, k)
    image = transform.synthesis(w)[0]
    return (0.9 * image / np.abs(image).max()).astype(np.float32)


@pytest.mark.parametrize("name", ["lasso-dct", "lasso-wavelet"])
@pytest.mark.parametrize("solver", ["sklearn", "fista"])
def test_lasso_beats_the_adjoint_estimate(name, solver):
    image = sparse_image(DCT2(SHAPE) if name == "lasso-dct" else Wavelet2(SHAPE))
    p = problem(image, "cs")
    (result,) = build_method(name, settings=LassoSettings(alpha=1e-2, solver=solver)).solve([p])
    assert result.details["solver"] == solver
    assert result.image.shape == SHAPE and result.image.dtype == np.float32
    assert psnr(result.image, image) > psnr(trivial(p), image) + 3
    assert result.measurement_loss == pytest.approx(measurement_loss(p.operator, result.image,
                                                                     p.y))


@pytest.mark.parametrize("solver", ["sklearn", "fista"])
def test_lasso_pixel_recovers_an_exactly_sparse_image(solver):
    """Bora et al.'s baseline: 20 bright pixels of 256 from 120 noiseless Gaussian
    measurements are found where they are (the Lasso's bias alpha is all that is left)."""
    shape = (1, 16, 16)
    rng = np.random.default_rng(0)
    image = np.zeros(shape, dtype=np.float32)
    image.reshape(-1)[rng.choice(image.size, 20, replace=False)] = rng.uniform(0.5, 1.0, 20)
    p = problem(image, "cs", ratio=None, measurements=120, noise_std=0.0)
    settings = LassoSettings(alpha=1e-3, solver=solver, max_iter=5000, tol=1e-8)
    (result,) = build_method("lasso-pixel", settings=settings).solve([p])
    assert result.details["solver"] == solver
    assert result.image.shape == shape and result.image.dtype == np.float32
    assert np.array_equal(result.image > 0.1, image > 0)
    assert np.abs(result.image - image).max() < 0.02
    assert psnr(result.image, image) > psnr(trivial(p), image) + 20


def test_pixel_basis_is_the_identity():
    x = np.random.default_rng(0).random((2, *SHAPE))
    basis = Pixels(SHAPE)
    assert basis.analysis(x).shape == (2, x[0].size)
    assert np.array_equal(basis.synthesis(basis.analysis(x)), x)
    assert np.array_equal(basis.penalty_weights(), np.ones(x[0].size))
    assert auto_preset("lasso-pixel", task="cs").alpha > 0


def test_lasso_auto_switches_to_fista_for_large_design_matrices():
    method = build_method("lasso-dct", settings=LassoSettings(max_design_entries=10))
    p = problem(smooth_image(), "cs")
    assert method.solver_for(p.operator) == "fista"
    assert build_method("lasso-dct").solver_for(p.operator) == "sklearn"
    structured = make_operator("cs", SHAPE, np.random.default_rng(0), operator="structured",
                               ratio=0.3)
    assert build_method("lasso-dct").solver_for(structured) == "fista"


# ------------------------------------------------------------------ generator priors
def test_csgm_beats_the_adjoint_on_an_image_in_range(uncut):
    image = in_range_image(uncut, seed=3)
    p = problem(image, "cs", ratio=0.2, noise_std=0.0)
    method = build_method("csgm", artifact=uncut, settings=CSGMSettings(steps=60, restarts=2))
    (result,) = method.solve([p], seed=0)
    assert len(result.restart_losses) == 2
    assert result.restart == int(np.argmin(result.restart_losses))
    assert psnr(result.image, image) > psnr(trivial(p), image) + 5


def test_csgm_is_the_engines_adam_at_cut_0_on_either_format(tiny_artifacts, onnx_c2):
    from gs.solve.objective import MeasurementObjective

    pt, onnx = load(tiny_artifacts[2]), load(onnx_c2)
    image = in_range_image(load(tiny_artifacts[0]), seed=5)
    p = problem(image, "cs", ratio=0.3, noise_std=0.0)
    settings = CSGMSettings(steps=8, restarts=2)
    (a,) = build_method("csgm", artifact=pt, settings=settings).solve([p], seed=1)
    (b,) = build_method("csgm", artifact=onnx, settings=settings).solve([p], seed=1)
    assert a.restart == b.restart and a.evaluations == b.evaluations == 8
    np.testing.assert_allclose(a.restart_losses, b.restart_losses, rtol=1e-3)
    np.testing.assert_allclose(a.image, b.image, atol=1e-3)
    # The l2 term of CSGM is the objective's penalty: loss + λ‖z‖², gradient + 2λz.
    view = uncut_of(onnx)
    size = int(np.prod(view.metadata.spec_at(0).shapes[0]))
    x = np.random.default_rng(0).standard_normal((2, size)).astype(np.float32)
    rows = np.arange(2)
    plain, penalised = (MeasurementObjective(view, 0, [p.operator], [p.y], [None], 2,
                                             penalty=w) for w in (0.0, 0.5))
    (f0, g0, s0), (f1, g1, s1) = plain(x, rows), penalised(x, rows)
    np.testing.assert_allclose(f1, f0 + 0.5 * (x * x).sum(1), rtol=1e-6)
    np.testing.assert_allclose(g1, g0 + x, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(s1, s0)


def uncut_of(artifact):
    from gs.artifacts import at_cut

    return at_cut(artifact, 0)


def test_iagan_beats_the_adjoint_and_leaves_the_pretrained_weights_alone(generator):
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    image = in_range_image(load_tiny_uncut(generator), seed=4)
    p = problem(image, "inpaint", keep=0.5)
    settings = IAGANSettings(stage1_steps=60, stage2_steps=30, restarts=2)
    (result,) = build_method("iagan", generator=generator, settings=settings).solve([p])
    assert psnr(result.image, image) > psnr(trivial(p), image) + 3
    for key, value in generator.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not any(w.requires_grad for w in generator.parameters())


def test_iagan_restarts_start_from_the_pretrained_weights(generator):
    """A restart's result does not depend on the restarts run before it."""
    image = in_range_image(load_tiny_uncut(generator), seed=5)
    p = problem(image, "cs")
    settings = IAGANSettings(stage1_steps=10, stage2_steps=10, restarts=1)
    (alone,) = build_method("iagan", generator=generator, settings=settings).solve([p])
    (first,) = build_method("iagan", generator=generator,
                          settings=settings.override(restarts=2)).solve([p])
    assert first.restart_losses[0] == pytest.approx(alone.restart_losses[0], rel=1e-5)


def test_back_projection_makes_the_measurements_hold():
    image = smooth_image()
    for task in ("inpaint", "sr", "cs"):
        p = problem(image, task, noise_std=0.0)
        guess = np.full(SHAPE, 0.5)
        projected = back_project(p.operator, guess, p.y)
        scale = np.abs(p.y).max()
        assert np.abs(p.operator.A(projected[None])[0] - p.y).max() < 1e-5 * scale, task


def test_mganprior_composition_of_equal_codes_is_the_generator(generator):
    method = build_method("mganprior", generator=generator,
                        settings=MGANPriorSettings(codes=4, layer=1))
    z = torch.randn(1, 8, 1, 1).clamp(-1, 1)
    channels = generator.cut_spec(1).shapes[0][0]
    weights = [torch.full((1, 4, channels), 0.25)]
    with torch.no_grad():
        composed = method.compose([z.repeat(4, 1, 1, 1)], weights)
        plain = generator.to_image(generator(z))
    assert torch.allclose(composed, plain, atol=1e2 * EPS)


def test_mganprior_beats_the_adjoint(generator):
    image = in_range_image(load_tiny_uncut(generator), seed=6)
    p = problem(image, "cs", ratio=0.2, noise_std=0.0)
    settings = MGANPriorSettings(codes=3, layer=1, lr=3e-2, steps=150, restarts=2)
    (result,) = build_method("mganprior", generator=generator, settings=settings).solve([p])
    assert result.details == {"codes": 3, "layer": 1}
    assert psnr(result.image, image) > psnr(trivial(p), image) + 5


# ------------------------------------------------------------------ untrained networks
def test_deep_decoder_beats_the_masked_image():
    image = smooth_image(1)
    p = problem(image, "inpaint", keep=0.3)
    settings = DeepDecoderSettings(depth=3, channels=16, steps=300)
    (result,) = build_method("deep-decoder", settings=settings).solve([p], seed=0)
    assert psnr(result.image, image) > psnr(trivial(p), image) + 5


def test_deep_decoder_rejects_a_size_its_depth_cannot_make():
    with pytest.raises(ValueError, match="make 64 px"):
        build_method("deep-decoder", settings=DeepDecoderSettings()).solve(
            [problem(smooth_image(), "cs")])


def test_dip_beats_the_masked_image_and_is_seeded():
    image = smooth_image(2)
    p = problem(image, "inpaint", keep=0.3)
    settings = DIPSettings(channels=(8, 8), skip_channels=2, input_depth=4, steps=150)
    method = build_method("dip", settings=settings)
    (first,) = method.solve([p], seed=0)
    (again,) = method.solve([p], seed=0)
    assert psnr(first.image, image) > psnr(trivial(p), image) + 5
    assert np.array_equal(first.image, again.image)


# ------------------------------------------------------------------ shared interface
TINY_SETTINGS = {
    "lasso-dct": LassoSettings(max_iter=20), "lasso-wavelet": LassoSettings(max_iter=20),
    "lasso-pixel": LassoSettings(max_iter=20),
    "csgm": CSGMSettings(steps=2, restarts=1),
    "deep-decoder": DeepDecoderSettings(depth=3, channels=4, steps=2),
    "dip": DIPSettings(channels=(4,), skip_channels=1, input_depth=2, steps=2),
    "iagan": IAGANSettings(stage1_steps=2, stage2_steps=1, restarts=1),
    "mganprior": MGANPriorSettings(codes=2, steps=2, restarts=1),
    "surgery": None,
}


def load_tiny_uncut(model):
    """An artifact-like object serving in_range_image: the generator at cut 0."""

    class Uncut:
        spec = model.cut_spec(0)

        @staticmethod
        def generator(*inputs):
            return model.to_image(model(*inputs))

    return Uncut


def test_every_method_sees_the_measurements_gs_invert_sees(tmp_path, tiny_artifacts, photo,
                                                           generator):
    from gs.jobs import run_job
    from gs.settings import InversionSettings

    options = OperatorOptions(task="cs", ratio=0.2)

    def job(name):
        return InversionJob(artifact=Path(name), images=(photo, photo),
                            output_dir=tmp_path / name, operator=options, seed=7,
                            simulate=True, report=tmp_path / f"{name}.json")

    reference = load_problems(job("ref"), SHAPE, list_inputs(job("ref")))
    seen = {}
    names = method_names(task="cs")
    for name in names:
        info = METHODS[name]
        settings = TINY_SETTINGS.get(name)
        if info.kind == "surgery":
            settings = InversionSettings(steps=1, inner_iterations=2, restarts=1)
        method = build_method(name, settings=settings, artifact=load(tiny_artifacts[1]),
                              generator=generator)
        solve = method.solve

        def spy(problems, seed=0, on_step=None, name=name, solve=solve):
            seen[name] = [p.y.copy() for p in problems]
            return solve(problems, seed=seed, on_step=on_step)

        method.solve = spy
        report = run_job(job(name), method=method, image_shape=SHAPE)
        assert [e["index"] for e in report.images] == [0, 1]
        data = json.loads((tmp_path / f"{name}.json").read_text())
        assert data["method"] == name and data["seed"] == 7
    assert set(seen) == set(names) >= {"surgery", "no-surgery", "classical", "lasso-dct", "csgm",
                                       "deep-decoder", "dip", "iagan", "mganprior"}
    for name, ys in seen.items():
        for y, ref in zip(ys, reference):
            assert np.array_equal(y, ref.y), name
    assert not np.array_equal(reference[0].y, reference[1].y)  # per-image streams differ


def test_every_preset_field_is_declared_and_checked_by_its_declaration():
    for method, table in METHOD_PRESETS.items():
        for settings in table.values():
            declared = declared_params(type(settings))
            assert list(declared) == [f.name for f in fields(settings)], method
            assert all(d.param.help for d in declared.values())
    for settings, message in [
        (lambda: CSGMSettings(steps=0), "^steps must be an integer ≥ 1, got 0$"),
        (lambda: CSGMSettings(z_weight=-1.0), "^z_weight must be a number ≥ 0"),
        (lambda: IAGANSettings(stage2_steps=-1), "^stage2_steps must be an integer ≥ 0"),
        (lambda: DIPSettings(channels=(8, 0)), r"^channels must list integers ≥ 1, got \(8, 0\)"),
        (lambda: DIPSettings(channels=()), "^channels must list the width of at least one"),
        (lambda: LassoSettings(solver="lars"), "^solver must be one of auto, sklearn, fista"),
        (lambda: DeepDecoderSettings(input_scale=float("nan")), "^input_scale must be a number"),
    ]:
        with pytest.raises(ValueError, match=message):
            settings()


def test_registry_and_presets():
    assert {"lasso-dct", "lasso-wavelet", "csgm", "deep-decoder", "dip", "iagan", "mganprior",
            "surgery", "no-surgery"} <= set(METHODS)
    dd64, dd128 = preset("deep-decoder", "64px"), preset("deep-decoder", "128px")
    assert (dd64.depth, dd64.channels, dd128.depth, dd128.channels) == (5, 44, 6, 89)
    assert dd64.lr == 1e-2 and dd64.steps == 5000 and dd64.seed_side == 4
    assert auto_preset("deep-decoder", image_side=64).output_side == 64
    assert auto_preset("deep-decoder", image_side=128).output_side == 128
    assert (preset("mganprior", "dcgan").codes, preset("mganprior", "dcgan").lr,
            preset("mganprior", "dcgan").steps) == (10, 3e-2, 5000)
    assert {preset("mganprior", m).codes for m in ("began", "vae")} == {20}
    assert preset("mganprior", "began").layer == 2
    iagan = auto_preset("iagan", model="dcgan")
    assert (iagan.stage1_lr, iagan.stage1_steps, iagan.stage2_z_lr, iagan.stage2_weights_lr,
            iagan.stage2_steps) == (0.1, 1600, 1e-4, 1e-4, 600)
    assert preset("iagan", "vae").stage1_steps == 1000
    assert set(METHOD_PRESETS) == {name for name, info in METHODS.items()
                            if info.kind != "surgery"} - {"classical"}  # it takes its choice's
    with pytest.raises(ValueError, match="expected one of"):
        preset("iagan", "stylegan")
    with pytest.raises(UserInputError, match="method must be one of"):
        build_method("lasso")
    with pytest.raises(UserInputError, match="weights is required by iagan"):
        build_method("iagan")
    with pytest.raises(UserInputError, match="artifact is required by surgery"):
        build_method("surgery")
    with pytest.raises(ValueError, match="alpha must be a number > 0, got 0"):
        LassoSettings(alpha=0)


def test_importing_the_package_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, gs.methods; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ classical answers
@pytest.mark.parametrize("name, task, options", [
    ("bicubic", "sr", {"scale": 2}), ("bicubic", "sr", {"scale": 4}),
    ("interpolation", "inpaint", {"keep": 0.3}), ("bm3d", "denoise", {"noise_std": 0.1}),
    ("nl-means", "denoise", {"noise_std": 0.1}), ("tv", "denoise", {"noise_std": 0.1}),
    ("wavelet", "denoise", {"noise_std": 0.1}), ("tv-cs", "cs", {"ratio": 0.3}),
])
def test_each_classical_answer_beats_its_observation(name, task, options):
    truth = smooth_image(2)
    p = problem(truth, task, **options)
    (result,) = build_method(name, task=task).solve([p])
    assert result.image.shape == truth.shape and result.image.dtype == np.float32
    assert 0 <= result.image.min() and result.image.max() <= 1
    observed = p.operator.preview(p.y) if task == "sr" else trivial(p)
    assert psnr(result.image, truth) > psnr(observed, truth) + 1, name
    assert result.details["answer"] == name
    assert result.measurement_loss == pytest.approx(
        measurement_loss(p.operator, result.image, p.y), rel=1e-6)


def test_interpolation_returns_the_observed_pixels_as_observed():
    truth = smooth_image(3)
    p = problem(truth, "inpaint", keep=0.2)
    for kind in ("biharmonic", "linear"):
        (result,) = build_method("interpolation", task="inpaint",
                                 settings=preset("interpolation", "default").override(
                                     kind=kind)).solve([p])
        keep = p.operator.mask
        # float32 round trip of values already in [0, 1]: exact.
        np.testing.assert_array_equal(result.image[:, keep], truth[:, keep])


def test_bicubic_is_centred_on_the_operators_blocks():
    # A linear ramp is reproduced by cubic splines away from the border; a corner-aligned
    # grid would shift it by (s - 1) / 2 pixels.
    ramp = np.tile(np.linspace(0.2, 0.8, 32, dtype=np.float32), (3, 32, 1))
    p = problem(ramp, "sr", scale=4, method="area")
    (result,) = build_method("bicubic", task="sr").solve([p])
    inner = (slice(None), slice(4, -4), slice(4, -4))
    assert np.abs(result.image[inner] - ramp[inner]).max() < 0.01


def test_classical_is_the_tasks_first_installed_preference(monkeypatch):
    from gs.methods import classical

    for task, expected in (("sr", "bicubic"), ("inpaint", "interpolation"),
                           ("denoise", "bm3d"), ("cs", "tv-cs")):
        assert classical.classical_name(task) == expected
        assert build_method("classical", task=task).config() == build_method(
            expected, task=task).config()
    monkeypatch.setattr(classical.BM3D, "available", classmethod(lambda cls: False))
    assert classical.classical_name("denoise") == "nl-means"
    with pytest.raises(UserInputError, match="needs the bm3d package"):
        build_method("bm3d", task="denoise")
    with pytest.raises(UserInputError, match="raw has no classical answer"):
        classical.classical_name("raw")
    with pytest.raises(UserInputError, match="bicubic does not apply to task cs"):
        build_method("bicubic", task="cs")


# ------------------------------------------------------------------ gs-baseline
def invoke(*args):
    return CliRunner().invoke(baseline_cli, [str(a) for a in args])



def test_cli_writes_gs_invert_report_format(tmp_path, photo, tiny_artifacts):
    from gs.cli import main as invert_cli

    out, report = tmp_path / "out", tmp_path / "r.json"
    result = invoke("lasso-dct", photo, "--task", "cs", "--measurements", 200, "--simulate",
                    "--size", 16, "--seed", 3, "-o", out, "--report", report)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    reference = tmp_path / "ref.json"
    ran = CliRunner().invoke(invert_cli, [str(a) for a in (
        tiny_artifacts[1], photo, "--task", "cs", "--measurements", 200, "--simulate",
        "--steps", 1, "--inner-iterations", 2, "--restarts", 1, "-o", tmp_path / "ref",
        "--report", reference)])
    assert ran.exit_code == 0, ran.output
    expected = json.loads(reference.read_text())
    assert set(data) == set(expected)
    assert set(data["images"][0]) == set(expected["images"][0])
    assert data["method"] == "lasso-dct" and expected["method"] == "surgery"
    assert data["task"] == "cs"
    assert data["settings"]["alpha"] == auto_preset("lasso-dct", task="cs").alpha
    assert 5 < data["images"][0]["psnr"] < 60
    assert (out / "astronaut.png").exists()


def test_cli_surgery_and_csgm_take_an_onnx_artifact(tmp_path, photo, onnx_c2):
    report = tmp_path / "s.json"
    result = invoke("surgery", photo, "--artifact", onnx_c2, "--task", "cs", "--ratio", 0.3,
                    "--simulate", "-o", tmp_path / "s", "--report", report)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["method"] == "surgery" and data["artifact"] == str(onnx_c2)
    assert data["images"][0]["details"]["cut"] == 2 and (tmp_path / "s" / "astronaut.png").exists()
    result = invoke("csgm", photo, "--artifact", onnx_c2, "--ratio", 0.3, "--simulate",
                    "--steps", 3, "-o", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c" / "astronaut.png").exists()


def test_cli_generator_methods_and_overrides(tmp_path, photo, tiny_weights, tiny_artifacts):
    result = invoke("mganprior", photo, "--weights", tiny_weights, "--model", "dcgan", "--cut", 2,
                    "--codes", 2, "--steps", 3, "--restarts", 1, "--task", "sr", "--scale", 2,
                    "--simulate", "-o", tmp_path / "m", "--report", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    settings = json.loads((tmp_path / "m.json").read_text())["settings"]
    assert (settings["layer"], settings["codes"], settings["steps"]) == (2, 2, 3)
    result = invoke("csgm", photo, "--artifact", tiny_artifacts[0], "--steps", 2, "--task",
                    "inpaint", "--keep", 0.3, "--simulate", "-o", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c" / "astronaut.png").exists()


def test_cli_bad_input_exits_2_with_one_sentence(tmp_path, photo, tiny_artifacts):
    base = [photo, "--simulate", "--ratio", 0.2, "--size", 16]
    one_sentence_error(invoke("csgm", *base, "-o", tmp_path / "o"), "--artifact")
    one_sentence_error(invoke("iagan", *base, "-o", tmp_path / "o"), "--weights")
    one_sentence_error(invoke("csgm", *base, "--artifact", tiny_artifacts[0], "--alpha", 0.1,
                              "-o", tmp_path / "o"), "--alpha", "csgm")
    one_sentence_error(invoke("lasso-dct", *base, "--preset", "huge", "-o", tmp_path / "o"),
                       "--preset", "lasso-dct")
    one_sentence_error(invoke("lasso-dct", *base, "--alpha", -1, "-o", tmp_path / "o"),
                       "--alpha")
    one_sentence_error(invoke("lasso-dct", photo, "--simulate", "-o", tmp_path / "o"),
                       "--measurements/--ratio")
    one_sentence_error(invoke("deep-decoder", *base, "-o", tmp_path / "o"), "64 px")
    one_sentence_error(invoke("lasso-dct", *base, "--seed", -1, "-o", tmp_path / "o"),
                       "--seed must be an integer ≥ 0, got -1")
    # the override flags are the presets' declarations (gs.methods.cli.override_options)
    one_sentence_error(invoke("lasso-dct", *base, "--solver", "magic", "-o", tmp_path / "o"),
                       "--solver must be one of auto, sklearn, fista")
    one_sentence_error(invoke("lasso-dct", *base, "--alpha", 0, "-o", tmp_path / "o"),
                       "--alpha must be a number > 0, got 0")
    assert not (tmp_path / "o").exists()
    out = tmp_path / "taken"
    write_image(out / "astronaut.png", np.zeros(SHAPE, dtype=np.float32))
    one_sentence_error(invoke("lasso-dct", *base, "-o", out), "already exists", "--overwrite")
