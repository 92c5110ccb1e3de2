"""Contract tests of gs.operators: adjoints, backends, devices, seeding, validation."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from functools import partial

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

SHAPE = (3, 16, 16)
N = 3 * 16 * 16

# Example values of the options that have no default (the registry's defaults fill in
# the rest); a task that adds a required option adds its example here.
EXAMPLE_OPTIONS = {"measurements": 40}


def _registered_cases() -> dict:
    """One case per registered operator, built through the factory with its defaults."""
    cases = {}
    for task in tasks():
        entry = get_task(task)
        for name in entry.operators:
            key = task if name == entry.default_operator else f"{task}-{name}"
            cases[key] = partial(_from_registry, task, name)
    return cases


def _from_registry(task: str, name: str, rng, shape=SHAPE) -> Operator:
    options = {k: v for k, v in EXAMPLE_OPTIONS.items() if k in get_task(task).options}
    return make_operator(task, shape, rng, operator=name, **options)


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


DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available"),
    ),
]


def build(name: str, seed: int = 0, shape: tuple[int, int, int] = SHAPE) -> Operator:
    return CASES[name](problem_rng(seed, 0, Stream.OPERATOR), shape)


def images(batch: int = 2, dtype=np.float32, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, *SHAPE)).astype(dtype)


def measurements(op: Operator, batch: int = 2, dtype=np.float32, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, *op.measurement_shape)).astype(dtype)


def to_numpy(array) -> np.ndarray:
    return array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)


# ------------------------------------------------- tolerances from arithmetic
# A float result of a length-k sum differs from the exact one by at most about
# eps * sqrt(k) * sum|terms| (random-walk rounding, any summation order, BLAS or thread
# count); ``sum|terms|`` of ``A x`` is ``|A| |x|`` elementwise. The explicit matrix of an
# operator on the small test shapes gives ``|A|`` and k exactly.
def explicit_matrix(op: Operator) -> np.ndarray:
    """``(m, n)`` float64 matrix whose columns are ``A e_i`` (CHW-flattened)."""
    n = math.prod(op.image_shape)
    columns = op.A(np.eye(n).reshape(n, *op.image_shape))
    return np.asarray(columns).reshape(n, -1).T


def rounding_bound(op: Operator, x, dtype, *, adjoint: bool = False) -> np.ndarray:
    """Elementwise bound on the rounding error of ``A x`` (``Aᵀ x``) computed in ``dtype``.

    ``2 * eps * sqrt(k) * (|A| |x|)``, k the number of terms of each output; the 2
    covers the rounding of the inputs' cast to ``dtype`` as well.
    """
    matrix = np.abs(explicit_matrix(op))
    if adjoint:
        matrix = matrix.T
    k = max(1, int(np.count_nonzero(matrix, axis=1).max()))
    flat = np.abs(to_numpy(x).astype(np.float64)).reshape(len(x), -1)
    eps = float(np.finfo(dtype).eps)
    magnitude = flat @ matrix.T
    shape = (len(x), *(op.image_shape if adjoint else op.measurement_shape))
    return (2 * eps * math.sqrt(k) * magnitude + np.finfo(np.float64).tiny).reshape(shape)


def assert_within(actual, expected, bound: np.ndarray, what: str = "") -> None:
    """``|actual - expected| <= bound`` elementwise, with the worst offender in the message."""
    diff = np.abs(to_numpy(actual).astype(np.float64) - to_numpy(expected).astype(np.float64))
    excess = diff - bound
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    assert excess[worst] <= 0, (
        f"{what}: |difference| {diff[worst]:.3g} exceeds the rounding bound {bound[worst]:.3g} "
        f"at {worst}"
    )


@pytest.fixture(params=sorted(CASES))
def case(request) -> str:
    return request.param


# ---------------------------------------------------------------- (1) adjoint
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_dot_product_adjoint_float64(case, backend):
    op = build(case)
    x = images(dtype=np.float64)
    y = measurements(op, dtype=np.float64)
    if backend == "torch":
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    ax, aty = op.A(x), op.A_adjoint(y)
    assert ax.dtype == x.dtype and aty.dtype == y.dtype
    lhs = float(np.sum(to_numpy(ax) * to_numpy(y)))
    rhs = float(np.sum(to_numpy(x) * to_numpy(aty)))
    # Both sides are float64 sums of the terms y_i A_ij x_j: their rounding is bounded by
    # eps64 * sqrt(terms) * sum|y_i A_ij x_j| (far below the contract's 1e-6 relative).
    matrix = np.abs(explicit_matrix(op))
    x_abs, y_abs = np.abs(to_numpy(x)), np.abs(to_numpy(y))
    magnitude = float(np.sum(y_abs.reshape(len(y), -1) @ matrix * x_abs.reshape(len(x), -1)))
    terms = np.count_nonzero(matrix) * len(x)
    bound = 4 * np.finfo(np.float64).eps * math.sqrt(terms) * magnitude
    assert abs(lhs - rhs) <= bound
    assert lhs == pytest.approx(rhs, rel=1e-6)


# ------------------------------------------------------------ (2) autograd VJP
def test_adjoint_matches_autograd_vjp(case):
    op = build(case)
    x = torch.from_numpy(images(dtype=np.float64))
    v = torch.from_numpy(measurements(op, dtype=np.float64))
    _, vjp = torch.autograd.functional.vjp(op.A, x, v)
    # Both are float64 evaluations of Aᵀv: each within the rounding bound of the exact value.
    assert_within(op.A_adjoint(v), vjp, 2 * rounding_bound(op, v, np.float64, adjoint=True))


def test_gradient_flows_through_operator(case):
    op = build(case)
    x = torch.from_numpy(images()).requires_grad_(True)
    loss = (op.A(x) ** 2).sum()
    loss.backward()
    assert x.grad is not None and x.grad.shape == x.shape


# ------------------------------------------------------ (3) shapes and dtypes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_dtypes_and_backends_agree(case, dtype):
    op = build(case)
    x_np = images(batch=3, dtype=dtype)
    y_np = measurements(op, batch=3, dtype=dtype)
    x_t, y_t = torch.from_numpy(x_np), torch.from_numpy(y_np)
    outputs = {
        "A": (op.A(x_np), op.A(x_t), (3, *op.measurement_shape),
              op.A(x_np.astype(np.float64)), rounding_bound(op, x_np, dtype)),
        "A_adjoint": (op.A_adjoint(y_np), op.A_adjoint(y_t), (3, *op.image_shape),
                      op.A_adjoint(y_np.astype(np.float64)),
                      rounding_bound(op, y_np, dtype, adjoint=True)),
    }
    for name, (out_np, out_t, shape, reference, bound) in outputs.items():
        assert isinstance(out_np, np.ndarray), name
        assert isinstance(out_t, torch.Tensor), name
        assert out_np.shape == shape and tuple(out_t.shape) == shape, name
        assert out_np.dtype == dtype, name
        assert out_t.dtype == x_t.dtype, name
        # Each backend within rounding of the float64 result (itself exact to ~1e-16).
        assert_within(out_np, reference, bound, f"numpy {name}")
        assert_within(out_t, reference, bound, f"torch {name}")


def test_batched_equals_unbatched(case):
    op = build(case)
    x, y = images(batch=3), measurements(op, batch=3)
    batched_a, batched_t = op.A(x), op.A_adjoint(y)
    for i in range(3):
        assert_within(batched_a[i : i + 1], op.A(x[i : i + 1]),
                      2 * rounding_bound(op, x[i : i + 1], np.float32), f"A row {i}")
        assert_within(batched_t[i : i + 1], op.A_adjoint(y[i : i + 1]),
                      2 * rounding_bound(op, y[i : i + 1], np.float32, adjoint=True),
                      f"A_adjoint row {i}")


def test_vjp_is_adjoint(case):
    op = build(case)
    x, v = images(dtype=np.float64), measurements(op, dtype=np.float64)
    np.testing.assert_array_equal(op.vjp(x, v), op.A_adjoint(v))
    assert op.image_size == math.prod(op.image_shape)
    assert op.measurement_size == math.prod(op.measurement_shape)


def test_measure_backends_agree(case):
    op = build(case)
    x = images()
    y_np = op.measure(x, problem_rng(0, 0, Stream.NOISE))
    y_t = op.measure(torch.from_numpy(x), problem_rng(0, 0, Stream.NOISE))
    assert y_np.dtype == np.float32 and y_t.dtype == torch.float32
    expected_noise = np.random.default_rng([0, 0, int(Stream.NOISE)]).standard_normal(y_np.shape)
    expected = op.A(x.astype(np.float64)) + op.noise_std * expected_noise
    # rounding of A x, of the noise's cast and product, and of the final sum
    eps = float(np.finfo(np.float32).eps)
    bound = rounding_bound(op, x, np.float32) + 2 * eps * (
        np.abs(expected) + op.noise_std * np.abs(expected_noise))
    assert_within(y_np, expected, bound, "numpy")
    assert_within(y_t, expected, bound, "torch")


def test_measure_without_noise_is_A(case):
    spec = build(case).spec()
    spec["noise_std"] = 0.0
    op = operator_from_spec(spec, problem_rng(0, 0, Stream.OPERATOR))
    x = images()
    np.testing.assert_array_equal(op.measure(x, np.random.default_rng(3)), op.A(x))


def test_preview_is_an_image_and_describe_a_caption(case):
    op = build(case)
    y = op.measure(images(), np.random.default_rng(4))[0]
    preview = op.preview(y)
    assert preview.shape == op.image_shape and preview.dtype == np.float32
    assert 0 <= preview.min() and preview.max() <= 1 and preview.max() > preview.min()
    assert op.describe() and "\n" not in op.describe()


def test_measurement_groups_never_let_the_fit_see_a_held_out_value(case):
    """A group's entries all move with one image value or none do: whatever changes a
    held-out entry's image pixels reaches no entry of another group through A's channels."""
    op = build(case)
    groups = op.measurement_groups()
    assert groups.shape == (op.measurement_size,) and groups.dtype == np.int64
    assert (groups >= -1).all() and (groups >= 0).any()
    # Entries the image never reaches (masked out) are exactly those of group -1.
    positive = np.random.default_rng(5).uniform(0.5, 1.0, (1, *op.image_shape))
    reach = np.abs(np.asarray(op.A(positive))).reshape(-1)
    np.testing.assert_array_equal(groups == -1, reach == 0)
    if len(op.measurement_shape) == 3 and op.measurement_shape[0] > 1:
        # Image-shaped y: the channels of one pixel share its group.
        by_pixel = groups.reshape(op.measurement_shape)
        assert (by_pixel == by_pixel[:1]).all()


def test_shape_mismatch_is_rejected(case):
    op = build(case)
    with pytest.raises(ValueError, match="shape"):
        op.A(np.zeros((2, 3, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        op.A_adjoint(np.zeros((2, 5), dtype=np.float32))


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match="floating"):
        Denoising(SHAPE).A(np.zeros((1, *SHAPE), dtype=np.int64))


# ----------------------------------------------------------------- (4) device
@pytest.mark.parametrize("device", DEVICES)
def test_device_is_preserved(case, device):
    op = build(case)
    x_np = images()
    y_np = measurements(op)
    x = torch.from_numpy(x_np).to(device)
    y = torch.from_numpy(y_np).to(device)
    a_bound = rounding_bound(op, x_np, np.float32)
    noise = np.random.default_rng(4).standard_normal(a_bound.shape)
    eps = float(np.finfo(np.float32).eps)
    x64 = x_np.astype(np.float64)
    for out, expected, bound in (
        (op.A(x), op.A(x64), a_bound),
        (op.A_adjoint(y), op.A_adjoint(y_np.astype(np.float64)),
         rounding_bound(op, y_np, np.float32, adjoint=True)),
        (op.measure(x, np.random.default_rng(4)), op.A(x64) + op.noise_std * noise,
         a_bound + 2 * eps * (np.abs(op.A(x64)) + op.noise_std * np.abs(noise))),
    ):
        assert out.device.type == device and out.dtype == torch.float32
        assert_within(out, expected, bound, device)


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


# ---------------------------------------------------- (5) seeding and specs
def test_same_seed_same_operator_and_noise(case):
    a, b = build(case, seed=7), build(case, seed=7)
    x = images()
    np.testing.assert_array_equal(a.A(x), b.A(x))
    np.testing.assert_array_equal(
        a.measure(x, problem_rng(7, 0, Stream.NOISE)), b.measure(x, problem_rng(7, 0, Stream.NOISE))
    )


def test_different_seed_different_noise(case):
    op = build(case)
    x = images()
    if op.noise_std == 0:
        op = operator_from_spec({**op.spec(), "noise_std": 0.1}, problem_rng(0, 0, Stream.OPERATOR))
    y1 = op.measure(x, problem_rng(7, 0, Stream.NOISE))
    y2 = op.measure(x, problem_rng(8, 0, Stream.NOISE))
    assert not np.allclose(y1, y2)


@pytest.mark.parametrize("name", ["cs", "cs-structured", "inpaint"])
def test_different_seed_different_operator(name):
    a, b = build(name, seed=7), build(name, seed=8)
    x = images()
    assert not np.allclose(a.A(x), b.A(x))


def test_spec_round_trip(case):
    op = build(case, seed=5)
    spec = op.spec()
    assert spec["task"] == op.task
    restored_spec = json.loads(json.dumps(spec))
    assert restored_spec == spec
    rebuilt = operator_from_spec(restored_spec, problem_rng(5, 0, Stream.OPERATOR))
    assert type(rebuilt) is type(op)
    assert rebuilt.spec() == spec
    x, y = images(), measurements(op)
    np.testing.assert_array_equal(rebuilt.A(x), op.A(x))
    np.testing.assert_array_equal(rebuilt.A_adjoint(y), op.A_adjoint(y))


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


def test_norm_estimates(case):
    shape = (2, 8, 8)  # small, so that the explicit matrix is cheap
    n = 2 * 8 * 8
    op = build(case, shape=shape)
    explicit = op.A(np.eye(n).reshape(n, *shape)).reshape(n, -1).T  # columns are A e_i
    expected = math.sqrt(np.linalg.eigvalsh(explicit.T @ explicit)[-1])
    # Power iteration's convergence (not rounding) sets this tolerance: it stops once
    # the eigenvalue estimate changes by less than 1e-7 relative, or after 100 steps.
    assert op.norm() == pytest.approx(expected, rel=1e-3)


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


def test_a_registered_toy_task_gets_factory_and_spec(monkeypatch):
    from gs.operators import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register(Task("double", "toy", {"times-two": _Doubling}, ("noise_std",)))
    assert "double" in tasks()
    op = make_operator("double", SHAPE, RNG, noise_std=0.5)
    assert op.norm() == pytest.approx(2.0, rel=1e-6)
    rebuilt = operator_from_spec(json.loads(json.dumps(op.spec())), RNG)
    assert type(rebuilt) is _Doubling and rebuilt.noise_std == 0.5
    with pytest.raises(ValueError, match="registered as"):
        register(Task("other", "toy", {"times-two": _Doubling}, ()))


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
