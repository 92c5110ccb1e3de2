"""ONNX artifacts: same outputs as TorchScript, heads included, loadable without torch."""

from __future__ import annotations

import subprocess
import sys


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


