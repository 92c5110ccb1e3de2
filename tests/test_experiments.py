"""gs-experiment: planned grids, the cell cache, summaries, plots, cut choice, inits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from gs import artifacts as gs_artifact
from gs.artifacts import ArtifactView
from gs.experiments import cells, grid, studies, summary
from gs.experiments.cli import main as experiment_cli
from gs.experiments.inits import parse_init
from gs.export.cli import main as export_cli
from gs.invert import invert
from gs.io import write_image
from gs.methods.base import Method
from gs.methods.surgery import Surgery
from gs.metrics import psnr
from gs.operators import GaussianCS
from gs.problems import simulate
from gs.results import Recovery
from gs.seeding import Stream, problem_rng
from gs.settings import InversionSettings
from helpers import in_range_image, one_sentence_error

FAST = {"steps": 1, "restarts": 1}
FAST_FLAGS = ["--steps", "1", "--restarts", "1"]
GENERATORS = ("gs", "no-surgery")


@pytest.fixture(autouse=True)
def _threads(one_thread):
    yield


@pytest.fixture
def folder(tmp_path):
    """Two groups of two 16 px images (the first face is one the tiny model can make)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for group in ("faces", "other"):
        for i in range(2):
            write_image(root / group / f"{group}{i}.png",
                        rng.random((3, 16, 16)).astype(np.float32))
    return root


def _images(folder, shape=(3, 16, 16)):
    return grid.load_images(folder, shape)



class Recorder(Method):
    """A method that returns the adjoint image and remembers what it was given."""

    def __init__(self, name):
        self.name, self.seen = name, []

    def solve(self, problems, *, seed=0, on_step=None):
        self.seen += [(p.index, np.array(p.y)) for p in problems]
        return [Recovery(np.clip(p.operator.A_adjoint(p.y[None])[0], 0, 1), 0.0, 0.0)
                for p in problems]


# ------------------------------------------------------------------ grid and runner
def test_images_keep_their_group_and_index(folder):
    images = _images(folder)
    assert [(i.index, i.group, i.name) for i in images] == [
        (0, "faces", "faces0"), (1, "faces", "faces1"), (2, "other", "other0"),
        (3, "other", "other1")]
    subset = grid.load_images(folder, (3, 16, 16), limit=1)
    assert [(i.index, i.name) for i in subset] == [(0, "faces0"), (2, "other0")]


def test_every_method_sees_the_same_measurements(folder, tmp_path):
    methods = {"a": Recorder("a"), "b": Recorder("b")}
    planned = grid.plan(["a", "b"], [grid.TaskPoint("cs", 0.2)], _images(folder), [3])
    cells.run(planned, methods, tmp_path / "cache", batch_size=3, progress=False)
    seen_a, seen_b = dict(methods["a"].seen), dict(methods["b"].seen)
    assert sorted(seen_a) == [0, 1, 2, 3]
    for index in seen_a:
        np.testing.assert_array_equal(seen_a[index], seen_b[index])
    assert not np.array_equal(seen_a[0], seen_a[1])  # each image has its own operator


def test_tiny_grid_runs_end_to_end_and_resumes(tiny_artifacts, folder, tmp_path, monkeypatch):
    arts = [gs_artifact.load(tiny_artifacts[c]) for c in (0, 2)]
    out = tmp_path / "curve"
    first = studies.cs_curve(arts, _images(folder), [0.1, 0.3], out, surgery=FAST,
                             methods=GENERATORS, progress=False)
    assert len(first.records) == 2 * 2 * 4  # methods × ratios × images
    assert {r["label"] for r in first.records} == {"no surgery", "gs"}
    for name in ("results.csv", "summary.csv", "results.json", "plan.json"):
        assert (out / name).stat().st_size > 0, name
    for name in ("curve.png", "grid_cs_0.1.png", "grid_cs_0.3.png"):
        _png_ok(out / name)
    cached = sorted((out / "cache").rglob("*.npz"))
    assert len(cached) == 16

    def no_work(self, problems, *, seed=0, on_step=None):
        raise AssertionError("a finished cell was recomputed")

    monkeypatch.setattr(Surgery, "solve", no_work)
    second = studies.cs_curve(arts, _images(folder), [0.1, 0.3], out, surgery=FAST,
                              methods=GENERATORS, progress=False)
    assert second.records == first.records

    # An interrupted run: one cell missing → a look computes nothing and counts it,
    monkeypatch.undo()
    cached[0].unlink()
    monkeypatch.setattr(Surgery, "solve", no_work)
    peek = studies.cs_curve(arts, _images(folder), [0.1, 0.3], out, surgery=FAST,
                            methods=GENERATORS, progress=False, compute=False)
    assert len(peek.records) == 15
    assert json.loads((out / "results.json").read_text())["missing"] == 1
    # and a run recomputes exactly that cell.
    monkeypatch.undo()
    calls = []
    original = Surgery.solve

    def counting(self, problems, *, seed=0, on_step=None):
        calls.append(len(problems))
        return original(self, problems, seed=seed)

    monkeypatch.setattr(Surgery, "solve", counting)
    third = studies.cs_curve(arts, _images(folder), [0.1, 0.3], out, surgery=FAST,
                             methods=GENERATORS, progress=False)
    assert calls == [1]
    assert [r["psnr"] for r in third.records] == pytest.approx([r["psnr"] for r in first.records])


def test_a_different_experiment_in_the_same_folder_needs_overwrite(folder, tmp_path):
    images, out = _images(folder), tmp_path / "study"

    def study(ratio, **options):
        methods = {"a": Recorder("a")}
        result, _ = studies.execute("s", methods, [grid.TaskPoint("cs", ratio)], images, [0],
                                    out, progress=False, **options)
        return result, methods["a"]

    study(0.2)
    assert study(0.2)[1].seen == []  # the same study resumes: nothing left to do
    with pytest.raises(ValueError, match="different experiment"):
        study(0.3)
    again, method = study(0.3, overwrite=True)
    assert {r["ratio"] for r in again.records} == {0.3} and len(method.seen) == 4


# ------------------------------------------------------------------ summary
def test_summary_statistics_on_a_hand_computed_example():
    base = {"label": "gs", "method": "gs", "cut": 1, "init": None, "task": "cs", "ratio": 0.1,
            "ssim": 0.5, "seconds": 1.0}
    records = [dict(base, group="faces", psnr=p) for p in (20.0, 22.0, 27.0)]
    records.append(dict(base, group="other", psnr=30.0))
    rows = {row["group"]: row for row in summary.summarise(records)}
    assert rows["faces"]["n"] == 3
    assert rows["faces"]["psnr_mean"] == pytest.approx(23.0)
    assert rows["faces"]["psnr_sd"] == pytest.approx(math.sqrt(13.0))  # (9 + 1 + 16) / 2
    assert rows["other"]["psnr_sd"] == 0.0
    assert rows[summary.ALL_GROUPS]["psnr_mean"] == pytest.approx(24.75)
    assert rows[summary.ALL_GROUPS]["psnr_sd"] == pytest.approx(math.sqrt(62.75 / 3))
    assert summary.mean_sd([5.0]) == (5.0, 0.0)


def test_cut_choice_prefers_the_best_mean_and_the_smaller_cut_on_ties():
    def rec(cut, value, task="cs", ratio=0.1):
        return {"cut": cut, "psnr": value, "task": task, "ratio": ratio}

    records = [rec(0, 20), rec(0, 22), rec(1, 25), rec(1, 23), rec(2, 24), rec(2, 24),
               rec(0, 40, "raw", None)]
    sweep = studies.sweep_record(records, grid.TaskPoint("cs", 0.1))
    assert sweep["best_cut"] == 1
    assert sweep["psnr"]["0"]["mean"] == 21 and sweep["raw_psnr"]["0"]["mean"] == 40
    tie = studies.sweep_record([rec(0, 24), rec(2, 24)], grid.TaskPoint("cs", 0.1))
    assert tie["best_cut"] == 0


# ------------------------------------------------------------------ plots
def _png_ok(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as img:
        assert img.size[0] > 100 and img.size[1] > 100
        assert np.asarray(img.convert("L")).std() > 1  # not a blank canvas


def test_cut_sweep_and_init_studies_write_their_plots(tiny_artifacts, folder, tmp_path):
    art = gs_artifact.load(tiny_artifacts[2])
    sweep = studies.cut_sweep(art, _images(folder), tmp_path / "sweep", ratio=0.3,
                              surgery=FAST, progress=False)
    assert sweep.best_cut in (0, 1, 2)
    assert set(sweep.sweep["psnr"]) == {"0", "1", "2"} and set(sweep.sweep["raw_psnr"]) == {
        "0", "1", "2"}
    assert json.loads((tmp_path / "sweep" / "results.json").read_text())["sweep"] == sweep.sweep
    for name in ("cuts.png", "grid_cs_0.3.png", "grid_raw.png"):
        _png_ok(tmp_path / "sweep" / name)
    inits = studies.init_comparison(art, _images(folder), tmp_path / "init",
                                    inits=("zero", "normal:10"), surgery=FAST, progress=False)
    assert {r["init"] for r in inits.records} == {"Zero", "N(0,10)"}
    _png_ok(tmp_path / "init" / "inits.png")


# ------------------------------------------------------------------ methods
def test_a_view_at_a_shallower_cut_is_that_cut_s_generator(tiny_artifacts):
    deep, shallow = gs_artifact.load(tiny_artifacts[2]), gs_artifact.load(tiny_artifacts[1])
    view = ArtifactView(deep, 1)
    assert view.metadata.cut == 1 and view.spec == shallow.spec
    inputs = [torch.randn(2, *s, generator=torch.Generator().manual_seed(0))
              for s in shallow.spec.shapes]
    with torch.no_grad():
        torch.testing.assert_close(view.generator(*inputs), shallow.generator(*inputs),
                                   rtol=0, atol=1e-6)
    with pytest.raises(ValueError):
        ArtifactView(shallow, 2)


def test_init_names_follow_the_supplement():
    assert parse_init("normal:5").std == pytest.approx(math.sqrt(5))
    assert parse_init("zero").kind == "zero" and parse_init("lasso") == "lasso"
    with pytest.raises(ValueError, match="inits"):
        parse_init("normal:-1")


def test_invert_from_given_latents_starts_there(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    rng = np.random.default_rng(4)
    latents = [rng.standard_normal(s).clip(-1, 1).astype(np.float32) for s in art.spec.shapes]
    with torch.no_grad():
        truth = art.generator(*[torch.as_tensor(a[None]) for a in latents])[0].numpy()
    op = GaussianCS(300, truth.shape, problem_rng(0, 0, Stream.OPERATOR), noise_std=0.0)
    y = simulate(truth, op, problem_rng(0, 0, Stream.NOISE))
    settings = InversionSettings(steps=1, inner_iterations=1, restarts=2)
    (result,) = invert(art, [op], [y], settings, initial=[latents])
    assert result.stages[0].first_loss < 1e-10  # started at the truth
    assert psnr(result.image, truth) > 60
    with pytest.raises(ValueError, match="shapes"):
        invert(art, [op], [y], settings, initial=[[latents[0][:1]]])


def test_lasso_inv_starts_from_the_latent_fitted_to_the_warm_start(tiny_artifacts, tmp_path):
    art = gs_artifact.load(tiny_artifacts[1])
    truth = in_range_image(art, seed=3)
    write_image(tmp_path / "t.png", truth)

    class Oracle(Recorder):
        def solve(self, problems, *, seed=0, on_step=None):
            return [Recovery(truth, 0.0, 0.0) for _ in problems]

    image = grid.EvalImage(0, "t", grid.DEFAULT_GROUP, tmp_path / "t.png", truth)
    problem = cells.build_problem(grid.Cell("x", grid.TaskPoint("cs", 0.05), image, 0))
    settings = {"steps": 4, "restarts": 1}
    one_stage = art.metadata.settings_for("cs").override(schedule=())
    warm = Surgery(art, settings=one_stage, init="lasso", warm_start=Oracle("oracle"),
                   overrides=settings)
    cold = Surgery(art, settings=one_stage, init=parse_init("normal:10"), overrides=settings)
    (from_warm,), (from_cold,) = warm.solve([problem]), cold.solve([problem])
    assert psnr(from_warm.image, truth) > psnr(from_cold.image, truth) + 3


# ------------------------------------------------------------------ command line
def test_cli_cs_curve_and_bad_input(tiny_artifacts, folder, tmp_path):
    out = tmp_path / "out"
    args = ["cs-curve", str(tiny_artifacts[0]), "--artifacts", str(tiny_artifacts[1]),
            "--images", str(folder), "--ratios", "0.2", "-o", str(out), *FAST_FLAGS]
    result = CliRunner().invoke(experiment_cli, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("curve.png") and (out / "curve.png").exists()
    invoke = CliRunner().invoke
    one_sentence_error(invoke(experiment_cli, [*args, "--ratios", "0,2"]), "--ratios")
    one_sentence_error(invoke(experiment_cli, [*args, "--methods", "gs,magic"]), "magic")
    one_sentence_error(invoke(experiment_cli, [*args[:4], "--images", str(tmp_path / "no"),
                                                "-o", str(out)]), "--images")
    other_ratio = [a if a != "0.2" else "0.4" for a in args]
    one_sentence_error(invoke(experiment_cli, other_ratio), "different experiment")
    one_sentence_error(invoke(experiment_cli, ["init", "--artifact", str(tiny_artifacts[1]),
                                                "--images", str(folder), "--inits", "zero,x",
                                                "-o", str(tmp_path / "i")]), "--inits")
    one_sentence_error(invoke(experiment_cli, ["cut-sweep", "--artifact", "a.pt", "--weights",
                                                "w.pth", "--images", str(folder),
                                                "-o", str(tmp_path / "s")]), "--artifact")
    one_sentence_error(invoke(experiment_cli, ["cut-sweep", "--artifact",
                                                str(tiny_artifacts[1]), "--cuts", "0,5",
                                                "--images", str(folder),
                                                "-o", str(tmp_path / "s")]), "--cuts")


def test_cli_cs_curve_takes_an_onnx_artifact_and_the_classical_answer(onnx_c2, folder,
                                                                       tmp_path):
    out = tmp_path / "onnx"
    result = CliRunner().invoke(experiment_cli, [
        "cs-curve", str(onnx_c2), "--images", str(folder), "--ratios", "0.3",
        "--methods", "gs,no-surgery,classical", "-o", str(out), *FAST_FLAGS])
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "results.json").read_text())["results"]
    assert {r["label"] for r in rows} == {"gs", "no surgery", "classical"}
    assert {r["method"] for r in rows if r["label"] == "classical"} == {"tv-cs"}


def test_cli_cut_sweep_from_weights_prints_the_best_cut(tiny_weights, folder, tmp_path):
    result = CliRunner().invoke(experiment_cli, [
        "cut-sweep", "--weights", str(tiny_weights), "--model", "dcgan", "--cuts", "0,1",
        "--no-raw", "--images", str(folder), "-o", str(tmp_path / "s"), *FAST_FLAGS])
    assert result.exit_code == 0, result.output
    best = int(result.stdout.strip().splitlines()[-1].split(": ")[1])
    sweep = json.loads((tmp_path / "s" / "results.json").read_text())["sweep"]
    assert best == sweep["best_cut"] and set(sweep["psnr"]) == {"0", "1"}


def test_export_cut_auto_records_the_sweep(tiny_weights, folder, tmp_path):
    out = tmp_path / "best.pt"
    result = CliRunner().invoke(export_cli, [
        "dcgan", "--weights", str(tiny_weights), "--cut", "auto", "--val-images",
        str(folder / "faces"),
        "--val-cuts", "0,1", "--val-cache", str(tmp_path / "cache"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    meta = gs_artifact.load(out).metadata
    sweep = meta.extra["cut_sweep"]
    assert meta.cut == sweep["best_cut"] and set(sweep["psnr"]) == {"0", "1"}
    assert sweep["images"] == ["faces0", "faces1"]
    best = max(sweep["psnr"], key=lambda c: sweep["psnr"][c]["mean"])
    assert meta.cut == int(best)
    invoke = CliRunner().invoke
    one_sentence_error(invoke(export_cli, ["dcgan", "--weights", str(tiny_weights), "--cut",
                                            "auto", "-o", str(tmp_path / "x.pt")]),
                        "--val-images")
    one_sentence_error(invoke(export_cli, ["dcgan", "--weights", str(tiny_weights), "--cut",
                                            "deep", "-o", str(tmp_path / "x.pt")]), "--cut")


def test_evalset_splits_are_disjoint_and_written(tmp_path):
    from gs.experiments import evalset

    test_names = {n for n, _ in evalset.faces(15) + evalset.non_faces(7)}
    val_names = {n for n, _ in evalset.faces(15, split="val") + evalset.non_faces(5, split="val")}
    assert len(test_names) == 22 and len(val_names) == 20 and not test_names & val_names
    result = CliRunner().invoke(experiment_cli, ["evalset", "-o", str(tmp_path), "--faces", "1",
                                                 "--others", "1", "--split", "val"])
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png"))
    assert written == ["val/faces/lfw_001.png", "val/other/immunohistochemistry.png"]
    with Image.open(tmp_path / written[0]) as img:
        assert img.size == (64, 64)


def test_registered_methods_plug_into_the_cells_on_the_same_measurements(tiny_artifacts,
                                                                         folder, tmp_path):
    from gs.experiments.method_table import available, method_factory

    assert "lasso-dct" in available() and "gs" in available() and "surgery" not in available()
    art = gs_artifact.load(tiny_artifacts[1])
    make = method_factory([art])
    result = studies.cs_curve([art], _images(folder), [0.3], tmp_path / "c",
                              methods=("gs", "lasso-dct"), make_method=make, surgery=FAST,
                              progress=False)
    lasso = [r for r in result.records if r["label"] == "lasso-dct"]
    assert len(lasso) == 4 and all(r["method"] == "lasso-dct" and r["cut"] is None
                                   for r in lasso)
    problem = cells.build_problem(grid.Cell("", grid.TaskPoint("cs", 0.3), _images(folder)[0], 0))
    adjoint = problem.operator.preview(problem.y)
    assert lasso[0]["psnr"] > psnr(adjoint, _images(folder)[0].pixels)  # beats Aᵀy
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        make("magic")


def test_recovery_grid_has_a_captioned_tile_per_image_and_column(tmp_path):
    from PIL import Image

    from gs.experiments import plots

    rng = np.random.default_rng(0)
    truths = [rng.random((3, 16, 16)).astype(np.float32) for _ in range(2)]
    columns = {"gs": truths, "no surgery": [t * 0.5 for t in truths]}
    path = plots.recovery_grid(truths, truths, columns, tmp_path / "grid.png",
                               row_names=["a", "b"])
    with Image.open(path) as img:
        width, height = img.size
    tile = 16 * -(-plots.MIN_TILE_WIDTH // 16)
    assert width == 2 + 4 * (tile + 2)  # original, observed, two methods
    assert height > 2 * (tile + 2)  # caption bands under each row
    assert plots.recovery_grid(truths, None, columns, path).is_file()  # replaces it


@pytest.mark.parametrize(("task", "ratio", "options"), [
    ("sr", "0.5", {"scale": 2}),
    ("denoise", None, {}),
    ("mri", "0.25", {"acceleration": 4}),
    ("deblur", None, {}),
    ("raw", None, {}),
])
def test_cli_cut_sweep_runs_every_registered_task(tiny_artifacts, folder, tmp_path, task,
                                                  ratio, options):
    """--task takes each task of the operator registry, and the sweep's cells recover that
    task's problems: each recorded measurement loss is the recovery's under the operator
    the task and ratio name (a point dispatched to another task would not match)."""
    from gs.methods.base import measurement_loss
    from gs.problems import OperatorOptions, simulated_problem

    out = tmp_path / task
    args = ["cut-sweep", "--artifact", str(tiny_artifacts[1]), "--task", task, "--no-raw",
            "--images", str(folder), "--limit", "1", "-o", str(out), *FAST_FLAGS]
    result = CliRunner().invoke(experiment_cli, [*args, *(["--ratio", ratio] if ratio else [])])
    assert result.exit_code == 0, result.output
    sweep = json.loads((out / "results.json").read_text())["sweep"]
    assert sweep["task"] == task and set(sweep["psnr"]) == {"0", "1"}
    records = json.loads((out / "results.json").read_text())["results"]
    assert {r["task"] for r in records} == {task}
    images = {image.name: image for image in _images(folder)}
    cached = {path.stem: path for path in (out / "cache").rglob("*.npz")}
    assert len(cached) == len(records)
    for record in records:
        image = images[record["image"]]
        problem = simulated_problem(image.path, image.index, image.pixels,
                                    OperatorOptions(task, **options), record["seed"])
        recovered = [np.load(p)["image"] for p in cached.values()
                     if json.loads(str(np.load(p)["scores"]))["psnr"] == record["psnr"]]
        assert recovered
        assert measurement_loss(problem.operator, recovered[0], problem.y) == pytest.approx(
            record["measurement_loss"], rel=1e-4, abs=1e-7)
    if ratio is None and task in ("denoise", "deblur"):
        one_sentence_error(CliRunner().invoke(experiment_cli, [*args, "--ratio", "0.5"]),
                           "--ratio", "no ratio axis")


def test_cli_cut_sweep_refuses_an_impossible_point_before_fitting(tiny_artifacts, folder,
                                                                  tmp_path):
    one_sentence_error(CliRunner().invoke(experiment_cli, [
        "cut-sweep", "--artifact", str(tiny_artifacts[1]), "--task", "mri", "--ratio", "0.1",
        "--images", str(folder), "-o", str(tmp_path / "m"), *FAST_FLAGS]), "acceleration")
    one_sentence_error(CliRunner().invoke(experiment_cli, [
        "cut-sweep", "--artifact", str(tiny_artifacts[1]), "--task", "magic",
        "--images", str(folder), "-o", str(tmp_path / "m"), *FAST_FLAGS]), "--task")


# ------------------------------------------------------------------ best-quality study
QUALITY_KEYS = {"point", "method", "photo", "group", "psnr", "seconds", "stage_seconds",
                "answer", "machine"}


def test_cli_quality_runs_resumes_tabulates_and_plots(tiny_artifacts, tmp_path):
    cache = tmp_path / "quality.jsonl"
    args = ["quality", "--artifact", str(tiny_artifacts[1]), "--faces", "1", "--others", "1",
            "--points", "CS 33 %", "--methods", "classical,defaults", "-o", str(cache),
            *FAST_FLAGS]
    invoke = CliRunner().invoke
    first = invoke(experiment_cli, args)
    assert first.exit_code == 0, first.output
    records = [json.loads(line) for line in cache.read_text().splitlines()]
    assert all(set(r) == QUALITY_KEYS for r in records)
    assert sorted((r["method"], r["group"]) for r in records) == [
        ("classical", "faces"), ("classical", "other"), ("defaults", "faces"),
        ("defaults", "other")]
    assert {r["point"] for r in records} == {"CS 33 %"}
    assert all(math.isfinite(r["psnr"]) and r["seconds"] >= 0 for r in records)
    before = cache.read_text()
    again = invoke(experiment_cli, args)  # resumes: everything is in the cache
    assert again.exit_code == 0, again.output
    assert cache.read_text() == before and "0 new results" in again.output

    png = tmp_path / "quality.png"
    drawn = invoke(experiment_cli, ["quality", "--cache", str(cache), "--table",
                                    "--plot", str(png)])
    assert drawn.exit_code == 0, drawn.output
    lines = drawn.stdout.strip().splitlines()
    assert lines[0].startswith("| task | photos | classical | defaults |")
    assert [line.split(" | ")[:2] for line in lines[2:]] == [["| CS 33 %", "faces"],
                                                              ["| CS 33 %", "other"]]
    assert all(line.count("(1)") == 2 for line in lines[2:])
    _png_ok(png)
    one_sentence_error(invoke(experiment_cli, ["quality", "--cache", str(cache),
                                               "--plot", str(png)]), "--plot", "--overwrite")
    replaced = invoke(experiment_cli, ["quality", "--cache", str(cache), "--plot", str(png),
                                       "--overwrite"])
    assert replaced.exit_code == 0, replaced.output


def test_cli_quality_refuses_bad_input_in_one_sentence(tiny_artifacts, tmp_path):
    invoke = CliRunner().invoke
    cache = str(tmp_path / "q.jsonl")
    run = ["quality", "--artifact", str(tiny_artifacts[1]), "--faces", "1", "--others", "0",
           "--points", "CS 33 %", "-o", cache]
    one_sentence_error(invoke(experiment_cli, [*run, "--methods", "defaults,iagan"]),
                       "iagan", "--weights")
    one_sentence_error(invoke(experiment_cli, [*run, "--methods", "mganprior", "--slow", "1"]),
                       "--weights")
    one_sentence_error(invoke(experiment_cli, [*run, "--methods", "magic"]), "--methods",
                       "magic")
    one_sentence_error(invoke(experiment_cli, [*run, "--points", "CS 5 %"]), "--points")
    one_sentence_error(invoke(experiment_cli, [*run, "--faces", "-1"]), "--faces")
    one_sentence_error(invoke(experiment_cli, [*run, "--faces", "0"]), "--faces", "--others")
    one_sentence_error(invoke(experiment_cli, [*run, "--budget", "0"]), "--budget")
    one_sentence_error(invoke(experiment_cli, [*run, "--slow", "-2"]), "--slow")
    one_sentence_error(invoke(experiment_cli, [*run, "--seed", "-1"]), "--seed",
                       "integer ≥ 0")  # the job's declaration (gs.jobs.JOB_PARAMS)
    # --steps and --restarts are InversionSettings' declarations, --device gs.devices'.
    one_sentence_error(invoke(experiment_cli, [*run, "--steps", "0"]), "--steps", "integer ≥ 1")
    one_sentence_error(invoke(experiment_cli, [*run, "--restarts", "0"]), "--restarts",
                       "integer ≥ 1")
    one_sentence_error(invoke(experiment_cli, [*run, "--methods", "defaults", "--device", "tpu"]),
                       "--device", "cuda:N")
    one_sentence_error(invoke(experiment_cli, ["quality", "-o", cache]), "--artifact")
    one_sentence_error(invoke(experiment_cli, ["quality", "-o", cache, "--table"]), "--cache")
    assert not (tmp_path / "q.jsonl").exists()


def test_quality_builds_best_at_its_budget(tiny_artifacts):
    from gs.experiments import quality

    art = gs_artifact.load(tiny_artifacts[1])
    best = quality.build("best", "cs", art, budget=3.0)
    assert (best.settings.quality, best.settings.budget) == ("best", 3.0)
    assert quality.build("defaults", "sr", art, budget=3.0).settings.quality == "fast"
    assert quality.build("defaults", "cs", art, overrides=FAST).settings.steps == 1


def test_quality_table_marks_the_best_mean_and_best_minus_defaults():
    from gs.experiments import quality

    def rec(method, photo, value, seconds=1.0):
        return {"point": "SR x4", "method": method, "photo": photo, "group": "faces",
                "psnr": value, "seconds": seconds}

    records = [rec("defaults", "a", 20.0), rec("defaults", "b", 22.0),
               rec("best", "a", 21.0, 3.0), rec("best", "b", 21.5, 5.0)]
    lines = quality.table(records).splitlines()
    assert lines[0] == "| task | photos | defaults | best | best − defaults: mean (worst photo) |"
    assert lines[2] == ("| SR ×4 | faces | 21.00 ± 1.00 (2), 1.0 s | **21.25 ± 0.25 (2)**, "
                        "4.0 s | +0.25 (-0.50) |")
    assert quality.parse_points(["sr ×4", "CS 8 %", "SR x4"]) == ["SR x4", "CS 8 %"]
