"""ONNX artifacts: same outputs as TorchScript, heads included, loadable without torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gs import artifact as gs_artifact
from gs import onnx_runtime
from gs.export.cli import main as export_cli
from helpers import assert_close_f32, tiny_architecture

TINY_MODEL = tiny_architecture()  # the layers behind tiny_weights, for tolerances


@pytest.fixture(scope="module")
def onnx_c2(tmp_path_factory, tiny_weights):
    path = tmp_path_factory.mktemp("onnx") / "tiny_c2.onnx"
    result = CliRunner().invoke(export_cli, ["dcgan", "--weights", str(tiny_weights), "--cut",
                                             "2", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("batch", [1, 5])
def test_onnx_matches_torchscript_at_every_cut(onnx_c2, tiny_artifacts, batch):
    onnx_art = onnx_runtime.load(onnx_c2, providers=["CPUExecutionProvider"])
    ts_art = gs_artifact.load(tiny_artifacts[2])
    rng = np.random.default_rng(batch)
    for c in (0, 1, 2):
        inputs = [rng.standard_normal((batch, *s)).astype(np.float32)
                  for s in onnx_art.metadata.spec_at(c).shapes]
        expected = ts_art.generator_at(c)(*map(torch.as_tensor, inputs)).numpy()
        assert_close_f32(onnx_art.generator_at(c)(*inputs), expected, TINY_MODEL)
    z = rng.standard_normal((batch, 8, 1, 1)).astype(np.float32)
    (h2,) = onnx_art.carry(0, 2, [z])
    (h2_ts,) = ts_art.carry(0, 2, [torch.as_tensor(z)])
    assert_close_f32(h2, h2_ts.numpy(), TINY_MODEL)


def test_onnx_metadata_equals_torchscript_metadata(onnx_c2, tiny_artifacts):
    onnx_meta = onnx_runtime.load(onnx_c2, providers=["CPUExecutionProvider"]).metadata
    ts_meta = gs_artifact.load(tiny_artifacts[2]).metadata
    assert onnx_meta.format == "onnx" and ts_meta.format == "torchscript"
    for field in ("model", "model_config", "cut", "latents", "image_shape", "recommended",
                  "source_sha256"):
        assert getattr(onnx_meta, field) == getattr(ts_meta, field)
    assert set(onnx_meta.extra["graphs"]) == {"tail", "head_0", "head_1"}


def test_onnx_runtime_runs_without_torch(onnx_c2):
    code = (
        "import sys, numpy as np\n"
        "sys.modules['torch'] = None  # any import of torch now fails\n"
        "from gs import onnx_runtime\n"
        f"art = onnx_runtime.load({str(onnx_c2)!r}, providers=['CPUExecutionProvider'])\n"
        "z = np.zeros((2, 8, 1, 1), np.float32)\n"
        "print(art.generator_at(0)(z).shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(2, 3, 16, 16)"
