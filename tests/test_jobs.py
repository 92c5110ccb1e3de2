"""Whole jobs: folders, the request object, failures, resume and interruption, flag ranges."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gs.cli import main as invert_cli
from gs.clitools import EXIT_SOME_FAILED, flag_names, user_errors
from gs.errors import UserInputError
from gs.jobs import InversionJob, OperatorOptions, list_inputs, run_job
from gs.settings import InversionSettings
from helpers import one_sentence_error, write_images

FAST = ["--steps", "2", "--inner-iterations", "5", "--restarts", "2", "--seed", "0"]
SETTINGS = InversionSettings(steps=2, inner_iterations=5, restarts=2, lr=0.5)


def run(*args: object):
    return CliRunner().invoke(invert_cli, [str(a) for a in args])


def test_folders_expand_sorted_recursively_with_their_layout(tmp_path, tiny_artifacts, photo):
    folder = write_images(tmp_path / "photos", count=5)
    (folder / "notes.txt").write_text("not an image")
    (folder / "._img01.jpg").write_bytes(b"macOS resource fork")  # hidden: skipped
    (folder / ".cache").mkdir()
    (folder / ".cache" / "thumb.png").write_bytes(b"")
    job = InversionJob(tiny_artifacts[1], (folder, photo), tmp_path / "out", simulate=True)
    inputs = list_inputs(job)
    relative = [item.path.relative_to(folder).as_posix() for item in inputs[:-1]]
    assert relative == ["faces/img01.jpg", "faces/img03.png", "more/nested/img00.png",
                        "more/nested/img02.webp", "more/nested/img04.jpg"]
    assert [item.index for item in inputs] == list(range(6))
    assert inputs[0].output == tmp_path / "out" / "faces" / "img01.png"
    assert inputs[-1].output == tmp_path / "out" / "astronaut.png"

    report = tmp_path / "r.json"
    result = run(tiny_artifacts[1], folder, "--simulate", "--ratio", 0.3, "-o", tmp_path / "out",
                 "--report", report, "--batch-size", 4, *FAST)
    assert result.exit_code == 0, result.output
    entries = json.loads(report.read_text())["images"]
    assert [e["index"] for e in entries] == list(range(5))
    assert [Path(e["output"]) for e in entries] == [item.output for item in inputs[:-1]]
    assert all(Path(e["output"]).is_file() for e in entries)


def test_empty_folder_and_missing_paths_are_refused(tmp_path, tiny_artifacts):
    (tmp_path / "empty").mkdir()
    one_sentence_error(run(tiny_artifacts[1], tmp_path / "empty", "--simulate", "-o",
                           tmp_path / "o"), "IMAGES", "empty", "no ")
    one_sentence_error(run(tiny_artifacts[1], tmp_path / "nowhere", "--simulate", "-o",
                           tmp_path / "o"), "IMAGES", "nowhere", "does not exist")


def test_the_request_object_validates_and_names_fields(tmp_path, tiny_artifacts, photo):
    base = {"artifact": tiny_artifacts[1], "images": (photo,), "output_dir": tmp_path}
    for changes, field in [({"batch_size": 0}, "batch_size"), ({"seed": -1}, "seed"),
                           ({"images": ()}, "images"), ({"resume": True}, "resume")]:
        with pytest.raises(UserInputError) as info:
            InversionJob(**{**base, **changes})
        assert info.value.field == field and str(info.value).startswith(field)
        assert "--" not in str(info.value)
    job = InversionJob(**base, simulate=True, settings=SETTINGS,
                       operator=OperatorOptions(task="cs", ratio=0.3))
    seen = []
    report = run_job(job, progress=seen.append)
    assert seen == report.images and len(seen) == 1 and report.failed == []
    assert job.images == (Path(photo),) and isinstance(job.output_dir, Path)


def test_flag_names_come_from_the_command(tiny_artifacts):
    import click

    names = flag_names(invert_cli, {"image": "IMAGE", "out": "output_dir"})
    assert names["measurements"] == "--measurements" and names["images"] == "IMAGES"
    assert names["output_dir"] == "--output-dir" and names["out"] == "--output-dir"
    assert names["image"] == "IMAGE"

    @click.command()
    @click.option("--batch-size", type=int)
    @user_errors
    def tool(batch_size: int) -> None:
        if batch_size == 0:
            raise UserInputError("must be at least 1, got 0", field="batch_size")
        raise RuntimeError("a bug")

    result = CliRunner().invoke(tool, ["--batch-size", "0"])
    assert result.exit_code == 2
    assert "Error: --batch-size must be at least 1, got 0" in result.output
    result = CliRunner().invoke(tool, ["--batch-size", "1"])
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


BAD_FLAGS = [
    (["--steps", 0], "--steps must be an integer ≥ 1, got 0"),
    (["--inner-iterations", 0], "--inner-iterations must be an integer ≥ 1"),
    (["--restarts", 0], "--restarts must be an integer ≥ 1"),
    (["--lr", 0], "--lr must be a finite number > 0, got 0"),
    (["--lr", "nan"], "--lr must be a finite number > 0, got nan"),
    (["--tolerance", -1], "--tolerance must be a number in [0, 1], got -1"),
    (["--keep-restarts-after", -1], "--keep-restarts-after must be an integer ≥ 0"),
    (["--batch-size", 0], "--batch-size must be an integer ≥ 1, got 0"),
    (["--seed", -1], "--seed must be an integer ≥ 0, got -1"),
    (["--measurements", 0], "--measurements must be between 1 and 768"),
    # The task's options: their declarations (gs.operators.options.OPTIONS).
    (["--ratio", 0], "--ratio must be a number in (0, 1], got 0"),
    (["--ratio", 1.5], "--ratio must be a number in (0, 1], got 1.5"),
    (["--operator", "structured", "--rounds", 5], "--rounds must be an integer in [1, 4], got 5"),
    (["--task", "inpaint", "--keep", 0], "--keep must be a number in (0, 1]"),
    (["--task", "inpaint", "--keep", 1.5], "--keep must be a number in (0, 1]"),
    (["--task", "sr", "--scale", 3], "--scale must be one of 2, 4, 8, got 3"),
    (["--task", "sr", "--method", "cubic"], "--method must be one of bilinear, area, got 'cubic'"),
    (["--task", "sr", "--scale", 8, "--noise-std", -1], "--noise-std must be a finite number ≥ 0"),
    (["--task", "deblur", "--sigma", 0], "--sigma must be a number in (0, 42.3], got 0"),
    (["--task", "deblur", "--length", 300], "--length must be a number in [1, 254], got 300"),
    (["--init", "normal", "--init-std", 0], "--init-std must be a finite number > 0, got 0"),
    (["--init", "normal", "--init-std", "inf"], "--init-std must be a finite number > 0"),
    (["--devices", 0], "--devices must be at least 1"),
    (["--num-nodes", 0], "--num-nodes must be an integer ≥ 1, got 0"),  # gs-train's declaration
    (["--device", "tpu"], "--device must be auto, cpu, cuda or cuda:N"),
    (["--init", "progressive", "--schedule", "0,5"], "--schedule"),
    (["--schedule", "0,1"], "--schedule needs --init progressive"),
    (["--holdout", 1], "--holdout must be a number in [0, 1), got 1.0"),
    (["--optimizer", "sgd"], "--optimizer must be one of lbfgs, adam, got 'sgd'"),
    (["--answer", "best"], "--answer must be one of generator, classical, held_out"),
]


@pytest.mark.parametrize("flags, message", BAD_FLAGS, ids=[" ".join(map(str, f)) for f, _ in
                                                            BAD_FLAGS])
def test_every_numeric_flag_is_checked_with_its_range(tmp_path, tiny_artifacts, photo, flags,
                                                      message):
    cs_given = "--task" in flags or {"--measurements", "--ratio"} & set(flags)
    task = [] if cs_given else ["--ratio", 0.3]
    result = run(tiny_artifacts[1], photo, "--simulate", *task, *flags, "-o", tmp_path / "o")
    one_sentence_error(result, message)
    assert not (tmp_path / "o").exists()


def test_scale_must_divide_the_image():
    from gs.operators import SuperResolution

    with pytest.raises(UserInputError, match="must divide the image height and width, got 20x20"):
        SuperResolution(8, (3, 20, 20))


def make_diverging_observation(tmp_path: Path, artifact: Path, photo: Path) -> Path:
    """A cs measurement file whose y is so large that every restart's loss overflows."""
    sim = tmp_path / "sim"
    result = run(artifact, photo, "--simulate", "--measurements", 50, "--save-measurements",
                 "-o", sim, *FAST)
    assert result.exit_code == 0, result.output
    with np.load(sim / "astronaut.npz") as data:
        fields = dict(data)
    fields["y"] = np.full_like(fields["y"], 3e38)
    bad = tmp_path / "diverge.npz"
    np.savez(bad, **fields)
    return bad


def test_an_image_whose_restarts_all_diverge_is_reported_failed(tmp_path, tiny_artifacts, photo):
    bad = make_diverging_observation(tmp_path, tiny_artifacts[1], photo)
    good = tmp_path / "sim" / "astronaut.npz"
    report = tmp_path / "r.json"
    result = run(tiny_artifacts[1], bad, good, "--task", "cs", "-o", tmp_path / "out",
                 "--report", report, *FAST)
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    assert "1 of 2 images failed" in result.output
    failed, ok = json.loads(report.read_text())["images"]
    assert "NaN or infinite" in failed["failure"] and failed["output"] is None
    assert failed["measurement_loss"] is None and failed["psnr"] is None
    assert not (tmp_path / "out" / "diverge.png").exists()
    assert ok["failure"] is None and Path(ok["output"]).is_file()
    json.loads(report.read_text(), parse_constant=pytest.fail)  # no NaN/Infinity anywhere


def test_resume_skips_done_images_and_refuses_another_job(tmp_path, tiny_artifacts):
    folder = write_images(tmp_path / "photos", count=3)
    out, report = tmp_path / "out", tmp_path / "r.json"
    # One image per batch, as the resumed run solves it: a batch's size changes the float
    # rounding of its convolutions, which the line search can amplify.
    args = [tiny_artifacts[1], folder, "--simulate", "--ratio", 0.3, "-o", out, "--report",
            report, "--batch-size", 1, *FAST]
    assert run(*args).exit_code == 0
    entries = json.loads(report.read_text())["images"]
    first, second = Path(entries[0]["output"]), Path(entries[1]["output"])
    stamp = first.stat().st_mtime_ns
    second.unlink()  # lost: must be redone
    data = json.loads(report.read_text())
    data["images"] = data["images"][:1] + data["images"][2:]  # and one entry never written
    report.write_text(json.dumps(data))
    one_sentence_error(run(*args), "already exists", "--overwrite")
    result = run(*args, "--resume")
    assert result.exit_code == 0, result.output
    resumed = json.loads(report.read_text())["images"]
    assert [e["index"] for e in resumed] == [0, 1, 2]
    assert first.stat().st_mtime_ns == stamp and second.is_file()
    assert resumed[1]["psnr"] == pytest.approx(entries[1]["psnr"], abs=1e-6)
    one_sentence_error(run(*args[:-2], "--seed", 1, "--resume"), "--report", "other options")
    one_sentence_error(run(*args, "--resume", "--overwrite"), "--resume", "--overwrite")


def _gs_invert(*args: object) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    code = "import sys; from gs.cli import main; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _entries(report: Path) -> list[dict]:
    try:
        return json.loads(report.read_text())["images"]
    except (OSError, ValueError):
        return []


def test_sigterm_midway_then_resume_recovers_every_image_once(tmp_path, tiny_artifacts):
    count = 6
    folder = write_images(tmp_path / "photos", count=count)
    slow = ["--simulate", "--ratio", 0.3, "--steps", 6, "--inner-iterations", 10, "--restarts",
            2, "--tolerance", 0, "--batch-size", 1, "--seed", 3]

    def job(name: str) -> list[object]:
        return [tiny_artifacts[1], folder, *slow, "-o", tmp_path / name, "--report",
                tmp_path / f"{name}.json"]

    whole = _gs_invert(*job("whole"))
    assert whole.wait(timeout=300) == 0, whole.stderr.read()

    report = tmp_path / "cut.json"
    cut = _gs_invert(*job("cut"))
    deadline = time.monotonic() + 300
    while len(_entries(report)) < 2 and cut.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cut.poll() is None, "the job ended before it could be interrupted"
    cut.send_signal(signal.SIGTERM)
    start = time.monotonic()
    assert cut.wait(timeout=60) == 128 + signal.SIGTERM
    assert time.monotonic() - start < 20  # prompt: at most the image in flight
    assert "--resume" in cut.stderr.read()
    done_before = {e["index"]: Path(e["output"]).stat().st_mtime_ns for e in _entries(report)}
    assert 2 <= len(done_before) < count
    assert not [p for p in (tmp_path / "cut").rglob(".*")], "a temporary file was left"

    resumed = _gs_invert(*job("cut"), "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    entries = _entries(report)
    assert [e["index"] for e in entries] == list(range(count))  # each image exactly once
    for index, stamp in done_before.items():  # not recovered a second time
        assert Path(entries[index]["output"]).stat().st_mtime_ns == stamp
    reference = _entries(tmp_path / "whole.json")
    for a, b in zip(reference, entries):
        assert Path(a["output"]).read_bytes() == Path(b["output"]).read_bytes()
        assert a["measurement_loss"] == b["measurement_loss"] and a["psnr"] == b["psnr"]
    files = sorted(p.relative_to(tmp_path / "cut") for p in (tmp_path / "cut").rglob("*")
                   if p.is_file())
    assert len(files) == count and not [p for p in files if p.name.startswith(".")]


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_a_command_promptly_with_its_exit_code(signum, code):
    import click

    from gs.clitools import interruptible

    finished = []

    @click.command()
    def tool() -> None:
        with interruptible(lambda: "2 images done"):
            try:
                os.kill(os.getpid(), signum)
                time.sleep(5)  # interrupted long before this ends
            finally:
                finished.append("cleanup ran")

    start = time.monotonic()
    result = CliRunner().invoke(tool, [])
    assert time.monotonic() - start < 4
    assert result.exit_code == code, result.output
    assert f"Interrupted by {signal.Signals(signum).name}; 2 images done" in result.output
    assert finished == ["cleanup ran"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


def test_the_engine_marks_an_image_whose_every_restart_diverged(tmp_path, tiny_artifacts, photo):
    from gs.artifacts import load
    from gs.invert import invert
    from gs.jobs import load_problems

    bad = make_diverging_observation(tmp_path, tiny_artifacts[1], photo)
    art = load(tiny_artifacts[1])
    job = InversionJob(tiny_artifacts[1], (bad,), tmp_path / "o", OperatorOptions("cs"))
    (problem,) = load_problems(job, art.metadata.image_shape, list_inputs(job))
    (result,) = invert(art, [problem.operator], [problem.y], SETTINGS)
    assert result.failure is not None and "NaN or infinite" in result.failure
    assert not np.isfinite(result.measurement_loss)


def test_an_app_stops_a_job_from_its_progress_callback(tmp_path, tiny_artifacts):
    folder = write_images(tmp_path / "photos", count=3)
    report = tmp_path / "r.json"
    job = InversionJob(tiny_artifacts[1], (folder,), tmp_path / "out", simulate=True,
                       settings=SETTINGS, operator=OperatorOptions("cs", ratio=0.3),
                       report=report, batch_size=1)

    class Cancelled(Exception):
        pass

    def cancel(entry: dict) -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        run_job(job, progress=cancel)
    (entry,) = _entries(report)
    assert Path(entry["output"]).is_file()
    assert len([p for p in (tmp_path / "out").rglob("*") if p.is_file()]) == 1
    resumed = run_job(InversionJob(**{**vars(job), "resume": True}))
    assert [e["index"] for e in resumed.images] == [0, 1, 2]
