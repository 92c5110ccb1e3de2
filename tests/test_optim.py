"""Batched optimisers: every row equals torch's optimiser run on that row alone.

The optimisers are written once over the array API; every test runs them on torch
tensors and on numpy arrays (the onnxruntime backend's), the objective computed by torch
either way, so both must reproduce torch's own optimiser.
"""

from __future__ import annotations

import pytest
import torch

from gs.solve.adam import BatchedAdam
from gs.solve.lbfgs import BatchedLBFGS
from gs.testing.reference import torch_lbfgs

ROWS, DIM, MEAS = 4, 30, 20


@pytest.fixture(params=["torch", "numpy"])
def backend(request):
    """Rows as torch tensors or numpy arrays: ``(to_rows, to_torch)``."""
    if request.param == "torch":
        return (lambda t: t), (lambda x: x)
    return (lambda t: t.detach().numpy()), torch.as_tensor


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


def _on(backend, objective):
    """``objective`` (torch) answering in the backend's arrays."""
    to_rows, to_torch = backend

    def wrapped(x, idx):
        return tuple(to_rows(out) for out in objective(to_torch(x), to_torch(idx)))

    return wrapped


@pytest.mark.parametrize("lr,history", [(0.5, 7), (1.0, 100)])
def test_batched_lbfgs_equals_torch_lbfgs_row_by_row(backend, lr, history):
    single, objective, x0 = _problem()
    to_rows, to_torch = backend
    result = BatchedLBFGS(lr=lr, max_iter=20, history_size=history).minimize(
        _on(backend, objective), to_rows(x0), 5)
    result.x = to_torch(result.x)
    for i in range(ROWS):
        p, evals = torch_lbfgs(lambda p, i=i: single(p, i), x0[i], 5,
                               lr=lr, max_iter=20, history_size=history)
        torch.testing.assert_close(result.x[i], p, atol=1e-8, rtol=1e-6)
        # torch re-evaluates a converged row at every later step; the batch does not.
        assert int(result.evaluations[i]) <= evals


def test_batched_adam_equals_torch_adam(backend):
    single, objective, x0 = _problem(1)
    to_rows, to_torch = backend
    result = BatchedAdam(lr=0.05).minimize(_on(backend, objective), to_rows(x0), 40)
    result.x = to_torch(result.x)
    for i in range(ROWS):
        p = x0[i].clone().requires_grad_(True)
        opt = torch.optim.Adam([p], lr=0.05)
        for _ in range(40):
            opt.zero_grad()
            single(p, i).backward()
            opt.step()
        torch.testing.assert_close(result.x[i], p.detach(), atol=1e-10, rtol=1e-8)


def test_early_stop_saves_evaluations_and_keeps_the_solution(backend):
    single, objective, x0 = _problem(2, dim=10, meas=60)
    to_rows, to_torch = backend
    objective = _on(backend, objective)
    full = BatchedLBFGS(lr=0.1, max_iter=10).minimize(objective, to_rows(x0), 40)
    early = BatchedLBFGS(lr=0.1, max_iter=10, rtol=1e-3).minimize(objective, to_rows(x0), 40)
    assert early.evaluations.sum() < full.evaluations.sum()
    assert early.converged.all()
    for i in range(ROWS):
        assert single(to_torch(early.x)[i], i) <= single(to_torch(full.x)[i], i) * 1.001 + 1e-6


def test_rows_do_not_interact(backend):
    single, objective, x0 = _problem(3)
    to_rows, to_torch = backend
    together = BatchedLBFGS(lr=1.0, rtol=1e-5).minimize(_on(backend, objective), to_rows(x0), 6)

    def objective_row(i):
        return _on(backend, lambda x, idx: objective(x, idx + i))

    for i in range(ROWS):
        alone = BatchedLBFGS(lr=1.0, rtol=1e-5).minimize(objective_row(i),
                                                         to_rows(x0[i : i + 1]), 6)
        torch.testing.assert_close(to_torch(together.x)[i], to_torch(alone.x)[0], atol=1e-10,
                                   rtol=1e-8)
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
def test_keep_best_returns_the_lowest_loss_point_visited(backend, optimizer):
    single, objective, x0 = _problem(4)
    to_rows, to_torch = backend
    wrapped, seen = _recording(objective)
    best = optimizer.minimize(_on(backend, wrapped), to_rows(x0), 6)
    optimizer.keep_best = False
    last = optimizer.minimize(_on(backend, objective), to_rows(x0), 6)
    optimizer.keep_best = True
    best.x, last.x = to_torch(best.x), to_torch(last.x)
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
def test_a_row_that_overflows_stops_and_keeps_its_last_finite_point(backend, make):
    single, objective, x0 = _problem(5)
    to_rows, to_torch = backend

    def overflowing(x, idx):
        loss, grad = objective(x, idx)
        # Row 0 overflows once it has moved away from its start.
        moved = (idx == 0) & ((x - x0[idx]).abs().amax(dim=1) > 0)
        return torch.where(moved, float("nan"), loss), grad

    result = make().minimize(_on(backend, overflowing), to_rows(x0), 4)
    result.x = to_torch(result.x)
    assert torch.isfinite(result.x).all()
    torch.testing.assert_close(result.x[0], x0[0])
    assert bool(result.converged[0]) and int(result.evaluations[0]) <= 3
    for i in range(1, ROWS):
        assert float(single(result.x[i], i)) < float(single(x0[i], i))


@pytest.mark.parametrize("lr,history,max_iter", [(1.0, 100, 20), (0.3, 5, 7)])
def test_strong_wolfe_lbfgs_equals_torch_row_by_row(backend, lr, history, max_iter):
    single, objective, x0 = _problem(6)
    to_rows, to_torch = backend
    wrapped, seen = _recording(objective)
    result = BatchedLBFGS(lr=lr, max_iter=max_iter, history_size=history,
                          line_search="strong_wolfe").minimize(_on(backend, wrapped),
                                                               to_rows(x0), 4)
    result.x = to_torch(result.x)
    trials = []
    for i in range(ROWS):
        p, evals = torch_lbfgs(lambda p, i=i: single(p, i), x0[i], 4, lr=lr,
                               max_iter=max_iter, history_size=history,
                               line_search_fn="strong_wolfe")
        torch.testing.assert_close(result.x[i], p, atol=1e-8, rtol=1e-6)
        # torch evaluates again at the start of every step where the batch knows the
        # point already: at most one evaluation more per step.
        assert evals - 4 <= int(result.evaluations[i]) <= evals
        trials.append(int(result.evaluations[i]))
    # Without a tight max_eval, rows take different numbers of trials, evaluated together.
    if max_iter == 20:
        assert len(set(trials)) > 1
    assert sum(len(v) for v in seen.values()) == sum(trials)


def _noisy_fit_with_heldout(seed: int = 7, dim: int = 40, fit: int = 30, held: int = 30):
    """Rows of an under-determined noisy least-squares fit, scored on clean held-out rows.

    Fitting the noise moves x away from the truth, so each row's held-out residual
    falls, reaches its lowest value and rises again along the optimisation path.
    """
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(ROWS, fit + held, dim, generator=gen, dtype=torch.float64) / dim**0.5
    truth = torch.randn(ROWS, dim, generator=gen, dtype=torch.float64)
    b = torch.einsum("rmd,rd->rm", a, truth)
    b[:, :fit] += 0.5 * torch.randn(ROWS, fit, generator=gen, dtype=torch.float64)

    def objective(x, idx):
        residual = torch.einsum("rmd,rd->rm", a[idx], x) - b[idx]
        loss = residual[:, :fit].pow(2).mean(dim=1)
        grad = 2 * torch.einsum("rmd,rm->rd", a[idx, :fit], residual[:, :fit]) / fit
        return loss, grad, residual[:, fit:].pow(2).mean(dim=1)

    return objective, torch.zeros(ROWS, dim, dtype=torch.float64)


@pytest.mark.parametrize("line_search", ["none", "strong_wolfe"])
def test_heldout_stop_ends_each_row_at_its_lowest_heldout_residual(backend, line_search):
    objective, x0 = _noisy_fit_with_heldout()
    to_rows, to_torch = backend
    visited: dict[int, list[tuple[float, torch.Tensor]]] = {}

    def recording(x, idx):
        loss, grad, score = objective(x, idx)
        for i, s, point in zip(idx.tolist(), score.tolist(), x):
            visited.setdefault(i, []).append((s, point.clone()))
        return loss, grad, score

    steps, max_iter = 30, 3
    result = BatchedLBFGS(lr=0.5, max_iter=max_iter, line_search=line_search, rtol=1e-9,
                          patience=2, keep_best=True).minimize(_on(backend, recording),
                                                               to_rows(x0), steps)
    result.x = to_torch(result.x)
    for i in range(ROWS):
        scores = [s for s, _ in visited[i]]
        lowest = min(range(len(scores)), key=scores.__getitem__)
        # The held-out residual turned up again: the lowest point is interior...
        assert scores[-1] > scores[lowest] * 1.05
        # ...the row ends exactly there, and stopped soon after (patience 2 steps).
        torch.testing.assert_close(result.x[i], visited[i][lowest][1], rtol=0, atol=0)
        assert float(result.score[i]) == scores[lowest]
        assert bool(result.converged[i])
        assert len(scores) < steps * max_iter
    # Fitting every entry to the end reaches a lower training loss but a worse held-out one.
    full = BatchedLBFGS(lr=0.5, max_iter=max_iter, line_search=line_search).minimize(
        objective, x0, steps)
    fit_loss, _, held_score = objective(full.x, torch.arange(ROWS))
    fit_stopped, _, held_stopped = objective(result.x, torch.arange(ROWS))
    assert (held_stopped < held_score).all() and (fit_stopped > fit_loss).all()


def test_the_solver_imports_nothing_of_gs_outside_itself():
    import pkgutil
    import subprocess
    import sys

    import gs.solve

    modules = [f"gs.solve.{m.name}" for m in pkgutil.iter_modules(gs.solve.__path__)]
    code = (f"import sys, {', '.join(modules)}; "
            "print(sorted(m for m in sys.modules if m.startswith('gs.') "
            "and not m.startswith('gs.solve')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
