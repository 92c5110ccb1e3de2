"""The answer rule's TV fits: warm-started, float32, the operator norm computed once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gs.methods import build_method
from gs.methods.answer import AnswerRule, choose
from gs.methods.presets import TVCSSettings
from gs.problems import OperatorOptions, simulated_problem
from gs.stages import held_out

EPS32 = float(np.finfo(np.float32).eps)


def face_like(seed: int = 0) -> np.ndarray:
    """(3, 16, 16) piecewise-smooth image in [0.05, 0.95]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, 16), np.linspace(0, 1, 16), indexing="ij")
    image = np.stack([0.3 + 0.4 * (xx > rng.uniform(0.3, 0.7)) + 0.2 * yy for _ in range(3)])
    return np.clip(image, 0.05, 0.95).astype(np.float32)


def cs_problem(seed: int = 0, ratio: float = 0.4):
    return simulated_problem(Path("x.png"), seed, face_like(seed),
                             OperatorOptions("cs", ratio=ratio), seed=0)


def test_the_operator_norm_is_estimated_once_and_stays_the_same():
    op = cs_problem().operator
    first = op.norm()
    calls = []
    original = op.A_adjoint
    op.A_adjoint = lambda y: calls.append(1) or original(y)
    assert op.norm() == first and not calls  # no second power iteration
    assert op.norm(iterations=5) != first or calls  # another estimate is computed anew
    explicit = float(np.linalg.norm(op.matrix.astype(np.float64), 2))
    assert first == pytest.approx(explicit, rel=1e-3)


def test_warm_tv_from_the_converged_answer_stays_there():
    """Started at the converged TV answer (3000 cold steps on this small problem), the
    warm fits stay within 1e-3 of it (60 dB: FISTA's momentum restarts there, so the
    iterates move a little before they settle), while the fits with and without the
    held-out entries are far more apart than that."""
    from gs.methods.classical import TVLeastSquares

    p = cs_problem()
    tv = build_method("tv-cs", task="cs")
    converged = TVLeastSquares(TVCSSettings(iterations=3000))
    held = held_out(p.operator, 0.1, 0, p.index)
    fit, full = converged.answer_without(p, held), converged.solve([p])[0].image
    assert np.abs(tv.answer_without(p, held, start=fit) - fit).max() <= 1e-3
    assert np.abs(tv.answer_from(p, full) - full).max() <= 1e-3
    assert np.abs(fit - full).max() > 1e-2
    # from Aᵀy, as many steps as the warm fit takes land much farther away
    cold_short = TVLeastSquares(TVCSSettings(iterations=tv.settings.warm_iterations))
    assert np.abs(cold_short.answer_without(p, held) - fit).max() > 1e-2


def test_warm_iteration_counts_are_settings_and_are_checked():
    from gs.errors import UserInputError

    settings = TVCSSettings()
    assert (settings.iterations, settings.warm_iterations, settings.refine_iterations) == (
        200, 100, 25)
    assert settings.to_json()["warm_iterations"] == 100
    with pytest.raises(UserInputError, match="refine_iterations must be an integer ≥ 1, got 0"):
        TVCSSettings(refine_iterations=0)


def test_the_rule_starts_tv_at_the_generators_image_and_returns_tv_itself_at_beta_0(
        monkeypatch):
    p = cs_problem(1)
    classical = build_method("classical", task="cs")
    held = held_out(p.operator, 0.1, 0, p.index)
    starts = []
    original = classical.inner.answer_without

    def spy(problem, held_entries, start=None):
        starts.append(start)
        return original(problem, held_entries, start)

    monkeypatch.setattr(classical.inner, "answer_without", spy)
    noise = np.random.default_rng(1).random(p.truth.shape).astype(np.float32)
    rule = AnswerRule("held_out", "convex", (0.5, 1.0), 0.0)
    image, why = choose(p, noise, classical, held, rule, seed=0)
    assert starts and starts[0] is noise
    assert why["answer"] == "classical"
    np.testing.assert_allclose(image, classical.solve([p])[0].image, atol=1e-6)


def test_the_images_of_a_batch_are_answered_on_threads_as_one_by_one(monkeypatch):
    """The held-out choice of several images runs on a thread pool; each image's answer
    is the one it gets alone, bit for bit (nothing is shared between them)."""
    import os

    from gs.results import Recovery

    problems = [cs_problem(i) for i in range(3)]
    rule = AnswerRule("held_out", "convex", (0.5, 1.0), 0.0)

    def fits():
        out = []
        for p in problems:
            held = held_out(p.operator, 0.1, 0, p.index)
            image = np.clip(p.truth + 0.05, 0, 1).astype(np.float32)
            out.append(Recovery(image=image, measurement_loss=0.0, seconds=0.0, held_out=held))
        return out

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    threaded = rule.answers(problems, fits, 0, {})
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    alone = rule.answers(problems, fits, 0, {})
    for a, b in zip(threaded, alone):
        np.testing.assert_array_equal(a.image, b.image)
        assert a.details == b.details
