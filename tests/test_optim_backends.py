"""One optimiser, two array libraries: on numpy and on torch it takes the same steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gs.solve.adam import BatchedAdam
from gs.solve.lbfgs import BatchedLBFGS

ROWS, DIM = 4, 10
EPS64 = np.finfo(np.float64).eps


def _convex(xp):
    """Per-row ill-conditioned quadratics ½ Σ q_i (x_i − b_ri)² (float64)."""
    rng = np.random.default_rng(0)
    q = xp.asarray(np.geomspace(0.05, 5.0, DIM))
    b = xp.asarray(rng.standard_normal((ROWS, DIM)))

    def objective(x, idx):
        diff = x - b[idx]
        return 0.5 * (q * diff * diff).sum(1), q * diff

    return objective, np.zeros((ROWS, DIM))


def _rosenbrock(xp):
    """Per-row chained Rosenbrock functions with row-specific curvature a_r (float64)."""
    a = xp.asarray(np.linspace(5.0, 50.0, ROWS))

    def objective(x, idx):
        head, tail = x[:, :-1], x[:, 1:]
        bend = tail - head * head
        ar = a[idx][:, None]
        loss = (ar * bend * bend + (1 - head) ** 2).sum(1)
        grad = xp.zeros_like(x)
        grad[:, :-1] += -4 * ar * bend * head - 2 * (1 - head)
        grad[:, 1:] += 2 * ar * bend
        return loss, grad

    x0 = np.random.default_rng(1).uniform(-1.5, 1.5, (ROWS, DIM))
    return objective, x0


@pytest.mark.parametrize("problem", [_convex, _rosenbrock], ids=["convex", "non-convex"])
@pytest.mark.parametrize("keep_best", [False, True])
@pytest.mark.parametrize("max_eval", [None, 30], ids=["max_eval-default", "max_eval-30"])
def test_strong_wolfe_lbfgs_takes_the_same_steps_on_numpy_and_torch(problem, keep_best, max_eval):
    f_np, x0 = problem(np)
    f_torch, _ = problem(torch)
    # lr = 3 overshoots: the searches bracket and zoom, each row with its own trials.
    kwargs = {"lr": 3.0, "max_iter": 8, "max_eval": max_eval, "history_size": 4,
              "line_search": "strong_wolfe", "keep_best": keep_best, "tolerance_change": 1e-12}
    ours = BatchedLBFGS(**kwargs).minimize(f_np, x0, 3)
    theirs = BatchedLBFGS(**kwargs).minimize(f_torch, torch.as_tensor(x0), 3)
    assert ours.x.dtype == np.float64
    # Same algorithm, same decisions: the only differences are float64 roundings of
    # differently ordered sums (eps·√D ≈ 7e-16 per reduction), amplified over ≤ 3·8
    # iterations by the conditioning (Rosenbrock's valley, κ up to ≈ 1e4: ~1e-11
    # seen). √eps ≈ 1.5e-8 leaves orders of margin, while one trial or step chosen
    # differently would move a row by a step length (≥ 1e-3 here).
    tol = np.sqrt(EPS64)
    scale = 1 + np.abs(theirs.x.numpy()).max()
    np.testing.assert_allclose(ours.x, theirs.x.numpy(), rtol=0, atol=tol * scale)
    np.testing.assert_array_equal(ours.evaluations, theirs.evaluations.numpy())
    np.testing.assert_array_equal(ours.converged, theirs.converged.numpy())
    # The rows searched differently (per-row trial counts), and every one descended.
    assert len(set(ours.evaluations.tolist())) > 1
    start, _ = f_np(x0, np.arange(ROWS))
    end, _ = f_np(ours.x, np.arange(ROWS))
    assert (end < start).all()


def test_unknown_line_search_is_refused():
    with pytest.raises(ValueError, match="line_search"):
        BatchedLBFGS(line_search="armijo")


def _quadratic(xp, rows: int = 4, dim: int = 12):
    """Per-row ill-conditioned quadratics f_r(x) = ½ Σ q_i (x_i − b_ri)², in numpy or torch."""
    rng = np.random.default_rng(0)
    q = np.geomspace(0.1, 3.0, dim).astype(np.float32)
    b = rng.standard_normal((rows, dim)).astype(np.float32)
    q_, b_ = xp.asarray(q), xp.asarray(b)

    def objective(x, idx):
        diff = x - b_[idx]
        return 0.5 * (q_ * diff * diff).sum(1), q_ * diff

    return objective, np.zeros((rows, dim), np.float32)


@pytest.mark.parametrize("keep_best", [True, False])
def test_float32_lbfgs_takes_the_same_steps_on_numpy_and_torch(keep_best):
    f_np, x0 = _quadratic(np)
    f_torch, _ = _quadratic(torch)
    kwargs = {"lr": 0.5, "max_iter": 4, "history_size": 3, "rtol": 1e-3, "keep_best": keep_best}
    ours = BatchedLBFGS(**kwargs).minimize(f_np, x0, 3)
    theirs = BatchedLBFGS(**kwargs).minimize(f_torch, torch.as_tensor(x0), 3)
    np.testing.assert_allclose(ours.x, theirs.x.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours.evaluations, theirs.evaluations.numpy())


def test_float32_adam_takes_the_same_steps_on_numpy_and_torch():
    f_np, x0 = _quadratic(np)
    f_torch, _ = _quadratic(torch)
    ours = BatchedAdam(lr=0.1, keep_best=True).minimize(f_np, x0, 30)
    theirs = BatchedAdam(lr=0.1, keep_best=True).minimize(f_torch, torch.as_tensor(x0), 30)
    np.testing.assert_allclose(ours.x, theirs.x.numpy(), rtol=1e-5, atol=1e-6)
