"""ONNX artifacts: the torch-free runtime, its contract for bare onnxruntime clients, the CLI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap

import numpy as np
import onnxruntime as ort
import pytest
import torch
from click.testing import CliRunner

from gs import artifacts as gs_artifact
from gs.artifacts import onnx as onnx_runtime
from gs.cli import main as invert_cli
from gs.errors import UserInputError
from gs.export.cli import main as export_cli
from gs.invert import invert
from gs.jobs import OperatorOptions, build_operator
from gs.metrics import psnr
from gs.problems import simulate
from gs.seeding import Stream, problem_rng
from gs.settings import InversionSettings
from helpers import assert_close_f32, in_range_image, tiny_architecture

TINY_MODEL = tiny_architecture()  # the layers behind tiny_weights, for tolerances
FAST = ["--steps", "3", "--inner-iterations", "10", "--restarts", "2", "--seed", "0"]


def test_gs_export_writes_an_onnx_artifact(tiny_weights, tmp_path):
    path = tmp_path / "c0.onnx"
    result = CliRunner().invoke(export_cli, ["dcgan", "--weights", str(tiny_weights), "--cut",
                                             "0", "-o", str(path)])
    assert result.exit_code == 0, result.output
    art = onnx_runtime.load(path, device="cpu")
    assert set(art.pieces) == {"tail", "tail_vjp"} and art.metadata.cut == 0


@pytest.fixture(scope="module")
def loaded(onnx_c2):
    return onnx_runtime.load(onnx_c2, device="cpu")


# --- forward pieces and metadata ------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 5])
def test_onnx_matches_torchscript_at_every_cut(loaded, tiny_artifacts, batch):
    ts_art = gs_artifact.load(tiny_artifacts[2])
    rng = np.random.default_rng(batch)
    for c in (0, 1, 2):
        inputs = [rng.standard_normal((batch, *s)).astype(np.float32)
                  for s in loaded.metadata.spec_at(c).shapes]
        expected = ts_art.generator_at(c)(*map(torch.as_tensor, inputs)).numpy()
        assert_close_f32(loaded.generator_at(c)(*inputs), expected, TINY_MODEL)
    z = rng.standard_normal((batch, 8, 1, 1)).astype(np.float32)
    (h2,) = loaded.carry(0, 2, [z])
    (h2_ts,) = ts_art.carry(0, 2, [torch.as_tensor(z)])
    assert_close_f32(h2, h2_ts.numpy(), TINY_MODEL)


def test_onnx_metadata_equals_torchscript_metadata_and_lists_every_piece(loaded, tiny_artifacts):
    onnx_meta = loaded.metadata
    ts_meta = gs_artifact.load(tiny_artifacts[2]).metadata
    assert onnx_meta.format == "onnx" and ts_meta.format == "torchscript"
    for field in ("model", "model_config", "cut", "latents", "image_shape", "recommended",
                  "source_sha256"):
        assert getattr(onnx_meta, field) == getattr(ts_meta, field)
    pieces = onnx_meta.extra["onnx"]["pieces"]
    assert set(pieces) == {"tail", "tail_vjp", "head_0", "head_0_vjp", "head_1", "head_1_vjp"}
    assert pieces["tail"] == {"key": None, "inputs": ["h2"], "outputs": ["image"]}
    assert pieces["head_1_vjp"] == {"key": "gs.piece.head_1_vjp",
                                    "inputs": ["h1", "grad:out:h2"],
                                    "outputs": ["out:h2", "grad:h1"]}


# --- the contract, followed by a client that has onnxruntime only -----------------------------


def test_readme_recipe_with_bare_onnxruntime_sessions(onnx_c2, loaded):
    """What docs/onnx.md tells a client in any language to do; no gs, no onnx package."""
    main = ort.InferenceSession(str(onnx_c2), providers=["CPUExecutionProvider"])
    meta = main.get_modelmeta().custom_metadata_map
    gs_json = json.loads(meta["gs"])
    pieces = gs_json["extra"]["onnx"]["pieces"]
    assert gs_json["extra"]["onnx"]["layout"] == 2

    def session(name):
        key = pieces[name]["key"]
        if key is None:
            return main
        return ort.InferenceSession(base64.b64decode(meta[key]),
                                    providers=["CPUExecutionProvider"])

    tail, tail_vjp = session("tail"), session("tail_vjp")
    (name,) = pieces["tail"]["inputs"]
    shape = next(i["shape"] for i in gs_json["inputs"] if i["name"] == name)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((3, *shape)).astype(np.float32)
    (image,) = tail.run(pieces["tail"]["outputs"], {name: h})
    assert image.shape == (3, *gs_json["image_shape"]) and 0 <= image.min() <= image.max() <= 1
    target = rng.random(image.shape, dtype=np.float32)
    v = 2 * (image - target) / image[0].size  # d/d(image) of the mean squared error
    image_again, grad = tail_vjp.run(pieces["tail_vjp"]["outputs"],
                                     {name: h, f"grad:{pieces['tail']['outputs'][0]}": v})
    np.testing.assert_allclose(image_again, image, atol=1e-6)
    _, (expected,) = loaded.image_and_vjp(2, [h], lambda _img: v)
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-9)
    # One gradient step on the same loss lowers it.
    (stepped,) = tail.run(None, {name: h - 0.5 * grad / np.abs(grad).max()})
    assert ((stepped - target) ** 2).mean() < ((image - target) ** 2).mean()


def test_foreign_and_forward_only_files_fail_with_one_sentence(tmp_path, onnx_c2):
    import onnx
    from onnx import TensorProto, helper

    foreign = tmp_path / "foreign.onnx"
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save_model(model, str(foreign))
    with pytest.raises(UserInputError, match=r"foreign.onnx carries no gs metadata"):
        onnx_runtime.load(foreign, device="cpu")

    proto = onnx.load(str(onnx_c2))
    gs_json = json.loads(next(p.value for p in proto.metadata_props if p.key == "gs"))
    forward_only = tmp_path / "forward_only.onnx"
    del gs_json["extra"]["onnx"]
    kept = [(p.key, p.value) for p in proto.metadata_props if not p.key.startswith("gs")]
    del proto.metadata_props[:]
    for key, value in [*kept, ("gs", json.dumps(gs_json))]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(proto, str(forward_only))
    with pytest.raises(UserInputError, match=r"forward_only.onnx is a forward-only ONNX artifact "
                                             r"without the gradient graphs"):
        onnx_runtime.load(forward_only, device="cpu")

    proto = onnx.load(str(onnx_c2))
    missing = tmp_path / "missing.onnx"
    kept = [(p.key, p.value) for p in proto.metadata_props if p.key != "gs.piece.head_0_vjp"]
    del proto.metadata_props[:]
    for key, value in kept:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(proto, str(missing))
    with pytest.raises(UserInputError, match=r"missing.onnx lacks the graph 'head_0_vjp'"):
        onnx_runtime.load(missing, device="cpu")


def test_cuda_device_is_refused_when_the_provider_does_not_load(onnx_c2, tmp_path, photo):
    try:
        onnx_runtime.load(onnx_c2, device="cuda")
    except UserInputError as exc:
        assert "CUDA execution provider, which did not load" in str(exc)
    else:
        pytest.skip("a GPU is present: the CUDA provider loaded, nothing to refuse")
    result = CliRunner().invoke(invert_cli, [str(onnx_c2), str(photo), "--simulate", "--device",
                                             "cuda", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "--device cuda needs onnxruntime's CUDA" in errors[0]
    assert result.output.strip() == errors[0]  # nothing else: onnxruntime's own log is quiet
    assert not (tmp_path / "out").exists()


# --- inversion ------------------------------------------------------------------------------


def _problem(ts_art, task="cs", count=2, **options):
    truths = [in_range_image(ts_art, seed) for seed in range(1, count + 1)]
    opts = OperatorOptions(task=task, **options)
    ops = [build_operator(opts, truths[0].shape, 0, i) for i in range(count)]
    ys = [simulate(t, op, problem_rng(0, i, Stream.NOISE)) for i, (t, op) in
          enumerate(zip(truths, ops))]
    return truths, ops, ys


@pytest.mark.parametrize("schedule", [(), (0, 2)], ids=["c2", "progressive"])
def test_same_seed_gives_the_torchscript_psnr(loaded, tiny_artifacts, one_thread, schedule):
    ts_art = gs_artifact.load(tiny_artifacts[2])
    truths, ops, ys = _problem(ts_art, measurements=300)
    settings = InversionSettings(steps=4, inner_iterations=10, restarts=2, schedule=schedule)
    ours = invert(loaded, ops, ys, settings, seed=0)
    theirs = invert(ts_art, ops, ys, settings, seed=0)
    for a, b, truth in zip(ours, theirs, truths):
        assert abs(psnr(a.image, truth) - psnr(b.image, truth)) < 0.2
        assert a.restart == b.restart and len(a.stages) == len(b.stages) == len(schedule or [2])
        assert a.image.shape == truth.shape and 0 <= a.image.min() <= a.image.max() <= 1


def test_the_artifacts_recommended_settings_give_the_torchscript_psnr(loaded, tiny_artifacts,
                                                                      one_thread):
    ts_art = gs_artifact.load(tiny_artifacts[2])
    settings = loaded.metadata.settings_for("cs")
    assert settings == ts_art.metadata.settings_for("cs")
    assert settings.line_search == "strong_wolfe" and settings.schedule  # the product's defaults
    truths, ops, ys = _problem(ts_art, measurements=300, count=6)
    ours = invert(loaded, ops, ys, settings, seed=0)
    theirs = invert(ts_art, ops, ys, settings, seed=0)
    gaps = [psnr(a.image, truth) - psnr(b.image, truth)
            for a, b, truth in zip(ours, theirs, truths)]
    # The optimiser takes the same steps on both array libraries (tests/test_optim_backends.py),
    # but a strong-Wolfe search compares float32 losses that differ by ~1e-7 between ONNX
    # and torch kernels, so a row can take another trial and end in a neighbouring minimum
    # (a few tenths of a dB on one image). The recovery quality must agree on average.
    assert abs(np.mean(gaps)) < 0.2 and max(map(abs, gaps)) < 1.0, gaps
    for a, b in zip(ours, theirs):
        assert len(a.stages) == len(b.stages) == len(settings.schedule)
        assert a.measurement_loss < a.stages[0].first_loss


def test_one_call_gives_the_same_answer_and_weight_from_either_format(loaded, tiny_artifacts,
                                                                     one_thread):
    import gs

    ts_art = gs_artifact.load(tiny_artifacts[2])
    for index in range(3):
        truth = in_range_image(ts_art, index + 1)
        op = gs.operator("cs", truth.shape, seed=0, index=index, measurements=300)
        y = op(truth)
        a, b = gs.Surgery(ts_art)(y, op), gs.Surgery(loaded)(y, op)
        assert (a.details["answer"], a.details.get("weight")) == (
            b.details["answer"], b.details.get("weight"))
        # The two fits start equal and their gradients agree to float32 rounding
        # (test_onnx_vjp.py), but a strong-Wolfe search on losses ~1e-7 apart can take
        # another trial: the images end a little apart, never another answer.
        assert abs(psnr(a.image, truth) - psnr(b.image, truth)) < 0.1


def test_every_setting_is_honoured_or_refused(loaded, tiny_artifacts):
    ts_art = gs_artifact.load(tiny_artifacts[2])
    _, ops, ys = _problem(ts_art, task="denoise", count=1)
    with pytest.raises(UserInputError, match="precision bf16 is not"):
        invert(loaded, ops, ys, InversionSettings(precision="bf16"))
    for settings in (InversionSettings(steps=2, restarts=3, keep_restarts_after=1, holdout=0.2,
                                       discrepancy=1.0, min_steps=1, precision="auto"),
                     InversionSettings(steps=2, restarts=2, line_search="strong_wolfe"),
                     InversionSettings(optimizer="adam", lr=0.05, steps=40, restarts=2,
                                       keep_best=False, tolerance=0)):
        (result,) = invert(loaded, ops, ys, settings, seed=1)
        assert result.measurement_loss < result.stages[0].first_loss
        assert len(result.restart_losses) == settings.restarts


BLOCKER = '''
import importlib.abc, sys

class _NoTorch(importlib.abc.MetaPathFinder):
    """This interpreter has no torch, lightning or onnx: importing them fails."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "lightning", "pytorch_lightning", "onnx",
                                  "torchmetrics"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, _NoTorch())
'''


def test_inverts_in_a_process_where_torch_lightning_and_onnx_cannot_be_imported(
        onnx_c2, tiny_artifacts, tmp_path):
    ts_art = gs_artifact.load(tiny_artifacts[2])
    truth = in_range_image(ts_art, 1)
    np.save(tmp_path / "truth.npy", truth)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCKER)
    code = textwrap.dedent(f"""
        import sys, numpy as np
        for name in ("torch", "onnx", "lightning"):
            try:
                __import__(name)
            except ImportError:
                pass
            else:
                raise SystemExit(name + " was importable")
        from gs.artifacts import onnx as onnx_runtime
        from gs.invert import invert
        from gs.operators import make_operator
        from gs.seeding import Stream, problem_rng
        from gs.settings import InversionSettings
        truth = np.load({str(tmp_path / "truth.npy")!r})
        art = onnx_runtime.load({str(onnx_c2)!r}, device="cpu")
        op = make_operator("cs", truth.shape, problem_rng(0, 0, Stream.OPERATOR),
                           measurements=300)
        y = op.measure(truth[None], problem_rng(0, 0, Stream.NOISE))[0]
        settings = InversionSettings(steps=4, inner_iterations=10, restarts=2, schedule=(0, 2))
        (result,) = invert(art, [op], [y], settings, seed=0)
        mse = float(((result.image - truth) ** 2).mean())
        assert not any(m.split(".")[0] in ("torch", "onnx", "lightning") for m in sys.modules)
        print(10 * np.log10(1 / mse))
    """)
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin",
           "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    # The same computation as in this process (which has torch): the same recovery.
    art = onnx_runtime.load(onnx_c2, device="cpu")
    _, (op,), (y,) = _problem(ts_art, count=1, measurements=300)
    settings = InversionSettings(steps=4, inner_iterations=10, restarts=2, schedule=(0, 2))
    (expected,) = invert(art, [op], [y], settings, seed=0)
    assert float(out.stdout.strip()) == pytest.approx(psnr(expected.image, truth), abs=1e-3)
    assert float(out.stdout.strip()) > 15


def test_gs_invert_runs_an_onnx_artifact_and_writes_the_report(onnx_c2, tmp_path, photo):
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = CliRunner().invoke(invert_cli, [
        str(onnx_c2), str(photo), "--task", "inpaint", "--simulate", "--device", "cpu", "-o",
        str(out), "--report", str(report), *FAST])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(report.read_text())["images"]
    assert entry["psnr"] > 5 and entry["total_evaluations"] > 0 and (out / "astronaut.png").exists()
    for flags, fragment in ((["--precision", "bf16"], "--precision bf16 is not available"),
                            (["--devices", "2"], "--devices shards .pt artifacts only")):
        result = CliRunner().invoke(invert_cli, [str(onnx_c2), str(photo), "--simulate", "-o",
                                                 str(tmp_path / "x"), "--task", "inpaint",
                                                 *flags])
        assert result.exit_code == 2 and fragment in result.output, result.output
