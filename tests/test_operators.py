"""Tests of gs.operators: the contract suite (gs.testing.OperatorConformance) on every
registered operator and some variants, then what is particular to each operator, the
registry and validation."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gs.errors import UserInputError
from gs.operators import (
    STRUCTURED_FROM_PIXELS,
    Denoising,
    GaussianCS,
    Operator,
    RandomInpainting,
    StructuredCS,
    SuperResolution,
    Task,
    get_task,
    make_operator,
    operator_classes,
    operator_from_spec,
    operator_names,
    register,
    task_defaults,
    tasks,
)
from gs.operators.cs import draw_gaussian_matrix
from gs.seeding import Stream, problem_rng
from gs.testing.operators import OperatorConformance, task_cases
from gs.testing.tolerances import assert_within, explicit_matrix, rounding_bound

SHAPE = (3, 16, 16)
N = 3 * 16 * 16

# Example values of the options that have no default (the registry's defaults fill in
# the rest); a task that adds a required option adds its example here.
EXAMPLE_OPTIONS = {"measurements": 40}


def _registered_cases() -> dict:
    """One case per registered operator, built through the factory with its defaults."""
    return {key: build for task in tasks()
            for key, build in task_cases(task, EXAMPLE_OPTIONS).items()}


# Each case: id -> builder(rng, shape) -> Operator. Every operator is built from a seeded
# rng so that the same case always yields the same operator. Every registered operator
# is a case automatically; variants of their parameters are added by hand.
CASES = {
    **_registered_cases(),
    "inpaint-noisy": lambda rng, shape=SHAPE: RandomInpainting(0.3, shape, rng, noise_std=0.05),
    "sr2-bilinear": lambda rng, shape=SHAPE: SuperResolution(2, shape, "bilinear", noise_std=0.01),
    "sr2-area": lambda rng, shape=SHAPE: SuperResolution(2, shape, "area"),
    "sr4-bilinear": lambda rng, shape=SHAPE: SuperResolution(4, shape, "bilinear"),
    "sr4-area": lambda rng, shape=SHAPE: SuperResolution(4, shape, "area", noise_std=0.02),
    "cs-structured-3rounds": lambda rng, shape=SHAPE: StructuredCS(40, shape, rng, rounds=3),
}


def test_every_registered_operator_is_a_case():
    built = {type(build(name)) for name in CASES}
    assert set(operator_classes()) <= built
    assert {"cs", "cs-structured", "inpaint", "sr", "denoise", "mri", "deblur", "raw"} <= set(CASES)


def build(name: str, seed: int = 0, shape: tuple[int, int, int] = SHAPE) -> Operator:
    return CASES[name](problem_rng(seed, 0, Stream.OPERATOR), shape)


def images(batch: int = 2, dtype=np.float32, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, *SHAPE)).astype(dtype)


def measurements(op: Operator, batch: int = 2, dtype=np.float32, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, *op.measurement_shape)).astype(dtype)


class TestOperatorContract(OperatorConformance):
    """The suite plug-in authors run, on every case above."""

    operator_cases = CASES
    image_shape = SHAPE


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match="floating"):
        Denoising(SHAPE).A(np.zeros((1, *SHAPE), dtype=np.int64))


def test_constants_are_cached_per_backend_device_and_dtype():
    op = GaussianCS(10, SHAPE, np.random.default_rng(0))
    x32 = torch.from_numpy(images())
    op.A(x32)
    first = dict(op._cache)
    op.A(x32)
    op.A_adjoint(op.A(x32))
    assert len(op._cache) == 1
    assert next(iter(op._cache.values())) is next(iter(first.values()))
    op.A(x32.double())
    op.A(images())
    assert len(op._cache) == 3
    # The cached constant never aliases writable state the caller could change.
    assert not op.matrix.flags.writeable


@pytest.mark.parametrize("name", ["cs", "cs-structured", "inpaint"])
def test_different_seed_different_operator(name):
    a, b = build(name, seed=7), build(name, seed=8)
    x = images()
    assert not np.allclose(a.A(x), b.A(x))


def test_explicit_mask_round_trip():
    mask = np.random.default_rng(0).random(SHAPE[1:]) < 0.4
    op = RandomInpainting.from_mask(mask.astype(np.uint8), SHAPE, noise_std=0.01)
    np.testing.assert_array_equal(op.mask, mask)
    assert op.keep == pytest.approx(mask.mean())
    spec = json.loads(json.dumps(op.spec()))
    rebuilt = operator_from_spec(spec, np.random.default_rng(123))
    np.testing.assert_array_equal(rebuilt.mask, mask)
    assert rebuilt.noise_std == 0.01


def test_operator_spec_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(UserInputError, match="task"):
        operator_from_spec({"task": "tomography"}, rng)
    with pytest.raises(UserInputError, match="missing"):
        operator_from_spec({"task": "cs", "image_shape": [3, 16, 16], "noise_std": 0.1}, rng)
    bad_mask = {
        "task": "inpaint",
        "keep": 0.5,
        "mask": "00",
        "image_shape": [3, 16, 16],
        "noise_std": 0.0,
    }
    with pytest.raises(UserInputError, match="mask"):
        operator_from_spec(bad_mask, rng)


def test_make_operator_matches_constructors():
    def rng():
        return problem_rng(3, 1, Stream.OPERATOR)

    x = images()
    pairs = [
        (make_operator("cs", SHAPE, rng(), measurements=40), GaussianCS(40, SHAPE, rng())),
        (make_operator("cs", SHAPE, rng(), ratio=0.1), GaussianCS(round(0.1 * N), SHAPE, rng())),
        (make_operator("inpaint", SHAPE, rng()), RandomInpainting(0.1, SHAPE, rng())),
        (make_operator("sr", SHAPE, rng()), SuperResolution(4, SHAPE)),
        (
            make_operator("sr", SHAPE, rng(), scale=2, method="area", noise_std=0.1),
            SuperResolution(2, SHAPE, "area", 0.1),
        ),
        (make_operator("denoise", SHAPE, rng()), Denoising(SHAPE)),
    ]
    for made, direct in pairs:
        assert made.spec() == direct.spec()
        np.testing.assert_array_equal(made.A(x), direct.A(x))
    assert make_operator("cs", SHAPE, rng(), ratio=1e-6).measurement_shape == (1,)
    assert make_operator("denoise", SHAPE, rng()).noise_std == 0.1
    assert make_operator("inpaint", SHAPE, rng()).noise_std == 0.0


# -------------------------------------------------- (6) torch reference ops
@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bilinear_matches_interpolate(scale, dtype):
    shape = (3, 32, 24)
    x = torch.from_numpy(np.random.default_rng(0).random((2, *shape))).to(dtype)
    op = SuperResolution(scale, shape, "bilinear")
    ref = F.interpolate(x, scale_factor=1 / scale, mode="bilinear", align_corners=False)
    assert op.A(x).shape == ref.shape
    # Both sum 4 non-negative terms of x >= 0: each within 2 eps sqrt(4) A(x) of exact.
    eps = torch.finfo(dtype).eps
    torch.testing.assert_close(op.A(x), ref, rtol=2 * 2 * eps * 2, atol=0)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_area_matches_avg_pool(scale):
    shape = (3, 32, 24)
    x = torch.from_numpy(np.random.default_rng(0).random((2, *shape)).astype(np.float32))
    op = SuperResolution(scale, shape, "area")
    # s² non-negative terms of x >= 0: each result within 2 eps s A(x) of exact.
    rtol = 2 * 2 * torch.finfo(torch.float32).eps * scale
    torch.testing.assert_close(op.A(x), F.avg_pool2d(x, scale), rtol=rtol, atol=0)
    torch.testing.assert_close(
        op.A(x), F.interpolate(x, scale_factor=1 / scale, mode="area"), rtol=rtol, atol=0
    )


def test_upsample_is_right_inverse_of_area():
    op = SuperResolution(4, SHAPE, "area")
    y = measurements(op)
    up = op.upsample(y)
    assert up.shape == (2, *SHAPE)
    assert_within(op.A(up), y, rounding_bound(op, up, np.float32))


# ---------------------------------------------------- (7) specific contracts
@pytest.mark.parametrize("m", [1, 40, N])
def test_cs_default_noise_std(m):
    op = GaussianCS(m, SHAPE, np.random.default_rng(0))
    assert op.noise_std == pytest.approx(0.1 * math.sqrt(N / (m * 12288)))
    assert GaussianCS(m, (3, 64, 64), np.random.default_rng(0)).noise_std == pytest.approx(
        0.1 / math.sqrt(m)
    )
    assert GaussianCS(m, SHAPE, np.random.default_rng(0), noise_std=0.0).noise_std == 0.0


def test_cs_matrix_draw():
    op = GaussianCS(40, SHAPE, np.random.default_rng(9))
    expected = (np.random.default_rng(9).standard_normal((40, N)) / math.sqrt(40)).astype(
        np.float32
    )
    assert op.matrix.dtype == np.float32 and op.matrix.shape == (40, N)
    np.testing.assert_array_equal(op.matrix, expected)
    chunked = draw_gaussian_matrix(np.random.default_rng(9), 40, N, chunk_rows=3)
    np.testing.assert_array_equal(chunked, expected)


def test_cs_flattens_chw():
    op = GaussianCS(5, SHAPE, np.random.default_rng(0))
    x = images()
    expected = x.reshape(2, -1).astype(np.float64) @ op.matrix.T.astype(np.float64)
    assert_within(op.A(x), expected, rounding_bound(op, x, np.float32))


@pytest.mark.parametrize("keep", [0.1, 0.25, 0.5, 0.77, 1.0])
def test_inpainting_keeps_exact_fraction(keep):
    op = RandomInpainting(keep, SHAPE, np.random.default_rng(0))
    assert op.mask.dtype == bool and op.mask.shape == SHAPE[1:]
    assert int(op.mask.sum()) == round(keep * 16 * 16)
    x = images()
    y = op.A(x)
    np.testing.assert_array_equal(y, x * op.mask)  # same mask on every channel
    assert op.measurement_shape == SHAPE


def test_inpainting_mask_is_permutation_prefix():
    op = RandomInpainting(0.25, SHAPE, np.random.default_rng(4))
    kept = np.random.default_rng(4).permutation(256)[:64]
    expected = np.zeros(256, dtype=bool)
    expected[kept] = True
    np.testing.assert_array_equal(op.mask.ravel(), expected)


def test_sr_kernels():
    np.testing.assert_array_equal(SuperResolution(4, SHAPE, "area").kernel, np.full((4, 4), 1 / 16))
    bilinear = np.zeros((4, 4), dtype=np.float32)
    bilinear[1:3, 1:3] = 0.25
    np.testing.assert_array_equal(SuperResolution(4, SHAPE).kernel, bilinear)
    assert SuperResolution(4, SHAPE).measurement_shape == (3, 4, 4)


def test_denoising_is_identity():
    op = Denoising(SHAPE)
    x = images()
    np.testing.assert_array_equal(op.A(x), x)
    assert op.task == "denoise" and op.noise_std == 0.1


def test_module_does_not_import_torch():
    code = ("import sys, numpy as np, gs.operators as o; "
            "op = o.make_operator('cs', (3, 8, 8), np.random.default_rng(0), measurements=9, "
            "operator='structured'); op.A_adjoint(op.A(np.ones((1, 3, 8, 8), np.float32))); "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ------------------------------------------------------------ (8) validation
RNG = np.random.default_rng(0)

INVALID = [
    (lambda: GaussianCS(0, SHAPE, RNG), "measurements"),
    (lambda: GaussianCS(-3, SHAPE, RNG), "measurements"),
    (lambda: GaussianCS(N + 1, SHAPE, RNG), "measurements"),
    (lambda: GaussianCS(2.5, SHAPE, RNG), "measurements"),
    (lambda: GaussianCS(10, SHAPE, RNG, noise_std=-0.1), "noise_std"),
    (lambda: RandomInpainting(0, SHAPE, RNG), "keep"),
    (lambda: RandomInpainting(1.5, SHAPE, RNG), "keep"),
    (lambda: RandomInpainting(float("nan"), SHAPE, RNG), "keep"),
    (lambda: SuperResolution(3, SHAPE), "scale"),
    (lambda: SuperResolution(8, (3, 16, 12)), "scale"),
    (lambda: SuperResolution(4, (3, 18, 16)), "scale"),
    (lambda: SuperResolution(4, SHAPE, "bicubic"), "method"),
    (lambda: Denoising(SHAPE, noise_std=-1.0), "noise_std"),
    (lambda: Denoising((3, 16)), "image_shape"),
    (lambda: Denoising((3, 0, 16)), "image_shape"),
    (lambda: make_operator("tomography", SHAPE, RNG), "task"),
    (lambda: make_operator("cs", SHAPE, RNG), "measurements/ratio"),
    (lambda: make_operator("cs", SHAPE, RNG, measurements=10, ratio=0.1), "measurements/ratio"),
    (lambda: make_operator("cs", SHAPE, RNG, ratio=0.0), "ratio"),
    (lambda: make_operator("cs", SHAPE, RNG, ratio=1.5), "ratio"),
    (lambda: make_operator("cs", SHAPE, RNG, measurements=0), "measurements"),
    (lambda: make_operator("inpaint", SHAPE, RNG, keep=0.0), "keep"),
    (lambda: make_operator("sr", SHAPE, RNG, scale=3), "scale"),
    (lambda: make_operator("sr", (3, 20, 20), RNG, scale=8), "scale"),
    (lambda: RandomInpainting.from_mask(np.zeros((16, 16)), SHAPE), "mask"),
    (lambda: RandomInpainting.from_mask(np.ones((8, 8)), SHAPE), "mask"),
    (lambda: RandomInpainting.from_mask(np.full((16, 16), 0.5), SHAPE), "mask"),
]


@pytest.mark.parametrize("factory, flag", INVALID, ids=[flag for _, flag in INVALID])
def test_invalid_arguments(factory, flag):
    # The library names its own fields; gs-invert shows them as its flags.
    with pytest.raises(UserInputError, match=re.escape(flag)) as info:
        factory()
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.count(". ") == 0 and "\n" not in message  # one sentence


def test_unknown_task_lists_tasks():
    with pytest.raises(ValueError, match="cs, inpaint, sr, denoise"):
        make_operator("blur", SHAPE, RNG)


def test_measurement_range_in_message():
    with pytest.raises(ValueError, match=r"^measurements must be between 1 and 768, got 0$"):
        GaussianCS(0, SHAPE, RNG)


# ------------------------------------------------------------- (9) registry
def test_task_list_lives_in_the_registry():
    from gs import settings
    from gs.operators import TASKS

    assert settings.TASKS is TASKS
    assert TASKS == ("cs", "inpaint", "sr", "denoise", "mri", "deblur", "raw")
    assert operator_names("cs") == ("gaussian", "structured")
    assert set(operator_names()) >= {"gaussian", "structured", "mask", "downsample", "identity"}


def test_register_checks_how_a_task_is_observed():
    from gs.operators import Denoising, tasks

    class Telepathy(Denoising):
        task = "telepathy"

    with pytest.raises(ValueError, match="observation must be one of image, masked"):
        register(Task("telepathy", "?", {"identity": Telepathy}, ("noise_std",),
                      observation="thought"))
    with pytest.raises(ValueError, match="its operators need from_mask"):
        register(Task("telepathy", "?", {"identity": Telepathy}, ("noise_std",),
                      observation="masked"))
    assert "telepathy" not in tasks()
    assert [get_task(t).observation for t in ("cs", "inpaint", "sr")] == [
        "measurements", "masked", "image"]
    assert [t for t in ("cs", "inpaint", "sr", "denoise", "raw") if get_task(t).identity] == [
        "denoise", "raw"]


def test_task_defaults():
    assert task_defaults("inpaint") == {"keep": 0.1, "noise_std": 0.0}
    assert task_defaults("sr") == {"scale": 4, "method": "bilinear", "noise_std": 0.0}
    assert task_defaults("denoise") == {"noise_std": 0.1}
    assert task_defaults("raw") == {"noise_std": 0.0}
    assert task_defaults("cs") == {"measurements": None, "ratio": None, "rounds": 1,
                                   "noise_std": None}


def test_raw_is_noise_free_identity():
    op = make_operator("raw", SHAPE, RNG)
    x = images()
    assert op.noise_std == 0.0 and op.task == "raw"
    np.testing.assert_array_equal(op.measure(x, np.random.default_rng(0)), x)


@pytest.mark.parametrize("side, expected", [(16, GaussianCS), (64, GaussianCS),
                                            (127, GaussianCS), (128, StructuredCS)])
def test_cs_operator_follows_image_size(side, expected):
    op = make_operator("cs", (1, side, 8), np.random.default_rng(0), ratio=0.05)
    assert type(op) is expected
    assert STRUCTURED_FROM_PIXELS == 128
    assert type(make_operator("cs", (1, 128, 8), RNG, ratio=0.05, operator="gaussian")) \
        is GaussianCS


def test_dense_matrix_that_does_not_fit_is_refused():
    shape = (3, 512, 512)
    n = math.prod(shape)
    with pytest.raises(UserInputError, match=r"^operator gaussian needs a dense 786432 x "
                                             r"786432 float32 matrix of 2\.47 TB") as info:
        GaussianCS(n, shape, RNG)
    message = str(info.value)
    assert "structured" in message and message.count(". ") == 0
    assert info.value.field == "operator"
    with pytest.raises(UserInputError, match="operator gaussian"):
        make_operator("cs", shape, RNG, ratio=1.0, operator="gaussian")


def test_spec_without_operator_name_means_the_first_operator():
    spec = build("cs", seed=5).spec()
    del spec["operator"]
    rebuilt = operator_from_spec(spec, problem_rng(5, 0, Stream.OPERATOR))
    np.testing.assert_array_equal(rebuilt.matrix, build("cs", seed=5).matrix)


def test_unknown_operator_and_option():
    with pytest.raises(UserInputError, match="^operator must be one of gaussian, structured"):
        make_operator("cs", SHAPE, RNG, measurements=4, operator="fourier")
    with pytest.raises(UserInputError, match="operator spec operator"):
        operator_from_spec({**build("cs").spec(), "operator": "fourier"}, RNG)
    with pytest.raises(TypeError, match="unknown options"):
        make_operator("cs", SHAPE, RNG, measurements=4, kep=0.1)


class _Doubling(Operator):
    """A toy operator registered from this test: ``A x = 2 x``."""

    task = "double"
    name = "times-two"
    defaults = {"noise_std": 0.0}

    def __init__(self, image_shape, noise_std=None):
        super().__init__(image_shape, noise_std)

    @property
    def measurement_shape(self):
        return self.image_shape

    def A(self, x):  # noqa: N802
        self._check(x, self.image_shape, "images")
        return 2 * x

    def A_adjoint(self, y):  # noqa: N802
        self._check(y, self.image_shape, "measurements")
        return 2 * y


def test_a_registered_toy_task_gets_factory_and_spec():
    from gs.operators import registry

    task = register(Task("double", "toy", {"times-two": _Doubling}, ("noise_std",)))
    assert register(task) is task  # the same task again: nothing to do
    with pytest.raises(ValueError, match="'double' is already registered by module"):
        register(Task("double", "another", {"times-two": _Doubling}, ("noise_std",)))
    assert registry.task_source("double") == f"module {__name__}"
    assert "double" in tasks()
    op = make_operator("double", SHAPE, RNG, noise_std=0.5)
    assert op.norm() == pytest.approx(2.0, rel=1e-6)
    rebuilt = operator_from_spec(json.loads(json.dumps(op.spec())), RNG)
    assert type(rebuilt) is _Doubling and rebuilt.noise_std == 0.5
    with pytest.raises(ValueError, match="registered as"):
        register(Task("other", "toy", {"times-two": _Doubling}, ()))
    del registry._REGISTRY["double"]


# ---------------------------------------------------- (10) structured operator
def test_structured_entries_are_plus_minus_one_over_sqrt_m():
    op = StructuredCS(40, SHAPE, np.random.default_rng(0))
    explicit = explicit_matrix(op)
    np.testing.assert_allclose(np.abs(explicit), 1 / math.sqrt(40), rtol=1e-12)
    # Distinct rows of one orthogonal transform: A Aᵀ = (N/m) Pᵀ-restricted Gram, and
    # exactly (n/m) I when n is a power of two (no padding).
    square = StructuredCS(40, (1, 16, 16), np.random.default_rng(0))
    gram = explicit_matrix(square) @ explicit_matrix(square).T
    np.testing.assert_allclose(gram, np.eye(40) * 256 / 40, atol=1e-12)


def test_structured_preserves_norm_in_expectation():
    x = images(batch=1, dtype=np.float64)
    ratios = np.array([
        np.sum(StructuredCS(64, SHAPE, np.random.default_rng(seed)).A(x) ** 2) / np.sum(x**2)
        for seed in range(400)
    ])
    # E ||Ax||² = ||x||² exactly; the mean of 400 draws is within 5 standard errors.
    assert abs(ratios.mean() - 1) <= 5 * ratios.std(ddof=1) / math.sqrt(len(ratios))


@pytest.mark.parametrize("shape", [(3, 17, 23), (1, 1, 1), (2, 8, 8)])
def test_structured_any_image_size(shape):
    n = math.prod(shape)
    op = StructuredCS(max(1, n // 3), shape, np.random.default_rng(1), rounds=2)
    assert op.padded_size >= n and op.padded_size < 2 * n + 1
    x = np.random.default_rng(2).random((2, *shape))
    y = np.random.default_rng(3).standard_normal((2, op.measurements))
    lhs, rhs = np.sum(op.A(x) * y), np.sum(x * op.A_adjoint(y))
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-12)
    explicit = explicit_matrix(op)
    exact = math.sqrt(np.linalg.eigvalsh(explicit @ explicit.T)[-1])
    assert op.norm() == math.sqrt(op.padded_size / op.measurements)
    assert 0.9 * op.norm() <= exact <= op.norm() * (1 + 1e-12)  # an upper bound, and tight


def test_structured_draws_from_the_generator_only():
    rng = np.random.default_rng(11)
    op = StructuredCS(100, SHAPE, rng, rounds=2)
    ref = np.random.default_rng(11)
    signs = 1 - 2 * ref.integers(0, 2, size=(2, 1024), dtype=np.int8)
    rows = np.sort(ref.choice(1024, size=100, replace=False))
    np.testing.assert_array_equal(op.rows, rows)
    np.testing.assert_array_equal(op._signs, signs)
    assert rng.random() == ref.random()  # both generators advanced alike


def test_structured_at_512px_is_small_and_its_spec_holds_no_matrix():
    shape = (3, 512, 512)
    n = math.prod(shape)
    op = make_operator("cs", shape, np.random.default_rng(0), ratio=0.1)
    assert type(op) is StructuredCS and op.measurements == round(n / 10)
    assert op.nbytes < 100 * 2**20
    spec = json.dumps(op.spec())
    assert len(spec) < 200
    y = op.A(np.ones((1, *shape), dtype=np.float32))
    assert y.shape == (1, op.measurements) and np.isfinite(y).all()


# ------------------------------------------------------- (11) through gs-invert
def _invert(*args):
    from click.testing import CliRunner

    from gs.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


FAST = ["--steps", "1", "--inner-iterations", "3", "--restarts", "1", "--seed", "0"]


def test_cli_structured_measurements_hold_only_the_spec(tmp_path, tiny_artifacts, photo):
    sim = tmp_path / "sim"
    result = _invert(tiny_artifacts[1], photo, "--task", "cs", "--operator", "structured",
                     "--ratio", 0.2, "--simulate", "--save-measurements", "-o", sim,
                     "--report", tmp_path / "a.json", *FAST)
    assert result.exit_code == 0, result.output
    with np.load(sim / "astronaut.npz", allow_pickle=False) as data:
        assert set(data.files) == {"y", "spec", "seed", "index"}
        spec = json.loads(str(data["spec"]))
        m = spec["measurements"]
        assert data["y"].shape == (m,) and all(data[k].size == 1 for k in ("spec", "seed"))
    assert spec["operator"] == "structured" and set(spec) == {
        "task", "operator", "measurements", "rounds", "image_shape", "noise_std"}
    result = _invert(tiny_artifacts[1], sim / "astronaut.npz", "--task", "cs", "-o",
                     tmp_path / "obs", "--report", tmp_path / "b.json", *FAST)
    assert result.exit_code == 0, result.output
    simulated = json.loads((tmp_path / "a.json").read_text())["images"][0]
    observed = json.loads((tmp_path / "b.json").read_text())["images"][0]
    assert observed["measurement_loss"] == pytest.approx(simulated["measurement_loss"], rel=1e-4)


def test_cli_refuses_a_dense_matrix_that_does_not_fit(tmp_path, tiny_artifacts, photo,
                                                      monkeypatch):
    from gs.operators import cs

    monkeypatch.setattr(cs, "available_bytes", lambda: 1000)
    result = _invert(tiny_artifacts[1], photo, "--task", "cs", "--operator", "gaussian",
                     "--ratio", 0.2, "--simulate", "-o", tmp_path / "out", *FAST)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and "--operator gaussian needs a dense" in lines[0]
    assert "473 kB but only 1 kB of memory" in lines[0] and not (tmp_path / "out").exists()


def test_cli_raw_task_scores_the_representation(tmp_path, tiny_artifacts, photo):
    report = tmp_path / "raw.json"
    result = _invert(tiny_artifacts[1], photo, "--task", "raw", "--simulate", "-o",
                     tmp_path / "out", "--report", report, *FAST)
    assert result.exit_code == 0, result.output
    entry = json.loads(report.read_text())["images"][0]
    assert json.loads(report.read_text())["task"] == "raw" and 5 < entry["psnr"] < 60


def test_structured_speed_benchmark_runs(tmp_path, monkeypatch):
    import argparse
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import structured

    out = tmp_path / "speed.json"
    structured.speed(argparse.Namespace(sides=[16], batch=2, repeats=1, json=out))
    rows = json.loads(out.read_text())
    assert [r["backend"] for r in rows] == ["numpy", "torch"]
    assert all(r["m"] == 76 and r["gaussian_s"] > 0 and r["structured_s"] > 0 for r in rows)
