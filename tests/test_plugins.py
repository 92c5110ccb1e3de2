"""Model plug-ins: packages that every gs command finds through their entry points.

The example package (examples/gs-plugin-example) is installed by pip into a folder of
its own that is put on PYTHONPATH, and gs's console scripts run it in fresh processes,
as a shell would: nothing in gs names it. Beside it lies a plug-in that raises when
imported, which every command reports in one sentence and leaves out. Broken plug-ins
are distributions written by hand (a dist-info folder is all that entry points are read
from); the ways a plug-in can fail are tested in-process, on the registries themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gs import artifacts as artifact
from gs.artifacts import onnx as onnx_runtime
from gs.commands import main as gs_cli
from gs.export.cli import main as export_cli
from gs.models import MODELS, model_class
from gs.testing import f32_atol
from gs.train.cli import main as train_cli
from gs.train.models import TRAINERS
from helpers import FAST_TRAINER, one_sentence_error, write_images

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "gs-plugin-example"
BIN = Path(sys.executable).parent
COMMAND_TIMEOUT = 300  # seconds; a command of a few steps on 16 px images takes a few

BROKEN = {"gs.models": {"broken": "gs_broken_plugin"}}
BROKEN_CODE = {"gs_broken_plugin": 'raise RuntimeError("needs a GPU driver")\n'}
BROKEN_SENTENCE = ("the plug-in model 'broken' of gs-broken-plugin 0.2 (entry point broken = "
                   "gs_broken_plugin) raised RuntimeError: needs a GPU driver when imported")


def install_by_hand(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]],
                    modules: dict[str, str]) -> Path:
    """Write an installed distribution into ``site``: its dist-info (metadata and entry
    points, ``{group: {name: value}}``) and its modules (``{module name: code}``)."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items())
        for group, points in entry_points.items()))
    for module, code in modules.items():
        (site / f"{module}.py").write_text(code)
    return site


def installed(site: Path) -> dict[str, str]:
    """The environment of a process that has the packages in ``site`` installed."""
    return {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}


def run(tool: str, *args: object, site: Path) -> subprocess.CompletedProcess[str]:
    """Run gs's console script ``tool`` with the packages in ``site`` installed."""
    return subprocess.run([str(BIN / tool), *map(str, args)], capture_output=True, text=True,
                          env=installed(site), timeout=COMMAND_TIMEOUT)


def run_together(*commands: tuple[object, ...], site: Path) -> None:
    """Run several console scripts at once (each ``(tool, *args)``); each must succeed."""
    processes = [subprocess.Popen([str(BIN / tool), *map(str, args)], env=installed(site),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for tool, *args in commands]
    for process in processes:
        out, err = process.communicate(timeout=COMMAND_TIMEOUT)
        assert process.returncode == 0, out + err


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# --- the example package, installed ---------------------------------------------------------

@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/gs-plugin-example installed by pip (offline, no dependencies) into a folder,
    and beside it gs-broken-plugin, whose module raises when imported."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE, work / "source")  # the build writes beside its sources
    site = work / "site"
    ok(subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                       "--no-build-isolation", "--no-index", "--target", str(site), str(source)],
                      capture_output=True, text=True, timeout=COMMAND_TIMEOUT))
    return install_by_hand(site, "gs-broken-plugin", "0.2", BROKEN, BROKEN_CODE)


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("gs: ")]


def test_gs_models_lists_the_example_and_the_built_in_models_and_leaves_out_the_broken_one(
        plugin_site):
    result = ok(run("gs", "models", "--json", site=plugin_site))
    assert "Traceback" not in result.stderr
    assert _warnings(result.stderr) == [f"gs: {BROKEN_SENTENCE}; it is left out, the other "
                                        "models work"]
    listing = json.loads(result.stdout)
    models = {model["name"]: model for model in listing["models"]}
    assert set(models) == {"began", "biggan", "dcgan", "module", "upconv", "vae"}
    assert models["dcgan"]["latents"]["1"] == [{"name": "h1", "shape": [512, 4, 4]}]
    upconv = models["upconv"]
    assert upconv["source"] == "gs-plugin-example 0.1.0" and upconv["trainer"] is True
    assert upconv["cuts"] == [0, 1, 2, 3] and upconv["recommended_cut"] == 1
    assert upconv["latents"]["1"] == [{"name": "h1", "shape": [64, 4, 4]}]
    assert upconv["image_shape"] == [3, 32, 32]
    assert listing["unavailable"] == [{
        "name": "broken", "kind": "model", "source": "gs-broken-plugin 0.2",
        "problem": "raised RuntimeError: needs a GPU driver when imported"}]


@pytest.fixture(scope="module")
def trained(plugin_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``gs-train upconv``, two iterations on 16 px images; its last checkpoint."""
    work = tmp_path_factory.mktemp("upconv")
    images = write_images(work / "images", count=8)
    result = ok(run("gs-train", "upconv", "--data", images, "--out", work / "run",
                    "--image-size", 16, "--nz", 8, "--width", 8, "--max-steps", 2,
                    *FAST_TRAINER, site=plugin_site))
    last = work / "run" / "last.ckpt"
    assert result.stdout.strip().splitlines()[-1] == str(last)
    return last


def test_gs_train_trains_the_example_with_its_declared_flags(trained):
    hparams = torch.load(trained, map_location="cpu", weights_only=False)["hyper_parameters"]
    assert hparams["model_name"] == "upconv" and hparams["lr"] == 1e-3
    assert hparams["model_config"] == {"nz": 8, "width": 8, "nc": 3, "image_size": 16}


@pytest.fixture(scope="module")
def exported(trained: Path, plugin_site: Path) -> dict[str, Path]:
    """gs-export of the checkpoint at c = 1: TorchScript (the model read off the
    checkpoint) and ONNX (the model named)."""
    paths = {"pt": trained.parent / "upconv_c1.pt", "onnx": trained.parent / "upconv_c1.onnx"}
    run_together(("gs-export", "--weights", trained, "--cut", 1, "-o", paths["pt"]),
                 ("gs-export", "upconv", "--weights", trained, "--cut", 1, "-o", paths["onnx"]),
                 site=plugin_site)
    return paths


def test_gs_export_writes_both_formats_and_they_agree(exported):
    torchscript = artifact.load(exported["pt"])
    onnx = onnx_runtime.load(exported["onnx"], device="cpu")
    assert torchscript.metadata.model == onnx.metadata.model == "upconv"
    assert torchscript.metadata.spec.shapes == onnx.metadata.spec.shapes == ((8, 4, 4),)
    z = np.random.default_rng(0).standard_normal((2, 8)).clip(-1, 1).astype(np.float32)
    with torch.no_grad():
        image = torchscript.generator_at(0)(torch.from_numpy(z)).numpy()
    assert image.shape == (2, 3, 16, 16) and 0 <= image.min() and image.max() <= 1
    # Two float32 runtimes of the same layers, whose widest sum has 8·9 products of values
    # of order 1, three layers deep: 4·3·eps·√72 ≈ 1.2e-5 (gs.testing.f32_atol).
    np.testing.assert_allclose(onnx.generator_at(0)(z), image, rtol=0, atol=f32_atol(72, depth=3))


def test_gs_invert_recovers_with_the_onnx_artifact(exported, plugin_site, photo, tmp_path):
    report = tmp_path / "report.json"  # (gs-serve below recovers with the TorchScript one)
    ok(run("gs-invert", exported["onnx"], photo, "--task", "inpaint", "--simulate", "--steps", 2,
           "--restarts", 1, "-o", tmp_path / "out", "--report", report, site=plugin_site))
    (entry,) = json.loads(report.read_text())["images"]
    assert np.isfinite(entry["psnr"]) and (tmp_path / "out" / photo.name).is_file()


# --- the example's operator: the spc task -----------------------------------------------------

def test_gs_operators_lists_the_example_task_beside_gs_own(plugin_site):
    result = ok(run("gs", "operators", "--json", site=plugin_site))
    assert "Traceback" not in result.stderr and _warnings(result.stderr) == []
    listing = json.loads(result.stdout)
    tasks = {task["name"]: task for task in listing["tasks"]}
    assert {"cs", "inpaint", "sr", "denoise", "raw", "spc"} <= set(tasks)
    spc = tasks["spc"]
    assert spc["source"] == "gs-plugin-example 0.1.0" and tasks["cs"]["source"] == "gs"
    assert spc["options"] == {"ratio": 0.25, "noise_std": 0.0}
    assert spc["operators"] == [{"name": "patterns", "cls": "gs_plugin_example.spc:"
                                 "SinglePixelCamera", "parameters": ["ratio"], "random": True}]
    assert listing["unavailable"] == []
    table = ok(run("gs", "operators", site=plugin_site)).stdout
    assert any(line.split()[:3] == ["spc", "patterns", "gs-plugin-example"]
               for line in table.splitlines())


def test_the_operator_suite_passes_on_the_example_task(plugin_site):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(EXAMPLE / "tests" / "test_spc.py")], capture_output=True,
                            text=True, env=installed(plugin_site), timeout=COMMAND_TIMEOUT,
                            cwd=EXAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout.splitlines()[-1]


def test_gs_invert_recovers_through_the_example_task(plugin_site, tiny_artifacts, photo,
                                                     tmp_path):
    report = tmp_path / "report.json"
    ok(run("gs-invert", tiny_artifacts[1], photo, "--task", "spc", "--ratio", 0.3, "--simulate",
           "--steps", 2, "--restarts", 1, "-o", tmp_path / "out", "--report", report,
           site=plugin_site))
    (entry,) = json.loads(report.read_text())["images"]
    assert np.isfinite(entry["psnr"]) and (tmp_path / "out" / photo.name).is_file()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_gs_serve_recovers_with_the_exported_artifact(exported, plugin_site):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "gs-serve"), str(exported["pt"]), "--port", str(port)],
                              env=installed(plugin_site), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            try:
                served = _get(f"{base}/api/artifacts")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "gs-serve did not start"
                time.sleep(0.2)
        assert [(a["id"], a["model"]) for a in served["artifacts"]] == [("upconv_c1", "upconv")]
        example = _get(f"{base}/api/examples")["examples"][0]
        form = {"artifact": "upconv_c1", "task": "cs", "ratio": "0.3", "steps": "2",
                "restarts": "1", "seed": "0", "example": example}
        request = urllib.request.Request(f"{base}/api/jobs",
                                         data=urllib.parse.urlencode(form).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            job = json.loads(response.read())
        while job["status"] not in ("done", "failed", "cancelled"):
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.2)
            job = _get(f"{base}/api/jobs/{job['id']}")
        assert job["status"] == "done", job["error"]
        assert [c["key"] for c in job["result"]["columns"]] == ["classical", "surgery"]
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- the broken plug-in, in a fresh process -------------------------------------------------

IMPORTED = "imported gs"


def test_plugins_load_when_a_command_needs_them_and_the_broken_one_is_named(
        plugin_site, tiny_weights, tmp_path):
    """``import gs`` (and gs.models, gs.export) loads no plug-in: nothing is reported until
    gs-export looks for a model; asking for the broken one exits 2 with its sentence."""
    out = tmp_path / "broken.pt"
    code = ("import sys, gs, gs.models, gs.export.cli\n"
            f"print({IMPORTED!r}, file=sys.stderr, flush=True)\n"
            "gs.export.cli.main()")  # gs-export, after the imports
    result = subprocess.run([sys.executable, "-c", code, "broken", "--weights", str(tiny_weights),
                             "-o", str(out)], capture_output=True, text=True,
                            env=installed(plugin_site), timeout=COMMAND_TIMEOUT)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == IMPORTED
    assert _warnings(result.stderr) == [f"gs: {BROKEN_SENTENCE}; it is left out, the other "
                                        "models work"]
    assert [line for line in lines if line.startswith("Error")] == [
        f"Error: MODEL 'broken' is unavailable: {BROKEN_SENTENCE}"]
    assert not out.exists()


# --- how a plug-in can fail, on the registries in this process -------------------------------

@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """Install hand-written distributions into a folder on ``sys.path``; the model and
    trainer registries discover again, and are as they were afterwards."""
    site = tmp_path / "site"
    site.mkdir()
    registries = (MODELS, TRAINERS)
    saved = [(dict(r._entries), dict(r._failures), dict(r._origins), r._discovered)
             for r in registries]
    modules = set(sys.modules)
    monkeypatch.syspath_prepend(str(site))
    for registry in registries:
        registry._discovered = False
        registry._failures.clear()
    yield lambda *args: install_by_hand(site, *args)
    for registry, (entries, failures, origins, discovered) in zip(registries, saved):
        registry._entries, registry._failures = entries, failures
        registry._origins, registry._discovered = origins, discovered
    for name in set(sys.modules) - modules:
        if str(site) in str(getattr(sys.modules[name], "__file__", "")):
            del sys.modules[name]


GENERATOR_CODE = '''
from gs.models import StagedGenerator, register_model

class Generator(StagedGenerator):
    model_name = "{name}"
'''


@pytest.mark.parametrize("points, modules, name, problem", [
    ({"gs.models": {"broken": "gs_broken_plugin"}}, BROKEN_CODE, "broken",
     "raised RuntimeError: needs a GPU driver when imported"),
    ({"gs.models": {"three": "gs_value:VALUE"}}, {"gs_value": "VALUE = 3\n"}, "three",
     "names 3, which is neither a module nor a StagedGenerator subclass"),
    ({"gs.models": {"named": "gs_misnamed"}},
     {"gs_misnamed": GENERATOR_CODE.format(name="other") + "register_model(Generator)\n"},
     "named", "registers no model named 'named' (it registers other)"),
    ({"gs.models": {"dcgan": "gs_clash"}},
     {"gs_clash": GENERATOR_CODE.format(name="dcgan") + "register_model(Generator)\n"},
     "dcgan", "raised ValueError: 'dcgan' is already registered by DCGANGenerator when "
              "imported"),
])
def test_a_bad_plugin_is_left_out_in_one_sentence(points, modules, name, problem, install,
                                                  caplog):
    install("gs-bad-plugin", "1.0", points, modules)
    sentence = (f"the plug-in model {name!r} of gs-bad-plugin 1.0 (entry point {name} = "
                f"{points['gs.models'][name]}) {problem}")
    assert MODELS.failures[name].describe() == sentence
    assert [r.getMessage() for r in caplog.records] == [
        f"gs: {sentence}; it is left out, the other models work"]
    assert "other" not in MODELS  # what a failing plug-in registered is undone
    assert model_class("dcgan").__module__ == "gs.models.dcgan"
    if name != "dcgan":
        with pytest.raises(ValueError, match=f"model '{name}' is unavailable: the plug-in"):
            model_class(name)


def test_gs_export_exports_a_built_in_model_beside_a_broken_plugin(install, tiny_weights,
                                                                  tmp_path, caplog):
    install("gs-broken-plugin", "0.2", BROKEN, BROKEN_CODE)
    out = tmp_path / "dcgan.pt"
    result = CliRunner().invoke(export_cli, ["dcgan", "--weights", str(tiny_weights), "--cut",
                                             "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert artifact.load(out).metadata.model == "dcgan"
    assert [r.getMessage() for r in caplog.records] == [
        f"gs: {BROKEN_SENTENCE}; it is left out, the other models work"]


def test_an_entry_point_may_name_the_class_itself(install):
    install("gs-classy", "1.0", {"gs.models": {"classy": "gs_classy:Generator"}},
            {"gs_classy": GENERATOR_CODE.format(name="classy")})
    assert MODELS["classy"].__module__ == "gs_classy"
    assert MODELS.origin("classy") == "gs-classy 1.0" and MODELS.origin("dcgan") == "gs"


def test_gs_train_names_a_trainer_plugin_that_was_left_out(install):
    install("gs-bad-trainer", "0.1", {"gs.trainers": {"slow": "gs_bad_trainer"}},
            {"gs_bad_trainer": "import gs_missing_dependency\n"})
    result = CliRunner().invoke(train_cli, ["slow", "--help"])
    one_sentence_error(result, "gs-train slow is unavailable: the plug-in trainer 'slow' of "
                               "gs-bad-trainer 0.1 (entry point slow = gs_bad_trainer) raised "
                               "ModuleNotFoundError: No module named 'gs_missing_dependency'")
    listing = json.loads(CliRunner().invoke(gs_cli, ["models", "--json"]).output)
    assert listing["unavailable"] == [{
        "name": "slow", "kind": "trainer", "source": "gs-bad-trainer 0.1",
        "problem": "raised ModuleNotFoundError: No module named 'gs_missing_dependency' when "
                   "imported"}]


# --- the listing of gs's own models ----------------------------------------------------------

def test_gs_models_and_gs_export_list_give_the_built_in_models():
    table = CliRunner().invoke(gs_cli, ["models"])
    assert table.exit_code == 0, table.output
    rows = {line.split()[0]: line for line in table.output.splitlines()[1:]}
    assert rows["dcgan"].split()[:5] == ["dcgan", "gs", "0.1.0", "0-4", "c=1:"]
    assert "h1 512x4x4" in rows["dcgan"] and rows["dcgan"].endswith("yes")
    assert "c=7: h7 1024x32x32, cond 256" in rows["biggan"] and rows["biggan"].endswith("no")
    assert "cuts and shapes follow from --module, --blocks" in rows["module"]
    listed = CliRunner().invoke(export_cli, ["--list"])
    assert listed.exit_code == 0 and listed.output == table.output
    data = json.loads(CliRunner().invoke(gs_cli, ["models", "--json"]).output)
    began = next(m for m in data["models"] if m["name"] == "began")
    assert began["latents"]["2"] == [{"name": "h2", "shape": [128, 16, 16]},
                                     {"name": "z2", "shape": [128, 8, 8]}]
