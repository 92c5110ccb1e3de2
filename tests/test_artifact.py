"""Export → reload → the same outputs; metadata validated; clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from gs import artifact as gs_artifact
from gs.errors import UserInputError
from gs.export import export_artifact
from gs.models import load_generator
from gs.surgery import cut
from helpers import TINY, assert_close_f32, tiny_architecture

TINY_MODEL = tiny_architecture()  # the layers behind tiny_weights, for tolerances


@pytest.mark.parametrize("c", [0, 1, 2])
@pytest.mark.parametrize("batch", [1, 5])
def test_artifact_matches_eager_cut_module(tiny_artifacts, tiny_weights, c, batch):
    art = gs_artifact.load(tiny_artifacts[c])
    eager = cut(load_generator(tiny_weights, "dcgan").model, c)
    inputs = eager.model.example_state(c, batch)
    with torch.no_grad():
        assert_close_f32(art.generator(*inputs), eager(*inputs), eager.model)


def test_metadata_is_complete(tiny_artifacts, tiny_weights):
    meta = gs_artifact.load(tiny_artifacts[1]).metadata
    assert meta.model == "dcgan" and meta.cut == 1 and meta.model_config == TINY
    assert meta.spec.names == ("h1",) and meta.spec.shapes == ((16, 4, 4),)
    assert [s.cut for s in meta.latents] == [0, 1] and meta.latents[0].shapes == ((8, 1, 1),)
    assert meta.image_shape == (3, 16, 16)
    assert meta.paper["cs"].lr == 0.1 and meta.paper["denoise"].steps == 100
    assert meta.source_name == tiny_weights.name and len(meta.source_sha256) == 64
    assert meta.torch_version == torch.__version__ and meta.format == "torchscript"
    assert meta.spec.inputs[0].init.kind == "clamped_normal"
    again = gs_artifact.ArtifactMetadata.from_json(json.loads(json.dumps(meta.to_json())))
    assert again == meta


def test_head_carries_a_shallow_state_to_the_cut(tiny_artifacts):
    deep, shallow = gs_artifact.load(tiny_artifacts[2]), gs_artifact.load(tiny_artifacts[0])
    z = torch.randn(4, 8, 1, 1)
    with torch.no_grad():
        assert_close_f32(deep.generator_at(0)(z), shallow.generator(z), TINY_MODEL)
        (h2,) = deep.carry(0, 2, (z,))
        assert h2.shape == (4, 8, 8, 8)
        assert_close_f32(deep.generator(h2), shallow.generator(z), TINY_MODEL)


def test_weights_are_frozen_and_eval(tiny_artifacts):
    art = gs_artifact.load(tiny_artifacts[1])
    assert not any(p.requires_grad for p in art.module.parameters())
    assert not art.module.training


def test_export_refuses_to_overwrite_and_checks_the_cut(tmp_path, tiny_weights):
    out = export_artifact(tiny_weights, tmp_path / "a.pt", cut=1, model="dcgan")
    with pytest.raises(UserInputError, match="already exists"):
        export_artifact(tiny_weights, out, cut=1, model="dcgan")
    with pytest.raises(UserInputError, match="cut 4 is not allowed.*from 0 to 2"):
        export_artifact(tiny_weights, tmp_path / "b.pt", cut=4, model="dcgan")
    assert not (tmp_path / "b.pt").exists()
    assert export_artifact(tiny_weights, out, cut=0, model="dcgan", overwrite=True) == out


def test_import_gs_does_not_import_torch():
    code = ("import sys, gs, gs.latent, gs.settings, gs.seeding, gs.artifact, gs.operators; "
            "print('torch' in sys.modules)")
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
