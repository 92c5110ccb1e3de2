"""gs-export as a library: no silent overwrite, torch-free imports, self-describing files.

Export parity and gs.json at every cut: the conformance suite (test_models.py); bad
artifacts: test_artifact_errors.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from gs import artifacts as gs_artifact
from gs.errors import UserInputError
from gs.export import export_artifact
from gs.surgery import cut
from helpers import assert_close_f32


def test_export_refuses_to_overwrite_unless_asked(tmp_path, tiny_weights):
    out = export_artifact(tiny_weights, tmp_path / "a.pt", cut=1, model="dcgan")
    with pytest.raises(UserInputError, match="already exists"):
        export_artifact(tiny_weights, out, cut=1, model="dcgan")
    assert export_artifact(tiny_weights, out, cut=0, model="dcgan", overwrite=True) == out


def test_import_gs_does_not_import_torch():
    code = ("import sys, gs, gs.latent, gs.settings, gs.seeding, gs.artifacts, gs.artifacts.onnx, "
            "gs.invert, gs.operators; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_self_describing_generator_files_export_without_a_model_name(tmp_path):
    from gs.models.began import BEGANGenerator

    began = BEGANGenerator(nz=8, ngf=8, image_size=16).eval()
    weights = tmp_path / "G.pth"
    torch.save({"model_name": "began", "model_config": began.config(),
                "state_dict": began.state_dict()}, weights)
    art = gs_artifact.load(export_artifact(weights, tmp_path / "b.pt", cut=2))
    assert art.metadata.model == "began" and art.spec.names[1] == "z2"
    inputs = began.example_state(2, 3)
    with torch.no_grad():
        assert_close_f32(art.generator(*inputs), cut(began, 2)(*inputs), began)
    with pytest.raises(UserInputError, match="holds a began model, not dcgan"):
        export_artifact(weights, tmp_path / "c.pt", cut=1, model="dcgan")
