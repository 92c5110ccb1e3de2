"""Batched optimisers: every row equals torch's optimiser run on that row alone."""

from __future__ import annotations

import pytest
import torch

from gs.optim import BatchedAdam, BatchedLBFGS

ROWS, DIM, MEAS = 4, 30, 20


def _problem(seed: int = 0, dim: int = DIM, meas: int = MEAS):
    """Rows of ``mean((a_i tanh(x) - b_i)²)``; ``meas > dim`` leaves a non-zero floor."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(ROWS, meas, dim, generator=gen, dtype=torch.float64)
    b = torch.randn(ROWS, meas, generator=gen, dtype=torch.float64)
    x0 = torch.randn(ROWS, dim, generator=gen, dtype=torch.float64)

    def single(x, i):
        return ((a[i] @ torch.tanh(x) - b[i]) ** 2).mean()

    def objective(x, idx):
        x = x.detach().requires_grad_(True)
        losses = torch.stack([single(x[j], int(i)) for j, i in enumerate(idx)])
        (grad,) = torch.autograd.grad(losses.sum(), x)
        return losses.detach(), grad

    return single, objective, x0


@pytest.mark.parametrize("lr,history", [(0.5, 7), (1.0, 100)])
def test_batched_lbfgs_equals_torch_lbfgs_row_by_row(lr, history):
    single, objective, x0 = _problem()
    result = BatchedLBFGS(lr=lr, max_iter=20, history_size=history).minimize(objective, x0, 5)
    for i in range(ROWS):
        p = x0[i].clone().requires_grad_(True)
        opt = torch.optim.LBFGS([p], lr=lr, max_iter=20, history_size=history)

        def closure(p=p, opt=opt, i=i):
            opt.zero_grad()
            loss = single(p, i)
            loss.backward()
            return loss

        for _ in range(5):
            opt.step(closure)
        torch.testing.assert_close(result.x[i], p.detach(), atol=1e-8, rtol=1e-6)
        # torch re-evaluates a converged row at every later step; the batch does not.
        assert int(result.evaluations[i]) <= opt.state[p]["func_evals"]


def test_batched_adam_equals_torch_adam():
    single, objective, x0 = _problem(1)
    result = BatchedAdam(lr=0.05).minimize(objective, x0, 40)
    for i in range(ROWS):
        p = x0[i].clone().requires_grad_(True)
        opt = torch.optim.Adam([p], lr=0.05)
        for _ in range(40):
            opt.zero_grad()
            single(p, i).backward()
            opt.step()
        torch.testing.assert_close(result.x[i], p.detach(), atol=1e-10, rtol=1e-8)


def test_early_stop_saves_evaluations_and_keeps_the_solution():
    single, objective, x0 = _problem(2, dim=10, meas=60)
    full = BatchedLBFGS(lr=0.1, max_iter=10).minimize(objective, x0, 40)
    early = BatchedLBFGS(lr=0.1, max_iter=10, rtol=1e-3).minimize(objective, x0, 40)
    assert early.evaluations.sum() < full.evaluations.sum()
    assert early.converged.all()
    for i in range(ROWS):
        assert single(early.x[i], i) <= single(full.x[i], i) * 1.001 + 1e-6


def test_rows_do_not_interact():
    single, objective, x0 = _problem(3)
    together = BatchedLBFGS(lr=1.0, rtol=1e-5).minimize(objective, x0, 6)

    def objective_row(i):
        return lambda x, idx: objective(x, idx + i)

    for i in range(ROWS):
        alone = BatchedLBFGS(lr=1.0, rtol=1e-5).minimize(objective_row(i), x0[i : i + 1], 6)
        torch.testing.assert_close(together.x[i], alone.x[0], atol=1e-10, rtol=1e-8)
        assert together.evaluations[i] == alone.evaluations[0]


def _recording(objective):
    """Wrap ``objective`` so that every evaluated (row, loss) is kept."""
    seen: dict[int, list[float]] = {}

    def wrapped(x, idx):
        loss, grad = objective(x, idx)
        for i, value in zip(idx.tolist(), loss.tolist()):
            seen.setdefault(i, []).append(value)
        return loss, grad

    return wrapped, seen


@pytest.mark.parametrize("optimizer", [
    BatchedLBFGS(lr=3.0, max_iter=10, keep_best=True),  # steps too long: loss goes up
    BatchedAdam(lr=0.8, keep_best=True),
])
def test_keep_best_returns_the_lowest_loss_point_visited(optimizer):
    single, objective, x0 = _problem(4)
    wrapped, seen = _recording(objective)
    best = optimizer.minimize(wrapped, x0, 6)
    optimizer.keep_best = False
    last = optimizer.minimize(objective, x0, 6)
    optimizer.keep_best = True
    uphill = 0
    for i in range(ROWS):
        final = float(single(best.x[i], i))
        # The returned point is the best evaluated one, final point included.
        assert final == pytest.approx(min(seen[i]), rel=1e-12)
        assert final <= float(single(last.x[i], i)) + 1e-12
        uphill += float(single(last.x[i], i)) > final * 1.01
    assert uphill > 0, "the test problem must make the last iterate worse than the best"


@pytest.mark.parametrize("make", [lambda: BatchedLBFGS(lr=0.5, max_iter=5, keep_best=True),
                                  lambda: BatchedAdam(lr=0.05, keep_best=True)])
def test_a_row_that_overflows_stops_and_keeps_its_last_finite_point(make):
    single, objective, x0 = _problem(5)

    def overflowing(x, idx):
        loss, grad = objective(x, idx)
        # Row 0 overflows once it has moved away from its start.
        moved = (idx == 0) & ((x - x0[idx]).abs().amax(dim=1) > 0)
        return torch.where(moved, float("nan"), loss), grad

    result = make().minimize(overflowing, x0, 4)
    assert torch.isfinite(result.x).all()
    torch.testing.assert_close(result.x[0], x0[0])
    assert bool(result.converged[0]) and int(result.evaluations[0]) <= 3
    for i in range(1, ROWS):
        assert float(single(result.x[i], i)) < float(single(x0[i], i))
