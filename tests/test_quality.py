"""--quality best: candidates adapted to each image, kept only where the held-out
measurements prefer them; its settings, flags and refusals."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from gs.artifacts import load
from gs.cli import main as invert_cli
from gs.errors import UserInputError
from gs.methods.adaptive import CANDIDATE_CONFIDENCE
from gs.methods.answer import AnswerRule, held_out_residuals
from gs.methods.surgery import Surgery
from gs.problems import OperatorOptions, simulated_problem
from gs.settings import QUALITIES, InversionSettings
from helpers import one_sentence_error

FAST = {"steps": 2, "restarts": 1}


def problem(index: int = 0):
    rng = np.random.default_rng(index)
    truth = np.clip(0.5 + 0.2 * rng.standard_normal((3, 16, 16)), 0, 1).astype(np.float32)
    return simulated_problem(Path("x.png"), index, truth, OperatorOptions("cs", ratio=0.3),
                             seed=0)


def test_quality_and_budget_are_settings_checked_where_they_are_declared():
    assert QUALITIES == ("fast", "best") and InversionSettings().quality == "fast"
    assert InversionSettings().budget > 0
    with pytest.raises(UserInputError, match="quality must be one of"):
        InversionSettings(quality="fastest")
    with pytest.raises(UserInputError, match="needs holdout > 0"):
        InversionSettings(quality="best")
    with pytest.raises(UserInputError, match="budget must be a finite number > 0"):
        InversionSettings(holdout=0.1, budget=0)
    settings = InversionSettings(holdout=0.1, quality="best", budget=5.0)
    assert InversionSettings.from_json(settings.to_json()) == settings
    rule = AnswerRule.from_settings(settings)
    assert (rule.quality, rule.budget) == ("best", 5.0)
    assert rule.recorded_in(InversionSettings(holdout=0.1)).quality == "best"


def candidate(name: str, image: np.ndarray, score: float) -> SimpleNamespace:
    return SimpleNamespace(name=name, image=image, held_out_score=score, seconds=0.01,
                           steps=3, stopped_by="held-out")


@pytest.mark.parametrize("answer", ["generator", "held_out"])
def test_best_returns_a_candidate_only_where_the_held_out_entries_prefer_it(
        tiny_artifacts, answer):
    art = load(tiny_artifacts[1], "cpu")
    settings = art.metadata.settings_for("cs").override(**FAST, answer=answer,
                                                        quality="best", budget=7.0)
    method = Surgery(art, task="cs", settings=settings)
    p = problem()
    offered, budgets = {}, []

    def adapt(prob, fit, budget):
        budgets.append(budget)
        assert fit.held_out is not None and fit.latents is not None
        for offer in offered["now"]:  # the residuals its image has; its score as claimed
            offer.held_out_residuals = held_out_residuals(prob, offer.image, fit.held_out)
        return offered["now"]

    method._adapter = lambda seed, on_step: adapt
    perfect = candidate("adapted", p.truth, 0.0)
    offered["now"] = [perfect]
    (won,) = method.solve([p])
    assert won.details["answer"] == "adapted" and won.details["quality"]["chosen"] == "adapted"
    np.testing.assert_allclose(won.image, p.truth, atol=1e-6)
    assert budgets == [7.0] and set(won.stage_seconds) >= {"fit", "adapt"}
    assert won.seconds >= won.stage_seconds["fit"] + won.stage_seconds["adapt"] - 1e-9
    # a candidate that explains the held-out entries worse than the answer is not returned
    offered["now"] = [candidate("adapted", p.truth * 0, np.inf)]
    (kept,) = method.solve([p])
    assert kept.details["answer"] != "adapted" and kept.details["quality"]["chosen"] is None
    assert kept.details["quality"]["candidates"]["adapted"]["score"] == np.inf
    fast = Surgery(art, task="cs", settings=settings.override(quality="fast"))
    (plain,) = fast.solve([p])
    np.testing.assert_array_equal(kept.image, plain.image)
    assert "quality" not in plain.details and "adapt" not in plain.stage_seconds
    # a lower score is not enough: the image must lead on the held-out entries (this one,
    # the answer's negative, claims a score of 0 and explains them worse)
    offered["now"] = [candidate("claimed", 1 - plain.image, 0.0)]
    (unsure,) = method.solve([p])
    assert unsure.details["quality"]["chosen"] is None
    assert unsure.details["quality"]["candidates"]["claimed"]["lead_z"] < CANDIDATE_CONFIDENCE


def test_best_refuses_an_onnx_artifact_in_one_sentence(onnx_c2, photo, tmp_path):
    art = load(onnx_c2, "cpu")
    with pytest.raises(UserInputError, match="needs a .pt artifact"):
        Surgery(art, task="cs", settings=art.metadata.settings_for("cs").override(
            quality="best"))
    result = CliRunner().invoke(invert_cli, [str(onnx_c2), str(photo), "--measurements", "300",
                                             "--simulate", "-o", str(tmp_path / "out"),
                                             "--quality", "best"])
    one_sentence_error(result, "--quality", ".pt artifact")
    assert not (tmp_path / "out").exists()


def test_the_cli_takes_quality_and_budget_into_the_report(tiny_artifacts, photo, tmp_path):
    import json

    result = CliRunner().invoke(invert_cli, [
        str(tiny_artifacts[1]), str(photo), "--measurements", "300", "--simulate",
        "-o", str(tmp_path / "out"), "--report", str(tmp_path / "r.json"), "--steps", "2",
        "--restarts", "1", "--budget", "0.5", "--quality", "best"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["settings"]["quality"] == "best" and report["settings"]["budget"] == 0.5
    (entry,) = report["images"]
    assert set(entry["stage_seconds"]) == {"fit", "answer", "adapt"}
    assert entry["details"]["quality"]["candidates"]
    bad = CliRunner().invoke(invert_cli, [str(tiny_artifacts[1]), str(photo), "--measurements",
                                          "300", "--simulate", "-o", str(tmp_path / "o2"),
                                          "--budget", "-1"])
    one_sentence_error(bad, "--budget")


def test_the_page_request_takes_quality():
    from gs.serve.page_request import PageRequest

    assert PageRequest(artifact="a", quality="best").quality == "best"
    with pytest.raises(UserInputError, match="quality must be one of"):
        PageRequest(artifact="a", quality="slow")


def test_best_keeps_a_recorded_classical_answer_without_fitting(tiny_artifacts, monkeypatch):
    """Where a task records the classical answer (no generator-based answer measured
    better), best returns it as the defaults do: the held-out entries cannot judge the
    detail an adapted generator would add."""
    import gs.invert

    def no_inversion(*args, **kwargs):
        raise AssertionError("the classical answer needs no inversion")

    monkeypatch.setattr(gs.invert, "invert", no_inversion)
    art = load(tiny_artifacts[1], "cpu")
    settings = art.metadata.settings_for("sr").override(answer="classical", quality="best")
    method = Surgery(art, task="sr", settings=settings)
    def adapt(*args):
        pytest.fail("nothing is adapted")

    method._adapter = lambda seed, on_step: adapt
    p = simulated_problem(Path("x.png"), 0, problem().truth, OperatorOptions("sr", scale=2),
                          seed=0)
    (result,) = method.solve([p])
    assert result.details["answer"] == "classical"
