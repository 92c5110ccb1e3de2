"""Progress of the iterative baselines: ``on_step`` events, cancelling, gs-baseline's lines."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from gs.artifacts import load
from gs.jobs import OperatorOptions, simulated_problem
from gs.methods import build_method
from gs.methods import cli as baseline_cli
from gs.methods.presets import (
    CSGMSettings,
    DeepDecoderSettings,
    DIPSettings,
    IAGANSettings,
    MGANPriorSettings,
)
from gs.results import StepEvent
from gs.solve.options import ADAM_WINDOW

SHAPE = (3, 16, 16)

#: Tiny settings of every iterative baseline: a few steps, small networks, 2 restarts.
TINY = {
    "csgm": CSGMSettings(steps=3, restarts=2),
    "mganprior": MGANPriorSettings(codes=2, steps=3, restarts=2),
    "deep-decoder": DeepDecoderSettings(depth=3, channels=4, steps=3, restarts=2),
    "dip": DIPSettings(channels=(4,), skip_channels=1, input_depth=2, steps=3, restarts=2),
    "iagan": IAGANSettings(stage1_steps=3, stage2_steps=2, restarts=2),
}


# Tiny networks run faster on one thread and do not fight other processes.
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def methods(tiny_artifacts, generator):
    uncut = load(tiny_artifacts[0])
    return {name: build_method(name, settings=settings, artifact=uncut, generator=generator)
            for name, settings in TINY.items()}


def problems():
    rng = np.random.default_rng(0)
    options = OperatorOptions(task="cs", ratio=0.3)
    return [simulated_problem("img.png", index, rng.uniform(0.2, 0.8, SHAPE).astype(np.float32),
                              options, 5) for index in (0, 3)]


def expected_runs(name: str) -> list[tuple[int | None, int, int, int]]:
    """(restart, stage, stages, steps) of every Adam loop of one image, in order."""
    s = TINY[name]
    if name == "csgm":  # the engine's Adam: restarts as rows, one event per window
        return [(None, 0, 1, -(-s.steps // ADAM_WINDOW))]
    if name == "mganprior":  # restarts as the rows of one batch
        return [(None, 0, 1, s.steps)]
    if name == "iagan":
        return [run for r in range(s.restarts)
                for run in ((r, 0, 2, s.stage1_steps), (r, 1, 2, s.stage2_steps))]
    return [(r, 0, 1, s.steps) for r in range(s.restarts)]


@pytest.mark.parametrize("name", list(TINY))
def test_each_baseline_reports_every_step_and_the_callback_changes_nothing(name, methods):
    method = methods[name]
    events: list[StepEvent] = []

    def on_step(event: StepEvent) -> None:
        events.append(event)
        image = event.current()  # rendering the current image must not change the results
        assert image.shape == (1, *SHAPE) and image.dtype == np.float32
        assert 0 <= image.min() and image.max() <= 1

    quiet = method.solve(problems(), seed=2)
    watched = method.solve(problems(), seed=2, on_step=on_step)

    expected = [(index, restart, stage, stages, step, steps)
                for index in (0, 3)
                for restart, stage, stages, steps in expected_runs(name)
                for step in range(1, steps + 1)]
    seen = [(e.image, e.restart, e.stage, e.stages, e.step, e.steps) for e in events]
    assert seen == expected
    for event in events:
        assert event.cut == 0 and event.restarts == 2 and event.scores is None
        assert event.losses.shape == (1,) and event.losses.dtype == np.float64
        assert np.isfinite(event.losses).all() and event.losses[0] >= 0
    for a, b in zip(quiet, watched):
        assert np.array_equal(a.image, b.image)
        assert a.restart_losses == b.restart_losses and a.restart == b.restart
        assert a.measurement_loss == b.measurement_loss
        assert a.evaluations == b.evaluations and a.details == b.details


class Cancelled(Exception):
    pass


@pytest.mark.parametrize("name", list(TINY))
def test_an_exception_in_on_step_cancels_the_baseline(name, methods):
    seen = []

    def cancel(event: StepEvent) -> None:
        seen.append(event.step)
        raise Cancelled

    with pytest.raises(Cancelled):
        methods[name].solve(problems(), seed=0, on_step=cancel)
    assert seen == [1]


def test_methods_without_steps_keep_their_two_argument_solve_one():
    from gs.methods.base import Method
    from gs.results import Recovery

    class Plain(Method):
        name = "plain"

        def solve_one(self, problem, seed):
            return Recovery(image=np.zeros(SHAPE, np.float32), measurement_loss=0.0, seconds=0.0)

    assert len(Plain().solve(problems(), on_step=lambda event: None)) == 2


# ------------------------------------------------------------------ gs-baseline
def event(**fields) -> StepEvent:
    base = dict(stage=0, cut=0, step=400, steps=2000, losses=np.array([1.2e-3]),
                current=lambda: None, image=0, restart=0, restarts=1, stages=1)
    return StepEvent(**{**base, **fields})


def test_progress_lines():
    line = baseline_cli.progress_line
    assert line("dip", 2, event()) == "dip: image 1/2 restart 1/1 step 400/2000 loss 1.20e-03"
    assert line("csgm", 3, event(image=2, restart=None, restarts=4, step=5, steps=300)) == (
        "csgm: image 3/3 4 restarts step 5/300 loss 1.20e-03")
    assert line("iagan", 1, event(restart=1, restarts=3, stage=1, stages=2)) == (
        "iagan: image 1/1 restart 2/3 stage 2/2 step 400/2000 loss 1.20e-03")
    surgery = event(image=None, restart=None, restarts=None, stages=None, cut=2,
                    losses=np.array([0.5, 0.25]))
    assert line("surgery", 2, surgery) == "surgery: cut 2 step 400/2000 loss 2.50e-01..5.00e-01"


def test_progress_is_throttled_by_time(monkeypatch):
    now = [100.0]
    printed = []
    monkeypatch.setattr(baseline_cli.click, "echo", lambda text, err: printed.append((text, err)))
    on_step = baseline_cli.progress_printer("dip", 1, interval=5.0, clock=lambda: now[0])
    for t, step in ((100.5, 1), (104.9, 2), (105.0, 3), (107.0, 4), (110.5, 5)):
        now[0] = t
        on_step(event(step=step))
    assert [text.split(" step ")[1].split()[0] for text, _ in printed] == ["3/2000", "5/2000"]
    assert all(err for _, err in printed)


def test_gs_baseline_prints_progress_on_stderr(tmp_path, photo, monkeypatch):
    settings = DIPSettings(channels=(4,), skip_channels=1, input_depth=2, steps=3)
    monkeypatch.setattr(baseline_cli, "PROGRESS_INTERVAL", 0.0)
    monkeypatch.setattr(baseline_cli, "auto_preset", lambda name, **_: settings)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    shutil.copy(photo, a)
    shutil.copy(photo, b)
    result = CliRunner().invoke(baseline_cli.main, [str(x) for x in (
        "dip", a, b, "--task", "cs", "--ratio", 0.3, "--simulate", "--size", 16,
        "-o", tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    progress = [line for line in lines if line.startswith("dip: ")]
    pattern = re.compile(r"dip: image (\d)/2 restart 1/1 step (\d)/3 loss \d\.\d\de[-+]\d\d")
    matches = [pattern.fullmatch(line) for line in progress]
    assert all(matches), progress
    assert [m.groups() for m in matches] == [(i, k) for i in "12" for k in "123"]
    assert any(line.startswith(f"{a} -> ") for line in lines)
    assert any(line.startswith(f"{b} -> ") for line in lines)
