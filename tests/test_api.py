"""The one-call API (gs.load, gs.operator, gs.Surgery): the README's doctest, and the
same images, answers and report details as gs-invert for every task."""

from __future__ import annotations

import doctest
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_onnx import BLOCKER

import gs
from gs.cli import main as invert_cli
from gs.errors import UserInputError
from gs.io import read_image, to_uint8, write_image
from gs.jobs import read_truth
from helpers import in_range_image

ROOT = Path(__file__).resolve().parents[1]

#: Per task: its options (as keywords and as gs-invert flags) and settings overrides. Two
#: steps keep it fast. Super-resolution and denoising recommend the classical answer
#: (the same code path, compared on sr; BM3D alone takes seconds), so they are also run
#: through the generator, so that every task's inversion is compared.
CASES = [
    ("cs", {"ratio": 0.3}, {}),
    ("inpaint", {"keep": 0.3}, {}),
    ("sr", {}, {}),
    ("sr", {}, {"answer": "held_out"}),
    ("denoise", {"noise_std": 0.1}, {"answer": "generator"}),
    ("mri", {"acceleration": 4}, {}),
    ("deblur", {"sigma": 1.0}, {}),
]


def flags(values: dict) -> list[str]:
    return [f"--{name.replace('_', '-')}={value}" for name, value in values.items()]


@pytest.fixture(scope="module")
def artifact(tiny_artifacts):
    return gs.load(tiny_artifacts[1], device="cpu")


@pytest.fixture(scope="module")
def truth_png(artifact, tmp_path_factory) -> Path:
    """An image the generator can make, so that generator answers win some tasks."""
    return write_image(tmp_path_factory.mktemp("truth") / "truth.png", in_range_image(artifact))


def test_readme_python_example_runs_as_a_doctest(tiny_artifacts, photo, tmp_path, monkeypatch,
                                                  one_thread):
    shutil.copy(tiny_artifacts[1], tmp_path / "dcgan_c1.pt")
    shutil.copy(photo, tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10
    assert result.failed == 0


@pytest.mark.parametrize(("task", "options", "overrides"), CASES)
def test_the_api_gives_what_gs_invert_gives(task, options, overrides, artifact, tiny_artifacts,
                                            truth_png, tmp_path, one_thread):
    out = tmp_path / "out"
    result = CliRunner().invoke(invert_cli, [
        str(tiny_artifacts[1]), str(truth_png), "--task", task, "--simulate", "--seed", "0",
        "--device", "cpu", "--steps", "2", "-o", str(out), "--report", str(out / "r.json"),
        *flags(options), *flags(overrides)])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads((out / "r.json").read_text())["images"]
    written = read_image(out / "truth.png")

    x = read_truth(truth_png, artifact.metadata.image_shape)
    op = gs.operator(task, artifact.metadata.image_shape, seed=0, **options)
    rec = gs.Surgery(artifact, steps=2, **overrides)(op(x), op)

    assert np.array_equal(to_uint8(rec.image), np.round(written * 255).astype(np.uint8))
    assert rec.details.get("answer") == entry["details"]["answer"]
    assert rec.details.get("weight") == entry["details"].get("weight")
    assert rec.details == entry["details"]


def test_a_batch_is_the_job_images_by_index(artifact, tiny_artifacts, truth_png, photo,
                                            tmp_path, one_thread):
    out = tmp_path / "out"
    result = CliRunner().invoke(invert_cli, [
        str(tiny_artifacts[1]), str(truth_png), str(photo), "--task", "inpaint", "--simulate",
        "--device", "cpu", "--steps", "2", "--seed", "3", "-o", str(out), "--report",
        str(out / "r.json")])
    assert result.exit_code == 0, result.output
    entries = json.loads((out / "r.json").read_text())["images"]

    shape = artifact.metadata.image_shape
    ops = [gs.operator("inpaint", shape, seed=3, index=i) for i in range(2)]
    xs = [read_truth(path, shape) for path in (truth_png, photo)]
    recs = gs.Surgery(artifact, steps=2)([op(x) for op, x in zip(ops, xs)], ops)
    for rec, entry, name in zip(recs, entries, ("truth.png", "astronaut.png")):
        written = np.round(read_image(out / name) * 255).astype(np.uint8)
        assert np.array_equal(to_uint8(rec.image), written)
        assert rec.details == entry["details"]


def test_operator_observes_numpy_and_torch_alike_with_the_seeded_noise(artifact):
    shape = artifact.metadata.image_shape
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    op = gs.operator("cs", shape, ratio=0.2, noise_std=0.1, seed=1, index=2)
    y = op(x)
    assert y.shape == op.measurement_shape and y.dtype == np.float32
    assert np.array_equal(y, op(x))  # the noise is the image's own, not a new draw
    assert not np.array_equal(y, gs.operator("cs", shape, ratio=0.2, noise_std=0.1, seed=1,
                                             index=3)(x))
    batch = op(torch.from_numpy(np.stack([x, x])))
    assert isinstance(batch, torch.Tensor) and tuple(batch.shape) == (2, *op.measurement_shape)
    np.testing.assert_allclose(batch[0].numpy(), y, rtol=1e-6, atol=1e-6)


def test_operator_and_surgery_refuse_bad_arguments_naming_them(artifact):
    shape = artifact.metadata.image_shape
    with pytest.raises(UserInputError, match="^ratio "):
        gs.operator("cs", shape, ratio=2.0)
    with pytest.raises(UserInputError, match="^keeps is not an operator option"):
        gs.operator("inpaint", shape, keeps=0.2)
    with pytest.raises(UserInputError, match="^task must be one of"):
        gs.operator("nope", shape)
    with pytest.raises(UserInputError, match="^index must be a non-negative integer"):
        gs.operator("cs", shape, ratio=0.1, index=-1)
    op = gs.operator("cs", shape, ratio=0.1)
    with pytest.raises(UserInputError, match="^x must be"):
        op(np.zeros((1, 8, 8), np.float32))
    with pytest.raises(UserInputError, match="^stepz is not an inversion setting"):
        gs.Surgery(artifact, stepz=2)
    with pytest.raises(UserInputError, match="^preset must be one of"):
        gs.Surgery(artifact, preset="fast")
    with pytest.raises(UserInputError, match="^y must have"):
        gs.Surgery(artifact)(np.zeros(3, np.float32), op)
    with pytest.raises(TypeError, match="gs.operator"):
        gs.Surgery(artifact)(np.zeros(op.measurement_shape, np.float32), op.operator)


def test_surgery_combines_settings_as_gs_invert_combines_its_flags(artifact):
    surgery = gs.Surgery(artifact, keep_best=False, optimizer="adam")
    settings = surgery.settings("cs")
    assert (settings.holdout, settings.answer, settings.optimizer) == (0, "generator", "adam")
    assert settings.lr != artifact.metadata.settings_for("cs").lr
    paper = gs.Surgery(artifact, preset="paper").settings("inpaint")
    assert paper == artifact.metadata.settings_for("inpaint", "paper")


def test_any_registered_method_is_called_the_same_way(artifact):
    shape = artifact.metadata.image_shape
    op = gs.operator("sr", shape, scale=4)
    x = in_range_image(artifact)
    rec = gs.method("classical")(op(x), op)
    assert rec.image.shape == tuple(shape) and rec.image.dtype == np.float32
    with pytest.raises(UserInputError, match="^method must be one of"):
        gs.method("nope")


def test_import_gs_imports_no_torch_and_the_api_runs_an_onnx_artifact_without_it(
        onnx_c2, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCKER)
    code = textwrap.dedent(f"""
        import sys
        import gs
        assert "torch" not in sys.modules
        import numpy as np
        art = gs.load({str(onnx_c2)!r}, device="cpu")
        shape = art.metadata.image_shape
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        op = gs.operator("cs", shape, ratio=0.3, seed=0)
        rec = gs.Surgery(art, steps=2, restarts=1)(op(x), op)
        assert not any(m.split(".")[0] in ("torch", "onnx") for m in sys.modules)
        np.save({str(tmp_path / "image.npy")!r}, rec.image)
    """)
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin",
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    art = gs.load(onnx_c2, device="cpu")
    shape = art.metadata.image_shape
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    op = gs.operator("cs", shape, ratio=0.3, seed=0)
    expected = gs.Surgery(art, steps=2, restarts=1)(op(x), op).image
    np.testing.assert_array_equal(np.load(tmp_path / "image.npy"), expected)
