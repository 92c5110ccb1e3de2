"""The contract every operator passes: adjointness, autograd, shapes, dtypes, devices,
seeding and the spec round trip, on numpy and torch.

A test class inherits :class:`OperatorConformance` and names its task::

    from gs.testing import OperatorConformance

    class TestSinglePixel(OperatorConformance):
        task_under_test = "spc"                   # every operator of the task, defaults
        example_options = {"ratio": 0.25}         # options without a default

or lists its cases (``operator_cases``: id → ``builder(rng, image_shape) -> Operator``,
each drawing its random parts from ``rng``), as gs's own ``tests/test_operators.py``
does for every registered operator and a few parameter variants. Each test runs once
per case.

Tolerances follow from the arithmetic (:func:`gs.testing.tolerances.rounding_bound`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from gs.operators import Operator, get_task, make_operator, operator_from_spec
from gs.seeding import Stream, problem_rng
from gs.testing.tolerances import assert_within, explicit_matrix, rounding_bound, to_numpy

Builder = Callable[..., Operator]
"""``builder(rng, image_shape) -> Operator``: one case of the suite."""

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def task_cases(task: str, example_options: Mapping[str, Any] | None = None
               ) -> dict[str, Builder]:
    """One case per operator of registered ``task``, built by the factory with its defaults
    and those of ``example_options`` that the task reads; ids ``task`` for the default
    operator, ``task-operator`` for the others."""
    entry = get_task(task)
    options = {k: v for k, v in (example_options or {}).items() if k in entry.options}
    cases: dict[str, Builder] = {}
    for name in entry.operators:
        key = task if name == entry.default_operator else f"{task}-{name}"

        def build(rng: np.random.Generator, shape: tuple[int, int, int], name: str = name
                  ) -> Operator:
            return make_operator(task, shape, rng, operator=name, **options)

        cases[key] = build
    return cases


class OperatorConformance:
    """Mixin of the operator contract tests (pytest); set :attr:`task_under_test` or
    :attr:`operator_cases`."""

    task_under_test: ClassVar[str] = ""
    """A registered task: every one of its operators is a case."""
    operator_cases: ClassVar[Mapping[str, Builder]] = {}
    """Cases by id, besides those of :attr:`task_under_test`."""
    example_options: ClassVar[Mapping[str, Any]] = {"measurements": 40}
    """Values of the factory options that have no default (those the task reads are used)."""
    image_shape: ClassVar[tuple[int, int, int]] = (3, 16, 16)
    """The image shape of every case (the norm test uses (2, 8, 8))."""

    @classmethod
    def cases(cls) -> dict[str, Builder]:
        """Every case of this class, by id."""
        found = dict(cls.operator_cases)
        if cls.task_under_test:
            found = {**task_cases(cls.task_under_test, cls.example_options), **found}
        return found

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "case" in metafunc.fixturenames:
            cases = sorted(self.cases())
            if not cases:
                raise pytest.UsageError(f"{type(self).__name__} names no operator: set "
                                        "task_under_test = '<task>' or operator_cases")
            metafunc.parametrize("case", cases)

    # --- helpers --------------------------------------------------------------------------

    def build(self, case: str, seed: int = 0, shape: tuple[int, int, int] | None = None
              ) -> Operator:
        """Case ``case`` built from the operator stream of (``seed``, image 0)."""
        return self.cases()[case](problem_rng(seed, 0, Stream.OPERATOR),
                                  shape or self.image_shape)

    def images(self, batch: int = 2, dtype: Any = np.float32, seed: int = 1) -> np.ndarray:
        return np.random.default_rng(seed).random((batch, *self.image_shape)).astype(dtype)

    @staticmethod
    def measurements(op: Operator, batch: int = 2, dtype: Any = np.float32, seed: int = 2
                     ) -> np.ndarray:
        shape = (batch, *op.measurement_shape)
        return np.random.default_rng(seed).standard_normal(shape).astype(dtype)

    # --- (1) adjoint ----------------------------------------------------------------------

    @pytest.mark.parametrize("backend", ["numpy", "torch"])
    def test_dot_product_adjoint_float64(self, case: str, backend: str) -> None:
        op = self.build(case)
        x = self.images(dtype=np.float64)
        y = self.measurements(op, dtype=np.float64)
        if backend == "torch":
            x, y = torch.from_numpy(x), torch.from_numpy(y)
        ax, aty = op.A(x), op.A_adjoint(y)
        assert ax.dtype == x.dtype and aty.dtype == y.dtype
        lhs = float(np.sum(to_numpy(ax) * to_numpy(y)))
        rhs = float(np.sum(to_numpy(x) * to_numpy(aty)))
        # Both sides are float64 sums of the terms y_i A_ij x_j: their rounding is bounded
        # by eps64 · √terms · Σ|y_i A_ij x_j| (far below the contract's 1e-6 relative).
        matrix = np.abs(explicit_matrix(op))
        x_abs, y_abs = np.abs(to_numpy(x)), np.abs(to_numpy(y))
        magnitude = float(np.sum(y_abs.reshape(len(y), -1) @ matrix * x_abs.reshape(len(x), -1)))
        terms = np.count_nonzero(matrix) * len(x)
        bound = 4 * np.finfo(np.float64).eps * math.sqrt(terms) * magnitude
        assert abs(lhs - rhs) <= bound
        assert lhs == pytest.approx(rhs, rel=1e-6)

    # --- (2) autograd ---------------------------------------------------------------------

    def test_adjoint_matches_autograd_vjp(self, case: str) -> None:
        op = self.build(case)
        x = torch.from_numpy(self.images(dtype=np.float64))
        v = torch.from_numpy(self.measurements(op, dtype=np.float64))
        _, vjp = torch.autograd.functional.vjp(op.A, x, v)
        # Both are float64 evaluations of Aᵀv: each within the rounding bound of the exact.
        assert_within(op.A_adjoint(v), vjp, 2 * rounding_bound(op, v, np.float64, adjoint=True))

    def test_gradient_flows_through_operator(self, case: str) -> None:
        op = self.build(case)
        x = torch.from_numpy(self.images()).requires_grad_(True)
        (op.A(x) ** 2).sum().backward()
        assert x.grad is not None and x.grad.shape == x.shape

    def test_vjp_is_adjoint(self, case: str) -> None:
        op = self.build(case)
        x, v = self.images(dtype=np.float64), self.measurements(op, dtype=np.float64)
        np.testing.assert_array_equal(to_numpy(op.vjp(x, v)), to_numpy(op.A_adjoint(v)))
        assert op.image_size == math.prod(op.image_shape)
        assert op.measurement_size == math.prod(op.measurement_shape)

    # --- (3) shapes, dtypes, backends -----------------------------------------------------

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_shapes_dtypes_and_backends_agree(self, case: str, dtype: Any) -> None:
        op = self.build(case)
        x_np = self.images(batch=3, dtype=dtype)
        y_np = self.measurements(op, batch=3, dtype=dtype)
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

    def test_batched_equals_unbatched(self, case: str) -> None:
        op = self.build(case)
        x, y = self.images(batch=3), self.measurements(op, batch=3)
        batched_a, batched_t = op.A(x), op.A_adjoint(y)
        for i in range(3):
            assert_within(batched_a[i : i + 1], op.A(x[i : i + 1]),
                          2 * rounding_bound(op, x[i : i + 1], np.float32), f"A row {i}")
            assert_within(batched_t[i : i + 1], op.A_adjoint(y[i : i + 1]),
                          2 * rounding_bound(op, y[i : i + 1], np.float32, adjoint=True),
                          f"A_adjoint row {i}")

    def test_shape_mismatch_is_rejected(self, case: str) -> None:
        op = self.build(case)
        c, h, w = self.image_shape
        with pytest.raises(ValueError, match="shape"):
            op.A(np.zeros((2, c, h // 2, w // 2), dtype=np.float32))
        with pytest.raises(ValueError, match="shape"):
            op.A_adjoint(np.zeros((2, op.measurement_size + 1), dtype=np.float32))

    @pytest.mark.parametrize("device", DEVICES)
    def test_device_is_preserved(self, case: str, device: str) -> None:
        op = self.build(case)
        x_np = self.images()
        y_np = self.measurements(op)
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

    # --- (4) noise, preview, held-out groups, norm ----------------------------------------

    def test_measure_backends_agree(self, case: str) -> None:
        op = self.build(case)
        x = self.images()
        y_np = op.measure(x, problem_rng(0, 0, Stream.NOISE))
        y_t = op.measure(torch.from_numpy(x), problem_rng(0, 0, Stream.NOISE))
        assert y_np.dtype == np.float32 and y_t.dtype == torch.float32
        expected_noise = np.random.default_rng([0, 0, int(Stream.NOISE)]).standard_normal(
            y_np.shape)
        expected = op.A(x.astype(np.float64)) + op.noise_std * expected_noise
        # rounding of A x, of the noise's cast and product, and of the final sum
        eps = float(np.finfo(np.float32).eps)
        bound = rounding_bound(op, x, np.float32) + 2 * eps * (
            np.abs(expected) + op.noise_std * np.abs(expected_noise))
        assert_within(y_np, expected, bound, "numpy")
        assert_within(y_t, expected, bound, "torch")

    def test_measure_without_noise_is_A(self, case: str) -> None:  # noqa: N802
        spec = self.build(case).spec()
        spec["noise_std"] = 0.0
        op = operator_from_spec(spec, problem_rng(0, 0, Stream.OPERATOR))
        x = self.images()
        np.testing.assert_array_equal(op.measure(x, np.random.default_rng(3)), op.A(x))

    def test_preview_is_an_image_and_describe_a_caption(self, case: str) -> None:
        op = self.build(case)
        y = op.measure(self.images(), np.random.default_rng(4))[0]
        preview = op.preview(y)
        assert preview.shape == op.image_shape and preview.dtype == np.float32
        assert 0 <= preview.min() and preview.max() <= 1 and preview.max() > preview.min()
        assert op.describe() and "\n" not in op.describe()

    def test_measurement_groups_never_let_the_fit_see_a_held_out_value(self, case: str) -> None:
        """A group's entries all move with one image value or none do: whatever changes a
        held-out entry's pixels reaches no entry of another group through A's channels."""
        op = self.build(case)
        groups = op.measurement_groups()
        assert groups.shape == (op.measurement_size,) and groups.dtype == np.int64
        assert (groups >= -1).all() and (groups >= 0).any()
        # Entries the image never reaches (masked out) are exactly those of group -1.
        positive = np.random.default_rng(5).uniform(0.5, 1.0, (1, *op.image_shape))
        reach = np.abs(to_numpy(op.A(positive))).reshape(-1)
        np.testing.assert_array_equal(groups == -1, reach == 0)
        if len(op.measurement_shape) == 3 and op.measurement_shape[0] > 1:
            # Image-shaped y: the channels of one pixel share its group.
            by_pixel = groups.reshape(op.measurement_shape)
            assert (by_pixel == by_pixel[:1]).all()

    def test_norm_estimates(self, case: str) -> None:
        shape = (2, 8, 8)  # small, so that the explicit matrix is cheap
        op = self.build(case, shape=shape)
        explicit = explicit_matrix(op)
        expected = math.sqrt(np.linalg.eigvalsh(explicit.T @ explicit)[-1])
        # Power iteration's convergence (not rounding) sets this tolerance: it stops once
        # the eigenvalue estimate changes by less than 1e-7 relative, or after 100 steps.
        assert op.norm() == pytest.approx(expected, rel=1e-3)

    # --- (5) seeding and the spec ---------------------------------------------------------

    def test_same_seed_same_operator_and_noise(self, case: str) -> None:
        a, b = self.build(case, seed=7), self.build(case, seed=7)
        x = self.images()
        np.testing.assert_array_equal(a.A(x), b.A(x))
        np.testing.assert_array_equal(a.measure(x, problem_rng(7, 0, Stream.NOISE)),
                                      b.measure(x, problem_rng(7, 0, Stream.NOISE)))

    def test_different_seed_different_noise(self, case: str) -> None:
        op = self.build(case)
        x = self.images()
        if op.noise_std == 0:
            op = operator_from_spec({**op.spec(), "noise_std": 0.1},
                                    problem_rng(0, 0, Stream.OPERATOR))
        y1 = op.measure(x, problem_rng(7, 0, Stream.NOISE))
        y2 = op.measure(x, problem_rng(8, 0, Stream.NOISE))
        assert not np.allclose(y1, y2)

    def test_spec_round_trip(self, case: str) -> None:
        op = self.build(case, seed=5)
        spec = op.spec()
        assert spec["task"] == op.task
        restored_spec = json.loads(json.dumps(spec))
        assert restored_spec == spec
        rebuilt = operator_from_spec(restored_spec, problem_rng(5, 0, Stream.OPERATOR))
        assert type(rebuilt) is type(op)
        assert rebuilt.spec() == spec
        x, y = self.images(), self.measurements(op)
        np.testing.assert_array_equal(rebuilt.A(x), op.A(x))
        np.testing.assert_array_equal(rebuilt.A_adjoint(y), op.A_adjoint(y))
