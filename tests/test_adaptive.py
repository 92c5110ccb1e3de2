"""The best-quality candidates: held-out stop, wall-clock budget, ONNX refused."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from gs.artifacts import load
from gs.errors import UserInputError
from gs.methods.adaptive import (
    DEFAULT_CANDIDATES,
    AdaptiveSettings,
    adaptive_candidates,
    project_on_fitted,
)
from gs.methods.answer import held_out_score
from gs.operators import GaussianCS
from gs.problems import Problem
from gs.results import Recovery

M, SIGMA, START_OFFSET = 600, 0.2, 1.5


def constructed(artifact_path: Path):
    """A problem whose truth the tiny generator makes, y noisy enough that fitting half of
    it longer overfits, and a "defaults'" recovery whose latent is the truth's moved away.

    Returns (artifact, problem, recovery)."""
    art = load(artifact_path, "cpu")
    rng = np.random.default_rng(0)
    h_true = rng.standard_normal((1, *art.spec.shapes[0])).astype(np.float32)
    start = h_true[0] + START_OFFSET * rng.standard_normal(h_true.shape[1:]).astype(np.float32)
    with torch.no_grad():
        truth = art.generator(torch.as_tensor(h_true))[0].numpy()
        image = art.generator(torch.as_tensor(start[None]))[0].numpy()
    operator = GaussianCS(M, truth.shape, rng, noise_std=SIGMA)
    y = operator.measure(truth[None], rng)[0]
    held = np.zeros(M, dtype=bool)
    held[rng.choice(M, M // 2, replace=False)] = True
    problem = Problem(Path("constructed"), 0, operator, y, truth=truth)
    recovery = Recovery(image=image, measurement_loss=0.0, seconds=0.0, latents=[start],
                        held_out=held)
    return art, problem, recovery


def selection_bound(best: float, k: int, sigma: float, z: float = 4.0) -> float:
    """The largest per-measurement error u = ‖e‖²/m an iterate chosen by its held-out
    residual can have, when the lowest along the trajectory is ``best``.

    The fit never sees the k held-out rows (a_i, ε_i), a_i ~ N(0, I/m), so for every
    iterate (error e, u = ‖e‖²/m) its held-out residual is q − 2c + ν with
    q = mean (a_i·e)² ~ u·χ²_k/k, c = mean ε_i a_i·e ~ N(0, σ²u/k) and ν = mean ε_i²
    the same for every iterate. Within z standard deviations, |q/u − 1| ≤ δ = z√(2/k)
    and |c| ≤ t√u with t = zσ/√k. The chosen iterate's residual is at most the best
    one's: u(1 − δ) − 2t√u ≤ best(1 + δ) + 2t√best =: R, so
    √u ≤ (t + √(t² + (1 − δ)R)) / (1 − δ).
    """
    delta = z * math.sqrt(2 / k)
    t = z * sigma / math.sqrt(k)
    bound = best * (1 + delta) + 2 * t * math.sqrt(best)
    return ((t + math.sqrt(t * t + (1 - delta) * bound)) / (1 - delta)) ** 2


def trajectory_of(art, problem, recovery, settings):
    """The candidate and the image of every iterate it scored (the start, then the
    parameters after every step, as its step events render them)."""
    images = [recovery.image]
    (candidate,) = adaptive_candidates(
        art, problem, recovery, budget_seconds=600, seed=0, names=("adaptive-surgery",),
        settings=settings, on_step=lambda event: images.append(event.current()[0]))
    return candidate, images


def test_held_out_stop_returns_the_held_out_minimum(tiny_artifacts, one_thread):
    art, problem, recovery = constructed(tiny_artifacts[1])
    held = recovery.held_out
    fit = AdaptiveSettings(latent_lr=1e-2, weights_lr=1e-4, patience=20, max_steps=150)
    # Without the held-out stop the fit overfits: the truth's error falls, then rises.
    _, full = trajectory_of(art, problem, recovery, replace(fit, patience=10**6))
    errors = [float(np.sum((image - problem.truth) ** 2)) / M for image in full]
    assert int(np.argmin(errors)) < len(errors) // 2 and errors[-1] > 1.5 * min(errors)

    candidate, seen = trajectory_of(art, problem, recovery, fit)
    scores = [held_out_score(problem, image, held) for image in seen]
    chosen = int(np.argmin(scores))
    assert candidate.stopped_by == "held-out" and candidate.steps < fit.max_steps
    assert len(seen) == candidate.steps + 1
    assert candidate.steps - chosen >= fit.patience  # it waited ``patience`` steps, no more
    assert candidate.steps - chosen <= fit.patience + 1
    assert candidate.held_out_score == pytest.approx(scores[chosen], rel=1e-4)
    np.testing.assert_allclose(candidate.image, seen[chosen], atol=1e-5)
    assert candidate.held_out_score < held_out_score(problem, recovery.image, held)
    truth_error = float(np.sum((candidate.image - problem.truth) ** 2)) / M
    assert truth_error <= selection_bound(min(errors), int(held.sum()), SIGMA)
    assert truth_error < errors[-1]  # and it is not the overfitted end


#: A small DIP for the 16 px constructed problem (two scales leave its deepest at 4 px).
DIP = AdaptiveSettings(dip_scales=(16, 16), dip_input_depth=8, dip_patience=30, max_steps=200)


def dip_trajectory(art, problem, recovery, settings):
    """The dip candidate and the image it scored at every step (its step events show
    that image: the output for the step's perturbed input)."""
    images = []
    (candidate,) = adaptive_candidates(
        art, problem, recovery, budget_seconds=600, seed=0, names=("dip",), settings=settings,
        on_step=lambda event: images.append(event.current()[0]))
    return candidate, images


def test_dip_held_out_stop_returns_the_held_out_minimum(tiny_artifacts, one_thread):
    art, problem, recovery = constructed(tiny_artifacts[1])
    held = recovery.held_out
    # Without the held-out stop DIP fits the noise: the truth's error falls, then rises.
    _, full = dip_trajectory(art, problem, recovery, replace(DIP, dip_patience=10**6))
    errors = [float(np.sum((image - problem.truth) ** 2)) / M for image in full]
    assert 0 < int(np.argmin(errors)) < len(errors) // 2 and errors[-1] > 1.5 * min(errors)

    candidate, seen = dip_trajectory(art, problem, recovery, DIP)
    scores = [held_out_score(problem, image, held) for image in seen]
    chosen = int(np.argmin(scores))
    assert candidate.stopped_by == "held-out" and len(seen) == candidate.steps < DIP.max_steps
    assert candidate.steps - 1 - chosen == DIP.dip_patience  # image i is scored at step i + 1
    assert candidate.held_out_score == pytest.approx(scores[chosen], rel=1e-4)
    np.testing.assert_allclose(candidate.image, seen[chosen], atol=1e-5)
    truth_error = float(np.sum((candidate.image - problem.truth) ** 2)) / M
    assert truth_error <= selection_bound(min(errors), int(held.sum()), SIGMA)
    assert truth_error < errors[-1]  # and it is not the overfitted end


@pytest.mark.parametrize("name, overrun", [("adaptive-surgery", 2), ("dip", 2), ("dip-warm", 3)])
def test_budget_is_respected(tiny_artifacts, one_thread, name, overrun):
    art, problem, recovery = constructed(tiny_artifacts[1])
    settings = replace(DIP, patience=10**6, dip_patience=10**6, max_steps=10**6,
                       dip_channels=(8, 8), dip_warm_steps=20)
    budget = 0.3
    times = []
    (candidate,) = adaptive_candidates(art, problem, recovery, budget_seconds=budget, seed=0,
                                       names=(name,), settings=settings,
                                       on_step=lambda _: times.append(time.perf_counter()))
    assert candidate.name == name and candidate.stopped_by == "budget"
    assert candidate.steps == len(times) >= 2
    one_step = float(np.max(np.diff(times)))
    # the rule stops when a step and the final evaluation (one forward, at most a step's
    # cost) would overrun: so at most the longest step and that evaluation past the budget
    # (dip-warm: a step of its warm-up too)
    assert candidate.seconds <= budget + overrun * one_step


def test_the_default_candidates_share_the_budget(tiny_artifacts, one_thread):
    art, problem, recovery = constructed(tiny_artifacts[1])
    settings = replace(DIP, patience=10**6, dip_patience=10**6, max_steps=10**6)
    events = []
    candidates = adaptive_candidates(
        art, problem, recovery, budget_seconds=1.0, seed=0, settings=settings,
        on_step=lambda event: events.append((event.stage, time.perf_counter())))
    assert tuple(c.name for c in candidates) == DEFAULT_CANDIDATES == ("adaptive-surgery", "dip")
    assert {stage for stage, _ in events} == {0, 1}
    one_step = {stage: float(np.max(np.diff([t for s, t in events if s == stage])))
                for stage in (0, 1)}
    for candidate in candidates:
        assert candidate.stopped_by == "budget"
        assert candidate.image.shape == problem.truth.shape
        assert candidate.image.dtype == np.float32
        assert 0 <= candidate.image.min() and candidate.image.max() <= 1
    # each overruns its share by at most a step and its final evaluation
    assert sum(c.seconds for c in candidates) <= 1.0 + 2 * one_step[0] + 2 * one_step[1]


def test_onnx_artifact_refused(onnx_c2):
    art = load(onnx_c2, "cpu")
    recovery = Recovery(image=np.zeros((3, 16, 16), np.float32), measurement_loss=0.0,
                        seconds=0.0, latents=[np.zeros(s, np.float32) for s in art.spec.shapes],
                        held_out=np.zeros(10, bool))
    problem = Problem(Path("x"), 0, GaussianCS(10, (3, 16, 16), np.random.default_rng(0)),
                      np.zeros(10, np.float32))
    refusal = r"artifact .*tiny_c2\.onnx is an ONNX artifact.*TorchScript \(\.pt\)"
    with pytest.raises(UserInputError, match=refusal):
        adaptive_candidates(art, problem, recovery, budget_seconds=1, seed=0)


def test_recovery_without_held_out_refused(tiny_artifacts):
    art, problem, recovery = constructed(tiny_artifacts[1])
    recovery.held_out = None
    with pytest.raises(UserInputError, match="held-out"):
        adaptive_candidates(art, problem, recovery, budget_seconds=1, seed=0)


def test_back_projection_matches_the_fitted_entries_only():
    rng = np.random.default_rng(0)
    operator = GaussianCS(60, (3, 8, 8), rng, noise_std=0.0)
    truth = rng.uniform(0.3, 0.7, (3, 8, 8)).astype(np.float32)
    y = operator.A(truth[None])[0]
    held = np.zeros(60, dtype=bool)
    held[:20] = True
    problem = Problem(Path("x"), 0, operator, y, truth=truth)
    image = np.full_like(truth, 0.5)
    projected = project_on_fitted(problem, image, held)
    before, after = (operator.A(x[None].astype(np.float64))[0] - y for x in (image, projected))
    assert np.abs(after[~held]).max() < 1e-3 * np.abs(before[~held]).max()
    assert np.abs(after[held]).max() > 0.1 * np.abs(before[held]).max()  # not fitted


def test_recovery_of_another_cut_refused(tiny_artifacts):
    art, problem, recovery = constructed(tiny_artifacts[1])
    recovery.latents = [np.zeros(s, np.float32) for s in load(tiny_artifacts[2]).spec.shapes]
    with pytest.raises(UserInputError, match="same artifact"):
        adaptive_candidates(art, problem, recovery, budget_seconds=1, seed=0)


def test_dip_networks_refuse_sides_their_scales_do_not_divide_in_one_sentence():
    from gs.methods.dip import DeepImagePrior, check_sides

    check_sides((3, 64, 32), 5, "DIP")
    with pytest.raises(UserInputError, match=r"is 40x48 pixels; DIP with 4 scales needs sides "
                                             r"divisible by 16$") as caught:
        check_sides((1, 48, 40), 4, "DIP")
    assert caught.value.field == "size"
    operator = GaussianCS(20, (1, 40, 40), np.random.default_rng(0))
    p = Problem(Path("odd.png"), 0, operator, np.zeros(20, np.float32))
    with pytest.raises(UserInputError, match="DIP with 5 scales needs sides divisible by 32"):
        DeepImagePrior().solve_one(p, seed=0)
