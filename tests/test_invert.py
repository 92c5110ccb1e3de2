"""The inversion engine on tiny generators: recovery, independence, progressive warm start."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gs import artifacts as gs_artifact
from gs.invert import invert
from gs.metrics import psnr
from gs.operators import Denoising, GaussianCS, RandomInpainting
from gs.problems import simulate
from gs.seeding import Stream, problem_rng
from gs.settings import InversionSettings
from gs.testing.reference import paper_protocol
from helpers import assert_close_f32, in_range_image, tiny_architecture

TINY_MODEL = tiny_architecture()  # the layers behind tiny_weights, for tolerances


def _cs_problem(image, m, index, seed=0, noise_std=0.0):
    op = GaussianCS(m, image.shape, problem_rng(seed, index, Stream.OPERATOR), noise_std=noise_std)
    return op, simulate(image, op, problem_rng(seed, index, Stream.NOISE))


def test_recovers_an_in_range_image_at_c0(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[0])
    truth = in_range_image(art)
    op, y = _cs_problem(truth, 400, 0)
    settings = InversionSettings(lr=1.0, steps=15, restarts=3, tolerance=0.0)
    (result,) = invert(art, [op], [y], settings, seed=0)
    assert psnr(result.image, truth) > 35
    assert result.image.shape == (3, 16, 16) and result.image.dtype == np.float32
    assert result.measurement_loss == pytest.approx(min(result.restart_losses))
    assert result.restart == int(np.argmin(result.restart_losses))


def test_sample_in_a_batch_equals_the_sample_alone(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    images = [in_range_image(art, seed=s) for s in (3, 4, 5)]
    problems = [_cs_problem(img, 300, i, noise_std=0.01) for i, img in enumerate(images)]
    settings = InversionSettings(lr=0.5, steps=3, restarts=2, inner_iterations=10, tolerance=1e-4)
    ops, ys = zip(*problems)
    batch = invert(art, ops, ys, settings, seed=7)
    for i in range(3):
        (alone,) = invert(art, [ops[i]], [ys[i]], settings, seed=7, image_indices=[i])
        np.testing.assert_allclose(batch[i].image, alone.image, atol=1e-4)
        assert batch[i].restart == alone.restart
        assert batch[i].measurement_loss == pytest.approx(alone.measurement_loss, rel=1e-3)


def test_progressive_warm_start_continues_from_the_shallow_solution(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[2])
    truth = in_range_image(gs_artifact.load(tiny_artifacts[0]), seed=9)
    op, y = _cs_problem(truth, 200, 0, noise_std=0.01)
    settings = InversionSettings(lr=0.5, steps=4, restarts=2, schedule=(0, 1, 2))
    (result,) = invert(art, [op], [y], settings, seed=0)
    assert [s.cut for s in result.stages] == [0, 1, 2]
    for shallow, deep in zip(result.stages, result.stages[1:]):
        assert deep.first_loss == pytest.approx(shallow.final_loss, rel=1e-4, abs=1e-7)
        assert deep.final_loss <= deep.first_loss
    assert [lat.shape for lat in result.latents] == [(8, 8, 8)]
    assert len(result.restart_losses) == 2


def test_schedule_must_end_at_the_artifact_cut(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    op, y = _cs_problem(in_range_image(art), 100, 0)
    with pytest.raises(ValueError, match="must end at the artifact's cut 1"):
        invert(art, [op], [y], InversionSettings(schedule=(0,)), seed=0)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_other_tasks_and_optimizers_reduce_the_loss(tiny_artifacts, optimizer):
    art = gs_artifact.load(tiny_artifacts[1])
    truth = in_range_image(art, seed=2)
    ops = [RandomInpainting(0.5, truth.shape, problem_rng(0, 0, Stream.OPERATOR)),
           Denoising(truth.shape, noise_std=0.05)]
    ys = [simulate(truth, op, problem_rng(0, i, Stream.NOISE)) for i, op in enumerate(ops)]
    settings = InversionSettings(optimizer=optimizer, lr=0.5 if optimizer == "lbfgs" else 0.05,
                                 steps=20, restarts=1)
    results = invert(art, ops, ys, settings, seed=0)
    for result in results:
        assert result.stages[0].final_loss < result.stages[0].first_loss
        assert psnr(result.image, truth) > 24


def test_initial_latents_come_from_the_seeded_stream(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    op, y = _cs_problem(in_range_image(art), 100, 0)
    settings = InversionSettings(steps=1, inner_iterations=1, restarts=2, lr=1e-9, tolerance=0)
    (result,) = invert(art, [op], [y], settings, seed=5, image_indices=[3])
    expected = art.spec.sample(problem_rng(5, 3, Stream.INIT), 2)[0][result.restart]
    np.testing.assert_allclose(result.latents[0], expected, atol=1e-6)
    with torch.no_grad():
        image = art.generator(torch.as_tensor(expected[None]))[0].numpy()
    assert_close_f32(result.image, image, TINY_MODEL)


def test_keeping_only_the_leading_restart_saves_evaluations(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    truth = in_range_image(art, seed=4)
    op, y = _cs_problem(truth, 300, 0, noise_std=0.01)
    base = InversionSettings(lr=0.5, steps=6, restarts=3, inner_iterations=5, tolerance=0.0)
    (full,) = invert(art, [op], [y], base, seed=0)
    (pruned,) = invert(art, [op], [y], base.override(keep_restarts_after=2), seed=0)
    assert pruned.total_evaluations < full.total_evaluations
    # Until the pruning step both runs are identical; the kept restart then runs on alone.
    assert pruned.evaluations == full.evaluations or pruned.restart != full.restart
    # 2 steps × 3 restarts, 4 more steps × 1, and one last evaluation per row (keep_best).
    assert pruned.total_evaluations <= 3 * 2 * 5 + 4 * 5 + 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_inversion_on_cuda_matches_cpu(tiny_artifacts, precision):
    truth = in_range_image(gs_artifact.load(tiny_artifacts[1]), seed=6)
    op, y = _cs_problem(truth, 300, 0, noise_std=0.01)
    settings = InversionSettings(lr=0.5, steps=2, restarts=2, inner_iterations=5,
                                 precision=precision)
    results = {}
    for device in ("cpu", "cuda"):
        art = gs_artifact.load(tiny_artifacts[1], device=device)
        (results[device],) = invert(art, [op], [y], settings, seed=0)
    cpu, cuda = results["cpu"], results["cuda"]
    assert cuda.restart == cpu.restart
    assert cuda.measurement_loss == pytest.approx(cpu.measurement_loss, rel=0.05)
    assert abs(psnr(cuda.image, truth) - psnr(cpu.image, truth)) < 0.5


def test_on_step_reports_every_outer_step_of_every_stage(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    truth = in_range_image(gs_artifact.load(tiny_artifacts[0]), seed=3)
    ops, ys = zip(*[_cs_problem(truth, 200, i, noise_std=0.01) for i in range(2)])
    settings = InversionSettings(lr=0.5, steps=3, restarts=2, inner_iterations=4, tolerance=0.0,
                                 schedule=(0, 1), keep_restarts_after=1)
    events = []
    results = invert(art, ops, ys, settings, seed=0, on_step=events.append)
    assert [(e.stage, e.cut, e.step, e.steps) for e in events] == [
        (s, c, k, 3) for s, c in enumerate((0, 1)) for k in (1, 2, 3)]
    for event in events:
        assert event.losses.shape == (2,) and event.losses.dtype == np.float64
    # The last report of the last stage shows the rows each image ends with (the
    # result may still improve on it by the one evaluation of the final iterate).
    last = events[-1]
    final = np.array([r.measurement_loss for r in results])
    assert (last.losses >= final * (1 - 1e-5)).all()
    np.testing.assert_allclose(last.losses, final, rtol=1e-2)
    images = last.current()
    assert images.shape == (2, 3, 16, 16) and images.dtype == np.float32
    assert np.abs(images - np.stack([r.image for r in results])).max() < 0.02
    # Losses reported never rise within a stage (best rows, keep_best).
    first_stage = np.stack([e.losses for e in events[:3]])
    assert (np.diff(first_stage, axis=0) <= 1e-7).all()


def test_an_exception_in_on_step_cancels_the_inversion(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    op, y = _cs_problem(in_range_image(art), 100, 0)
    seen = []

    class Cancelled(Exception):
        pass

    def cancel(event):
        seen.append(event.step)
        if event.step == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        invert(art, [op], [y], InversionSettings(steps=10, tolerance=0.0), seed=0,
               on_step=cancel)
    assert seen == [1, 2]


def test_paper_preset_is_the_plain_torch_lbfgs_protocol(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    truth = in_range_image(gs_artifact.load(tiny_artifacts[0]), seed=8)
    op, y = _cs_problem(truth, 300, 0, noise_std=0.01)
    paper = art.metadata.settings_for("cs", preset="paper")
    assert (paper.restarts, paper.steps, paper.inner_iterations, paper.lr) == (3, 25, 20, 0.1)
    assert (paper.tolerance, paper.keep_best, paper.schedule, paper.keep_restarts_after,
            paper.line_search, paper.holdout) == (0.0, False, (), 0, "none", 0.0)
    # Four of the 25 steps: long enough for every protocol rule to act, short enough
    # that float32 rounding (batch of 3 vs batch of 1) cannot grow into a difference.
    paper = paper.override(steps=4)
    (result,) = invert(art, [op], [y], paper, seed=3)
    outcomes = paper_protocol(art, op, y, paper, seed=3)
    losses = [loss for loss, _, _ in outcomes]
    assert result.restart == int(np.argmin(losses))
    np.testing.assert_allclose(result.restart_losses, losses, rtol=1e-3)
    np.testing.assert_allclose(result.image, outcomes[result.restart][1], atol=1e-4)
    assert result.evaluations == outcomes[result.restart][2]
    assert result.total_evaluations == sum(evals for _, _, evals in outcomes)


@pytest.mark.parametrize("preset", ["recommended", "paper"])
def test_the_cli_applies_the_settings_recorded_in_gs_json(tiny_artifacts, photo, tmp_path,
                                                          monkeypatch, preset):
    from click.testing import CliRunner

    import gs.cli
    from gs.jobs import JobReport
    from gs.settings import recommended_settings

    applied = {}

    def fake_run_job(job, artifact=None, **kwargs):
        applied["settings"] = job.settings
        return JobReport(str(job.artifact), job.operator.task, 0, job.settings.to_json())

    monkeypatch.setattr(gs.cli, "run_job", fake_run_job)
    meta = gs_artifact.load(tiny_artifacts[1]).metadata
    for task in ("cs", "inpaint", "sr", "denoise"):
        args = [str(tiny_artifacts[1]), str(photo), "--task", task, "--simulate",
                "-o", str(tmp_path / task)]
        if preset == "paper":
            args += ["--preset", "paper"]
        result = CliRunner().invoke(gs.cli.main, args)
        assert result.exit_code == 0, result.output
        assert applied["settings"] == meta.settings_for(task, preset=preset)
        # What export recorded is what the library recommends (or the paper) for that cut.
        expected = (recommended_settings(task, 1) if preset == "recommended"
                    else InversionSettings(lr=0.1, steps=25 if task != "denoise" else 100,
                                           restarts=3, tolerance=0.0, keep_best=False)
                    .override(lr=1.0 if task == "denoise" else None))
        assert applied["settings"] == expected


def test_precision_auto_means_bf16_only_where_the_hardware_has_it(monkeypatch):
    from gs import devices

    assert devices.resolve_precision("fp32", "cpu") == "fp32"
    assert devices.resolve_precision("bf16", "cpu") == "bf16"
    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda native=native: native)
        assert devices.resolve_precision("auto", "cpu") == expected


def test_restart_screening_never_keeps_a_diverged_restart():
    from gs.invert import screen_restarts

    # Image 0's first restart overflowed to NaN, image 1's to inf: the healthy one leads.
    losses = np.array([np.nan, 1.0, 2.0, np.inf, 3.0, 0.5])
    np.testing.assert_array_equal(screen_restarts(1, 3, 1, losses),
                                  [True, False, True, True, True, False])
    # Before (or after) the screening step, and with one restart, nobody is stopped.
    assert not screen_restarts(1, 3, 2, losses).any()
    assert not screen_restarts(0, 3, 1, losses).any()
    assert not screen_restarts(1, 1, 1, losses).any()


def test_one_best_restart_rule_for_the_engine_and_the_baselines():
    from gs.methods.base import choose_restart as baseline_choice
    from gs.results import best_restarts, choose_restart

    # NaN never wins over a number, infinite or not; an excluded row wins only where
    # nothing else is left, and its value then reads inf.
    values = np.array([np.nan, np.inf, 2.0, np.nan, np.inf, 5.0, np.nan, 1.0, np.nan])
    best, lowest = best_restarts(values, 3)
    np.testing.assert_array_equal(best, [2, 2, 1])
    np.testing.assert_array_equal(lowest, [2.0, 5.0, 1.0])
    best, lowest = best_restarts(values, 3, excluded=np.arange(9) % 3 == 2)
    np.testing.assert_array_equal(best, [1, 1, 1])
    np.testing.assert_array_equal(lowest, [np.inf, np.inf, 1.0])
    best, lowest = best_restarts([np.nan, 1.0], 2, excluded=np.array([False, True]))
    assert best[0] == 0 and lowest[0] == np.inf
    assert choose_restart([np.nan, np.inf, 3.0]) == 2 == baseline_choice([np.nan, np.inf, 3.0])
    assert choose_restart([np.nan, np.inf]) == 1


def test_step_events_report_the_heldout_score_the_stop_judges(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    truth = in_range_image(art, seed=3)
    op, y = _cs_problem(truth, 200, 0, noise_std=0.01)
    settings = InversionSettings(lr=0.5, steps=3, restarts=2, inner_iterations=4, holdout=0.2,
                                 tolerance=0.0)
    events = []
    invert(art, [op], [y], settings, seed=0, on_step=events.append)
    assert all(e.scores is not None and e.scores.shape == (1,) for e in events)
    # The best held-out residual so far never rises.
    assert (np.diff([e.scores[0] for e in events]) <= 0).all()
    events.clear()
    invert(art, [op], [y], settings.override(holdout=0.0), seed=0, on_step=events.append)
    assert events and all(e.scores is None for e in events)


def test_another_draw_starts_from_the_next_restarts_of_the_stream_and_holds_out_the_same(
        tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    op, y = _cs_problem(in_range_image(art), 100, 0)
    settings = InversionSettings(steps=1, inner_iterations=1, restarts=2, lr=1e-9, tolerance=0,
                                 holdout=0.2)
    (first,) = invert(art, [op], [y], settings, seed=5, image_indices=[3])
    (second,) = invert(art, [op], [y], settings, seed=5, image_indices=[3], draw=1)
    starts = art.spec.sample(problem_rng(5, 3, Stream.INIT), 4)[0]
    np.testing.assert_allclose(first.latents[0], starts[first.restart], atol=1e-6)
    np.testing.assert_allclose(second.latents[0], starts[2 + second.restart], atol=1e-6)
    np.testing.assert_array_equal(first.held_out, second.held_out)


def test_holdout_masks_are_seeded_per_image_and_batching_does_not_change_them(tiny_artifacts):
    from gs.results import holdout_mask

    mask = holdout_mask(300, 0.1, problem_rng(0, 2, Stream.HOLDOUT))
    # Entries of one group go together; -1 entries never do; a single group spares none.
    groups = np.repeat(np.arange(-1, 99), 3)
    grouped = holdout_mask(groups, 0.1, problem_rng(0, 2, Stream.HOLDOUT)).reshape(100, 3)
    assert (grouped.all(axis=1) | ~grouped.any(axis=1)).all() and grouped.any(axis=1).sum() == 10
    assert not grouped[0].any()
    assert not holdout_mask(np.zeros(5, dtype=np.int64), 0.5, problem_rng(0, 2,
                                                                             Stream.HOLDOUT)).any()
    assert mask.sum() == 30
    np.testing.assert_array_equal(mask, holdout_mask(300, 0.1, problem_rng(0, 2, Stream.HOLDOUT)))
    assert (mask != holdout_mask(300, 0.1, problem_rng(0, 3, Stream.HOLDOUT))).any()
    art = gs_artifact.load(tiny_artifacts[1])
    images = [in_range_image(art, seed=s) for s in (3, 4)]
    ops, ys = zip(*[_cs_problem(img, 300, i, noise_std=0.01) for i, img in enumerate(images)])
    settings = InversionSettings(steps=3, restarts=2, inner_iterations=5, holdout=0.2,
                                 line_search="strong_wolfe", tolerance=1e-3)
    batch = invert(art, ops, ys, settings, seed=1)
    (alone,) = invert(art, [ops[1]], [ys[1]], settings, seed=1, image_indices=[1])
    np.testing.assert_allclose(batch[1].image, alone.image, atol=1e-4)
    assert batch[1].restart == alone.restart


def test_discrepancy_principle_stops_at_the_noise_floor(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    truth = in_range_image(art, seed=5)
    op = Denoising(truth.shape, noise_std=0.05)
    y = simulate(truth, op, problem_rng(0, 0, Stream.NOISE))
    settings = InversionSettings(lr=1.0, steps=10, restarts=1, tolerance=0.0,
                                 line_search="strong_wolfe")
    (full,) = invert(art, [op], [y], settings, seed=0)
    (stopped,) = invert(art, [op], [y], settings.override(discrepancy=1.0), seed=0)
    # The full fit goes below σ² (it fits noise); the rule stops once it reaches σ².
    assert full.measurement_loss < 0.05**2
    assert stopped.evaluations < full.evaluations
    assert stopped.measurement_loss <= 0.05**2 * 1.0001


def test_choosing_an_optimizer_takes_its_own_measured_settings(tiny_artifacts, photo, tmp_path,
                                                               monkeypatch):
    from click.testing import CliRunner

    import gs.cli
    from gs.jobs import JobReport
    from gs.settings import OPTIMIZER_DEFAULTS

    applied = {}

    def fake_run_job(job, artifact=None, **kwargs):
        applied["settings"] = job.settings
        return JobReport(str(job.artifact), job.operator.task, 0, job.settings.to_json())

    monkeypatch.setattr(gs.cli, "run_job", fake_run_job)
    base = [str(tiny_artifacts[1]), str(photo), "--ratio", "0.1", "--simulate", "-o",
            str(tmp_path / "o")]
    adam = OPTIMIZER_DEFAULTS["adam"]
    assert CliRunner().invoke(gs.cli.main, [*base, "--optimizer", "adam"]).exit_code == 0
    chosen = applied["settings"]
    assert (chosen.optimizer, chosen.lr, chosen.steps, chosen.line_search) == (
        "adam", adam.lr, adam.steps, adam.line_search)
    # Values given with it win over the optimiser's own.
    assert CliRunner().invoke(gs.cli.main, [*base, "--optimizer", "adam", "--lr", "0.2"]
                              ).exit_code == 0
    assert (applied["settings"].lr, applied["settings"].steps) == (0.2, adam.steps)
    # The library's override keeps a field as it is; with_optimizer changes them all.
    recommended = gs_artifact.load(tiny_artifacts[1]).metadata.settings_for("cs")
    assert recommended.with_optimizer("lbfgs") == recommended
    assert recommended.override(optimizer="adam").lr == OPTIMIZER_DEFAULTS["lbfgs"].lr


def test_usable_cores_is_this_process_affinity(monkeypatch):
    import os

    from gs.devices import usable_cores

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert usable_cores() == 3
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert usable_cores() == 1
