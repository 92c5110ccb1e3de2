"""gs-invert and gs-export through click's runner: both modes, reports, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gs import artifacts as gs_artifact
from gs.cli import SETTING_FLAGS
from gs.cli import main as invert_cli
from gs.export.cli import main as export_cli
from gs.io import write_image
from gs.params import declared_params
from gs.settings import InversionSettings
from helpers import one_sentence_error

FAST = ["--steps", "2", "--inner-iterations", "5", "--restarts", "2", "--seed", "0"]


def run(cli, args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result



def test_the_setting_flags_are_the_settings_declarations():
    declared = declared_params(InversionSettings)
    options = {param.name: param for param in invert_cli.params}
    for name in SETTING_FLAGS:
        option = options[name]
        assert option.opts == ["--" + name.replace("_", "-")] and option.default is None
        assert option.help.startswith(declared[name].param.help)
        names = {int: "integer", float: "float", str: "text"}
        assert option.type.name == names[declared[name].type]
    assert "Allowed: ≥ 1." in options["steps"].help and "[default" not in options["steps"].help
    assert "[default: 20.0]" in options["budget"].help
    assert options["optimizer"].metavar == "[lbfgs|adam]"


def test_simulate_mode_writes_images_and_report(tmp_path, tiny_artifacts, photo):
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = run(invert_cli, [tiny_artifacts[1], photo, photo, "--task", "cs", "--measurements",
                              300, "--simulate", "-o", out, "--report", report,
                              "--save-measurements", *FAST])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["task"] == "cs" and data["artifact"].endswith("tiny_c1.pt")
    assert len(data["images"]) == 2 and data["settings"]["steps"] == 2
    assert data["settings"]["keep_best"] is True
    for entry in data["images"]:
        assert set(entry) >= {"path", "output", "psnr", "ssim", "measurement_loss", "restart",
                              "seconds"}
        assert 5 < entry["psnr"] < 60 and -1 <= entry["ssim"] <= 1
        with Image.open(entry["output"]) as img:
            assert img.size == (16, 16)
    assert (out / "astronaut.png").exists() and (out / "astronaut_2.png").exists()
    assert (out / "astronaut.npz").exists()


def test_cs_observation_mode_reproduces_the_simulated_problem(tmp_path, tiny_artifacts, photo):
    sim = tmp_path / "sim"
    run(invert_cli, [tiny_artifacts[1], photo, "--measurements", 200, "--simulate", "-o", sim,
                     "--save-measurements", "--report", tmp_path / "a.json", *FAST])
    result = run(invert_cli, [tiny_artifacts[1], sim / "astronaut.npz", "--task", "cs", "-o",
                              tmp_path / "obs", "--report", tmp_path / "b.json", *FAST])
    assert result.exit_code == 0, result.output
    simulated = json.loads((tmp_path / "a.json").read_text())["images"][0]
    observed = json.loads((tmp_path / "b.json").read_text())["images"][0]
    assert observed["psnr"] is None and observed["ssim"] is None
    assert observed["measurement_loss"] == pytest.approx(simulated["measurement_loss"], rel=1e-4)


@pytest.mark.parametrize("task", ["sr", "inpaint", "denoise"])
def test_image_observation_modes(tmp_path, tiny_artifacts, task):
    rng = np.random.default_rng(0)
    size = 4 if task == "sr" else 16
    observed = tmp_path / "seen.png"
    write_image(observed, rng.uniform(0, 1, (3, size, size)).astype(np.float32))
    args = [tiny_artifacts[1], observed, "--task", task, "-o", tmp_path / "out", *FAST]
    if task == "inpaint":
        mask = tmp_path / "mask.png"
        Image.fromarray(((rng.uniform(size=(16, 16)) > 0.5) * 255).astype(np.uint8)).save(mask)
        args += ["--mask", mask]
    result = run(invert_cli, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "seen.png").exists()


def test_speed_flags_reach_the_engine(tmp_path, tiny_artifacts, photo):
    report = tmp_path / "r.json"
    result = run(invert_cli, [tiny_artifacts[1], photo, "--ratio", 0.3, "--simulate",
                              "--precision", "bf16", "--keep-restarts-after", 1, "-o", tmp_path,
                              "--last-iterate", "--report", report, *FAST])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["settings"]["precision"] == "bf16"
    assert data["settings"]["keep_best"] is False
    assert data["settings"]["keep_restarts_after"] == 1
    entry = data["images"][0]
    assert entry["total_evaluations"] < 2 * entry["evaluations"]  # the loser stopped early
    one_sentence_error(run(invert_cli, [tiny_artifacts[1], photo, "--ratio", 0.3, "--simulate",
                                        "--keep-restarts-after", -1, "-o", tmp_path / "x"]),
                       "--keep-restarts-after")


def test_progressive_init_through_the_cli(tmp_path, tiny_artifacts, photo):
    report = tmp_path / "r.json"
    result = run(invert_cli, [tiny_artifacts[2], photo, "--ratio", 0.3, "--simulate",
                              "--init", "progressive", "--schedule", "0,2", "-o", tmp_path,
                              "--report", report, *FAST])
    assert result.exit_code == 0, result.output
    stages = json.loads(report.read_text())["images"][0]["stages"]
    assert [s["cut"] for s in stages] == [0, 2]


def test_bad_input_exits_2_with_one_sentence(tmp_path, tiny_artifacts, photo):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    base = [tiny_artifacts[1]]
    one_sentence_error(run(invert_cli, [*base, text, "--simulate", "--measurements", 10, "-o",
                                        tmp_path / "o"]), "notes.png", "not a readable image")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 10)
    one_sentence_error(run(invert_cli, [junk, photo, "--simulate", "--measurements", 10, "-o",
                                        tmp_path / "o"]), "junk.pt")
    for m in (0, 769):
        one_sentence_error(run(invert_cli, [*base, photo, "--simulate", "--measurements", m,
                                            "-o", tmp_path / "x"]), "--measurements")
    assert not (tmp_path / "x").exists()
    one_sentence_error(run(invert_cli, [*base, photo, "--simulate", "--measurements", 10, "-o",
                                        tmp_path / "o", "--schedule", "0,1"]), "--schedule")
    for cuts in ("0,a", "-1,1"):  # the declaration's words: InversionSettings.schedule
        one_sentence_error(run(invert_cli, [*base, photo, "--simulate", "--measurements", 10,
                                            "-o", tmp_path / "o", "--init", "progressive",
                                            "--schedule", cuts]),
                           "--schedule must list integers ≥ 0", cuts.split(",")[0])
    one_sentence_error(run(invert_cli, [*base, photo, "--task", "inpaint", "-o", tmp_path / "o"]),
                       "is 120x120 pixels")
    assert not (tmp_path / "o").exists()


def test_existing_outputs_are_not_overwritten(tmp_path, tiny_artifacts, photo):
    out = tmp_path / "out"
    out.mkdir()
    (out / "astronaut.png").write_bytes(b"keep me")
    result = run(invert_cli, [tiny_artifacts[1], photo, "--simulate", "--measurements", 50,
                              "-o", out, *FAST])
    one_sentence_error(result, "already exists", "--overwrite")
    assert (out / "astronaut.png").read_bytes() == b"keep me"
    result = run(invert_cli, [tiny_artifacts[1], photo, "--simulate", "--measurements", 50,
                              "-o", out, "--overwrite", *FAST])
    assert result.exit_code == 0, result.output


def test_gs_export_writes_a_loadable_artifact(tmp_path, tiny_weights):
    out = tmp_path / "c1.pt"
    result = run(export_cli, ["dcgan", "--weights", tiny_weights, "--cut", 1, "-o", out])
    assert result.exit_code == 0, result.output
    assert gs_artifact.load(out).metadata.cut == 1
    one_sentence_error(run(export_cli, ["dcgan", "--weights", tiny_weights, "--cut", 1, "-o",
                                        out]), "already exists")


def test_gs_export_bad_input(tmp_path, tiny_weights):
    one_sentence_error(run(export_cli, ["stylegan", "--weights", tiny_weights, "-o",
                                        tmp_path / "a.pt"]), "stylegan", "dcgan")
    one_sentence_error(run(export_cli, ["dcgan", "--weights", tiny_weights, "--cut", 9, "-o",
                                        tmp_path / "a.pt"]), "--cut 9", "from 0 to 2")
    junk = tmp_path / "junk.pth"
    junk.write_text("not torch")
    one_sentence_error(run(export_cli, ["dcgan", "--weights", junk, "-o", tmp_path / "a.pt"]),
                       "junk.pth", "not a readable PyTorch checkpoint")
    one_sentence_error(run(export_cli, ["dcgan", "--weights", tiny_weights, "-o",
                                        tmp_path / "a.bin"]), "must end in .pt")
    assert not list(tmp_path.glob("a.*"))


def test_devices_shards_through_lightning_and_matches_one_process(tmp_path, tiny_artifacts,
                                                                  photo):
    common = [tiny_artifacts[1], photo, photo, photo, "--ratio", 0.3, "--simulate",
              "--batch-size", 1, *FAST]
    single = run(invert_cli, [*common, "-o", tmp_path / "one", "--report", tmp_path / "1.json"])
    assert single.exit_code == 0, single.output
    sharded = run(invert_cli, [*common, "-o", tmp_path / "two", "--report", tmp_path / "2.json",
                               "--devices", 2, "--accelerator", "cpu"])
    assert sharded.exit_code == 0, sharded.output
    one = json.loads((tmp_path / "1.json").read_text())["images"]
    two = json.loads((tmp_path / "2.json").read_text())["images"]
    assert [e["index"] for e in two] == [0, 1, 2]
    for a, b in zip(one, two):
        assert b["psnr"] == pytest.approx(a["psnr"], abs=1e-3)
        assert b["restart"] == a["restart"]
    assert len(list((tmp_path / "two").glob("*.png"))) == 3


def test_cpu_workers_share_the_cores(monkeypatch):
    import os

    from gs.distributed import cpu_threads_per_process

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert cpu_threads_per_process(1) == 8
    assert cpu_threads_per_process(2) == 4
    assert cpu_threads_per_process(3) == 2
    assert cpu_threads_per_process(16) == 1
