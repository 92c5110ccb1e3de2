"""The answer surgery returns: the classical one, the generator's, or a blend, and why."""

from __future__ import annotations

import json
import math
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from gs.errors import UserInputError
from gs.methods import build_method
from gs.methods.answer import (
    GENERATOR_IMAGE,
    AnswerRule,
    choose,
    held_out_score,
    sure_score,
)
from gs.methods.answer_choice import (
    paired_lead,
    significant_lead,
    significant_leads,
    surest_candidate,
    winning_candidate,
)
from gs.methods.base import Method, answer
from gs.metrics import psnr
from gs.params import declared_params
from gs.problems import OperatorOptions, simulated_problem
from gs.settings import ANSWERS, InversionSettings, recommended_settings
from gs.stages import held_out

SHAPE = (3, 16, 16)


def smooth(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, np.pi, 16), np.linspace(0, np.pi, 16), indexing="ij")
    image = np.stack([0.5 + 0.25 * np.cos(yy * rng.integers(1, 3) + k) * np.sin(xx + k)
                      for k in range(3)])
    return np.clip(image, 0.05, 0.95).astype(np.float32)


def problem(task: str, index: int = 0, **options):
    return simulated_problem(Path("x.png"), index, smooth(index), OperatorOptions(task, **options),
                             seed=0)


def settings(**changes) -> InversionSettings:
    return InversionSettings(holdout=0.1, answer="held_out", **changes)


def rule(**changes) -> AnswerRule:
    return AnswerRule.from_settings(settings(**changes))


def test_each_task_returns_what_was_measured_best():
    cs, inpaint = recommended_settings("cs", 1), recommended_settings("inpaint", 1)
    assert (cs.answer, cs.blend, cs.answer_margin) == ("held_out", "convex", 0.1)
    assert cs.blend_weights == tuple(k / 8 for k in range(1, 9))
    assert (inpaint.answer, inpaint.blend, inpaint.blend_weights, inpaint.answer_margin) == (
        "held_out", "detail", (0.125, 0.25), 0.25)
    assert recommended_settings("sr", 1).answer == "classical"
    assert recommended_settings("denoise", 1).answer == "classical"
    assert recommended_settings("raw", 1).answer == "generator"
    paper = InversionSettings()  # the library's plain settings: the generator's image
    assert paper.answer == "generator"
    with pytest.raises(UserInputError, match="answer needs holdout"):
        InversionSettings(answer="held_out")
    with pytest.raises(UserInputError, match="blend must be one of"):
        settings(blend="median")
    with pytest.raises(UserInputError, match=r"blend_weights must list numbers in \(0, 1\]"):
        settings(blend_weights=(0.0,))
    round_trip = InversionSettings.from_json(cs.to_json())
    assert round_trip == cs


@pytest.mark.parametrize("task, options", [("cs", {"ratio": 0.3}),
                                           ("inpaint", {"keep": 0.3})])
def test_a_perfect_generator_is_returned_and_a_useless_one_is_not(task, options):
    p = problem(task, **options)
    held = held_out(p.operator, 0.1, 0, p.index)
    classical = build_method("classical", task=task)
    blend = "convex" if task == "cs" else "detail"
    rules = rule(blend=blend, blend_weights=(0.5, 1.0))
    image, why = choose(p, p.truth, classical, held, rules, seed=0)
    assert why["weight"] > 0 and why["answer"] in ("generator", "blend")
    assert min(why["scores"], key=why["scores"].get) != "classical"
    assert psnr(image, p.truth) > psnr(classical.solve([p])[0].image, p.truth)
    noise = np.random.default_rng(1).random(SHAPE).astype(np.float32)
    image, why = choose(p, noise, classical, held, rules, seed=0)
    assert why == {"answer": "classical", "weight": 0.0, "rule": why["rule"],
                   "scores": why["scores"]}
    assert "held-out" in why["rule"]
    # The classical answer is rebuilt from every measurement, not only the fitted ones.
    np.testing.assert_allclose(image, classical.solve([p])[0].image, atol=1e-6)


def test_a_margin_keeps_the_classical_answer_unless_a_blend_is_clearly_better():
    p = problem("cs", ratio=0.3)
    held = held_out(p.operator, 0.1, 0, p.index)
    classical = build_method("classical", task="cs")
    # A candidate barely different from the classical answer of the fitted rows.
    near = np.clip(classical.answer_without(p, held) + 0.002, 0, 1)
    _, why = choose(p, near, classical, held, rule(blend_weights=(1.0,), answer_margin=0.5),
                    seed=0)
    assert why["answer"] == "classical"


def test_noise_free_inpainting_returns_every_observed_pixel_as_observed():
    p = problem("inpaint", keep=0.3)
    held = held_out(p.operator, 0.1, 0, p.index)
    classical = build_method("classical", task="inpaint")
    keep = p.operator.mask
    for generated in (p.truth, np.full(SHAPE, 0.5, np.float32)):
        for rules in (rule(blend="detail", blend_weights=(0.25,)),
                      rule(blend="convex", blend_weights=(1.0,))):
            image, _ = choose(p, generated, classical, held, rules, seed=0)
            np.testing.assert_array_equal(image[:, keep], p.y[:, keep])


def test_the_held_out_score_reads_only_the_held_out_entries():
    p = problem("cs", ratio=0.3)
    held = held_out(p.operator, 0.1, 0, p.index)
    residual = (p.operator.A(p.truth[None].astype(np.float64))[0] - p.y).reshape(-1)
    assert held_out_score(p, p.truth, held) == pytest.approx(np.mean(residual[held] ** 2))
    assert held.sum() == round(0.1 * held.size)


class _Halve(Method):
    """A linear denoiser f(y) = y / 2: its divergence is n / 2 exactly."""

    name = "halve"

    def solve_one(self, problem, seed):
        return answer(problem, np.asarray(problem.y) / 2, 0.0)


def test_sure_estimates_the_error_of_a_denoiser_without_the_truth():
    p = problem("denoise", noise_std=0.05)
    image = _Halve().solve([p])[0].image
    sigma, n = 0.05, p.y.size
    estimate = sure_score(p, _Halve(), image, seed=0)
    true_error = float(np.mean((image - p.truth) ** 2)) + sigma**2
    # SURE's own noise: ‖y − f‖² and the divergence probe, each a relative
    # sqrt(2/n) of terms of size ~‖y − f‖²/n and σ².
    spread = 4 * np.sqrt(2 / n) * (np.mean((p.y - image) ** 2) + 2 * sigma**2)
    assert abs(estimate - true_error) < spread


def test_denoising_held_out_answer_weighs_risk_estimates():
    # A texture no denoiser can tell from noise, and a generator that knows it exactly.
    texture = np.random.default_rng(2).random(SHAPE).astype(np.float32)
    p = simulated_problem(Path("t.png"), 0, texture, OperatorOptions("denoise", noise_std=0.1),
                          seed=0)
    held = held_out(p.operator, 0.1, 0, p.index)
    classical = build_method("classical", task="denoise")
    _, why = choose(p, p.truth, classical, held, rule(), seed=0)
    assert why["answer"] == "generator" and "SURE" in why["rule"]
    _, why = choose(p, np.full(SHAPE, 0.5, np.float32), classical, held, rule(), seed=0)
    assert why["answer"] == "classical"


def test_surgery_returns_the_classical_answer_without_inverting(tiny_artifacts, monkeypatch):
    import gs.invert
    from gs.artifacts import load

    def no_inversion(*args, **kwargs):
        raise AssertionError("the classical answer needs no inversion")

    monkeypatch.setattr(gs.invert, "invert", no_inversion)
    art = load(tiny_artifacts[1], "cpu")
    p = problem("sr", scale=2)
    (result,) = build_method("surgery", task="sr", artifact=art).solve([p])
    assert result.details["answer"] == "classical" and result.details["cut"] == 1
    bicubic = build_method("classical", task="sr").solve([p])[0].image
    consistent = p.operator.consistent(bicubic, p.y)  # noise-free: data-consistent
    np.testing.assert_allclose(result.image, np.clip(consistent, 0, 1), atol=1e-6)


def test_surgery_reports_which_answer_it_chose_and_why(tiny_artifacts, tmp_path):
    import json

    from gs.artifacts import load
    from gs.io import write_image
    from gs.jobs import InversionJob, run_job

    art = load(tiny_artifacts[1], "cpu")
    write_image(tmp_path / "a.png", smooth(3))
    fast = art.metadata.settings_for("cs").override(steps=2, restarts=1)
    job = InversionJob(artifact=tiny_artifacts[1], images=(tmp_path / "a.png",),
                       output_dir=tmp_path / "out", operator=OperatorOptions("cs", ratio=0.3),
                       settings=fast, simulate=True, report=tmp_path / "r.json")
    run_job(job, art)
    (entry,) = json.loads((tmp_path / "r.json").read_text())["images"]
    details = entry["details"]
    assert details["answer"] in ("classical", "generator", "blend") and details["cut"] == 1
    assert set(details["scores"]) == {"classical", *(f"{w:g}" for w in fast.blend_weights)}
    assert details["weight"] == (0.0 if details["answer"] == "classical" else details["weight"])
    # no surgery is the generator's own image, for comparison
    (own,) = build_method("no-surgery", task="cs", artifact=art,
                          settings=fast).solve([problem("cs", ratio=0.3)])
    assert own.details["answer"] == "generator"


def test_the_answer_is_not_chosen_for_a_task_without_a_classical_answer(tiny_artifacts):
    from gs.artifacts import load

    art = load(tiny_artifacts[1], "cpu")
    p = problem("raw")
    rules = art.metadata.settings_for("cs").override(steps=1, restarts=1)
    (result,) = build_method("surgery", task="raw", artifact=art,
                             settings=replace(rules)).solve([p])
    assert result.details["answer"] == "generator"


def test_a_confidence_refuses_a_lead_that_one_held_out_entry_makes():
    """A lower held-out mean carried by one entry out of six is chance at z = 2; a lead on
    every entry is not."""
    base = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 10.0])
    lucky = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 0.0])  # mean 1.67 < 2.5, worse on 5 of 6
    steady = base - 0.5
    residuals = {"classical": base, "lucky": lucky, "steady": steady}
    assert significant_leads(residuals, 0.0) == set(residuals)
    assert significant_leads(residuals, 2.0) == {"classical", "steady"}
    scores = {name: float(np.mean(r)) for name, r in residuals.items()}
    assert winning_candidate(scores, 0.0) == "lucky"
    assert winning_candidate({"classical": 2.5, "lucky": 1.67}, 0.0, {"classical"}) == "classical"


def test_paired_lead_is_the_mean_difference_in_standard_errors():
    base = np.array([3.0, 1.0, 2.0, 6.0])
    lower = base - np.array([1.0, 0.0, 1.0, 2.0])  # differences: mean 1, sd sqrt(2/3)
    expected = 1.0 / (np.sqrt(2 / 3) / 2)
    assert paired_lead(base, lower) == pytest.approx(expected, rel=4 * np.finfo(float).eps)
    assert paired_lead(lower, base) == pytest.approx(-expected, rel=4 * np.finfo(float).eps)
    assert paired_lead(base, base) == 0.0
    assert paired_lead(base, base - 1) == np.inf  # lower on every entry by the same amount
    assert paired_lead(base[:1], base[:1] - 1) == -np.inf  # one entry tells nothing
    assert significant_lead(base, lower, expected - 1e-9)
    assert not significant_lead(base, lower, expected + 1e-9)


def test_the_surest_lead_wins_among_candidates_that_beat_the_margin():
    scores = {"close": 0.5, "sure": 0.6, "lucky": 0.1}
    leads = {"close": 2.6, "sure": 4.0, "lucky": 1.0}
    # the lowest score ("lucky") leads by chance only; of the significant two, the surer
    assert surest_candidate(1.0, scores, leads, 0.1, 2.5) == "sure"
    assert surest_candidate(1.0, scores, leads, 0.45, 2.5) == "close"  # "sure" misses 45 %
    assert surest_candidate(1.0, scores, leads, 0.1, 5.0) is None
    # with no residuals to pair with, the lowest score that beats the margin
    unpaired = dict.fromkeys(scores)
    assert surest_candidate(1.0, scores, unpaired, 0.1, 2.5) == "lucky"
    assert surest_candidate(0.05, scores, unpaired, 0.1, 2.5) is None


def test_the_truth_passes_the_confidence_test_on_compressed_sensing():
    p = problem("cs", ratio=0.3)
    held = held_out(p.operator, 0.1, 0, p.index)
    classical = build_method("classical", task="cs")
    _, why = choose(p, p.truth, classical, held,
                    rule(blend_weights=(1.0,), answer_confidence=2.0), seed=0)
    assert why["answer"] == "generator"


def test_answer_confidence_must_be_non_negative():
    with pytest.raises(UserInputError, match="answer_confidence"):
        settings(answer_confidence=-1.0)


def test_a_users_changes_follow_the_rules_that_tie_settings_together():
    base = recommended_settings("cs", 1)
    last = base.with_user_changes(keep_best=False)
    assert (last.keep_best, last.holdout, last.answer) == (False, 0.0, "generator")
    assert base.with_user_changes(holdout=0.0, answer="classical").answer == "classical"
    adam = base.with_user_changes(optimizer="adam", lr=None)
    assert (adam.optimizer, adam.lr) == ("adam", 0.03)
    assert base.with_user_changes(steps=None) == base


def test_the_rule_is_the_methods_and_the_engine_returns_its_held_out_entries(tiny_artifacts):
    from gs.artifacts import load

    art = load(tiny_artifacts[1], "cpu")
    fast = art.metadata.settings_for("cs").override(steps=2, restarts=1)
    surgery = build_method("surgery", task="cs", artifact=art, settings=fast)
    assert surgery.rule == AnswerRule.from_settings(fast) and surgery.settings == fast
    own = build_method("no-surgery", task="cs", artifact=art, settings=fast)
    assert own.rule == GENERATOR_IMAGE and own.settings.answer == "generator"
    p = problem("cs", index=2, ratio=0.3)
    (result,) = surgery.solve([p], seed=0)
    np.testing.assert_array_equal(result.held_out, held_out(p.operator, fast.holdout, 0, 2))
    assert result.held_out_score >= 0
    (plain,) = build_method("surgery", task="cs", artifact=art,
                            settings=fast.with_user_changes(holdout=0.0)).solve([p], seed=0)
    assert plain.held_out is None and plain.held_out_score is None


def test_an_ensemble_returns_the_mean_of_its_independent_fits(tiny_artifacts):
    from gs.artifacts import load
    from gs.invert import invert

    art = load(tiny_artifacts[1], "cpu")
    one = art.metadata.settings_for("cs").override(steps=2, restarts=1, answer="generator")
    p = problem("cs", index=2, ratio=0.3)
    fits = [invert(art, [p.operator], [p.y], one, seed=0, image_indices=[2], draw=k)[0]
            for k in range(2)]
    assert not np.allclose(fits[0].image, fits[1].image)
    (alone,) = build_method("surgery", task="cs", artifact=art, settings=one).solve([p], seed=0)
    np.testing.assert_allclose(alone.image, fits[0].image, atol=1e-6)
    (mean,) = build_method("surgery", task="cs", artifact=art,
                           settings=one.override(ensemble=2)).solve([p], seed=0)
    np.testing.assert_allclose(mean.image, (fits[0].image + fits[1].image) / 2, atol=1e-6)
    np.testing.assert_array_equal(mean.held_out, fits[0].held_out)
    assert mean.held_out_score == pytest.approx(held_out_score(p, mean.image, mean.held_out),
                                                rel=1e-4)
    assert mean.total_evaluations == fits[0].total_evaluations + fits[1].total_evaluations
    with pytest.raises(UserInputError, match="ensemble"):
        settings(ensemble=0)


def test_every_inversion_setting_is_declared_once_and_checked_by_its_declaration():
    declared = declared_params(InversionSettings)
    assert list(declared) == [f.name for f in fields(InversionSettings)]
    assert all(d.default == getattr(InversionSettings, d.name) for d in declared.values())
    assert declared["answer"].param.choices == ANSWERS
    for name, value, message in [("steps", 0, "steps must be an integer ≥ 1, got 0"),
                                 ("holdout", 1.0, r"holdout must be a number in \[0, 1\)"),
                                 ("budget", math.inf, "budget must be a finite number > 0"),
                                 ("schedule", (0, -1), "schedule must list integers ≥ 0"),
                                 ("schedule", (2, 1), "schedule must list increasing cuts")]:
        with pytest.raises(UserInputError, match=f"^{message}"):
            InversionSettings(**{name: value})
    # values are kept as given, so settings read from JSON write the same JSON back
    assert json.dumps(InversionSettings(lr=1).to_json()["lr"]) == "1"
