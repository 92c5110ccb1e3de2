"""The answer rule's chooser: the default records the winning candidate, and a chooser
of one's own sees every image's fit through the rule, with no module attribute swapped."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

import gs.methods.answer as answer_module
from gs.methods import build_method
from gs.methods.adaptive import Candidate
from gs.methods.answer import AnswerRule, Choice, choose, held_out_residuals
from gs.problems import OperatorOptions, simulated_problem
from gs.results import Recovery
from gs.stages import held_out


def smooth(seed: int) -> np.ndarray:
    """(3, 16, 16) smooth image in [0.05, 0.95]."""
    yy, xx = np.meshgrid(np.linspace(0, np.pi, 16), np.linspace(0, np.pi, 16), indexing="ij")
    image = np.stack([0.5 + 0.3 * np.cos(yy * (1 + seed % 2) + k) * np.sin(xx + k)
                      for k in range(3)])
    return np.clip(image, 0.05, 0.95).astype(np.float32)


def cs_problems(n: int = 2):
    return [simulated_problem(Path(f"{i}.png"), i, smooth(i), OperatorOptions("cs", ratio=0.3),
                              seed=0) for i in range(n)]


def fits_near_the_truth(problems):
    """The fit a generator would return: near the truth, its held-out entries set."""
    def fit():
        out = []
        for p in problems:
            held = held_out(p.operator, 0.1, 0, p.index)
            image = np.clip(p.truth + 0.03, 0, 1).astype(np.float32)
            out.append(Recovery(image=image, measurement_loss=0.0, seconds=0.0, held_out=held,
                                held_out_score=0.5))
        return out
    return fit


def test_the_default_choice_records_its_winning_candidate_and_score():
    (p,) = cs_problems(1)
    held = held_out(p.operator, 0.1, 0, p.index)
    classical = build_method("classical", task="cs")
    rule = AnswerRule("held_out", "convex", (0.5, 1.0), 0.0)
    choice = choose(p, np.clip(p.truth + 0.03, 0, 1), classical, held, rule, seed=0)
    assert isinstance(choice, Choice)
    image, details = choice  # the pair a report needs
    assert image is choice.image and details is choice.details
    assert choice.score == details["scores"][choice.candidate]
    assert choice.candidate == ("classical" if details["weight"] == 0
                                else f"{details['weight']:g}")


def test_a_chooser_of_ones_own_sees_each_images_fit_and_decides_its_answer(monkeypatch):
    problems = cs_problems(2)
    seen = {}

    def keep_the_generators_image(problem, generated, classical, held, rule, seed):
        seen[problem.index] = (generated.copy(), held.copy(), rule.blend_weights, seed)
        return Choice(generated, {"answer": "generator", "weight": 1.0})

    def swapped(*args, **kwargs):
        raise AssertionError("the rule calls its own chooser, not the module's")

    monkeypatch.setattr(answer_module, "choose", swapped)
    rule = replace(AnswerRule("held_out", "convex", (0.5, 1.0), 0.0),
                   chooser=keep_the_generators_image)
    assert rule != AnswerRule("held_out", "convex", (0.5, 1.0), 0.0)  # another rule
    fit = fits_near_the_truth(problems)
    results = rule.answers(problems, fit, 7, {"cut": 1})
    assert sorted(seen) == [0, 1]
    for p, result, expected in zip(problems, results, fit()):
        generated, held, weights, seed = seen[p.index]
        np.testing.assert_array_equal(generated, expected.image)
        np.testing.assert_array_equal(held, expected.held_out)
        assert (weights, seed) == ((0.5, 1.0), 7)
        np.testing.assert_array_equal(result.image, expected.image)
        assert result.details == {"cut": 1, "answer": "generator", "weight": 1.0}
        assert "answer" in result.stage_seconds


def test_the_best_quality_step_measures_candidates_against_the_chosen_score():
    """The adapted candidates are held to the score the choice recorded, or, where the
    chooser scored nothing, to the fit's own held-out score."""
    problems = cs_problems(1)

    def adapt(problem, recovery, budget):
        image = np.clip(problem.truth, 0, 1).astype(np.float32)
        residuals = held_out_residuals(problem, image, recovery.held_out)
        return [Candidate("adaptive-surgery", image, residuals, 0.0, 1, "held-out")]

    scored = AnswerRule("held_out", "convex", (0.5, 1.0), 0.0, quality="best", budget=1.0)
    (result,) = scored.answers(problems, fits_near_the_truth(problems), 0, {}, adapt=adapt)
    quality = result.details["quality"]
    chosen = result.details["scores"]
    key = "classical" if not result.details["weight"] else f"{result.details['weight']:g}"
    assert quality["answer_score"] == chosen[key]
    assert quality["chosen"] == "adaptive-surgery" == result.details["answer"]

    def unscored(problem, generated, classical, held, rule, seed):
        return Choice(generated, {"answer": "generator"})

    (result,) = replace(scored, chooser=unscored).answers(
        problems, fits_near_the_truth(problems), 0, {}, adapt=adapt)
    assert result.details["quality"]["answer_score"] == 0.5  # the fit's held_out_score
