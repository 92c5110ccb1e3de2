"""DCGAN in the pytorch-examples layout: key mapping, its output range, its blocks and
widths per size.

The paper's cut shapes and settings: the tables in test_models.py; cuts, export, inversion
and the checkpoint contract: the conformance suite it runs.
"""

from __future__ import annotations

import pytest
import torch

from gs import artifacts as gs_artifact
from gs.models.dcgan import DCGANGenerator, dcgan_num_blocks, unwrap_state_dict
from helpers import assert_close_f32, tiny_dcgan


def test_pytorch_examples_keys_are_the_sequential_layout():
    keys = list(DCGANGenerator().state_dict())
    assert keys[:3] == ["main.0.weight", "main.1.weight", "main.1.bias"]
    assert "main.12.weight" in keys and "main.13.weight" not in keys
    assert sum(k.endswith(".weight") and k.count(".") == 2 for k in keys) == 9  # 5 convs + 4 BN


@pytest.mark.parametrize("wrap", ["bare", "netG_state_dict", "module_prefix"])
def test_loads_pytorch_examples_state_dicts(wrap):
    source = DCGANGenerator(nz=8, ngf=8, image_size=16)
    state = source.state_dict()
    if wrap == "netG_state_dict":
        state = {"netG_state_dict": state, "epoch": 3}
    elif wrap == "module_prefix":
        state = {f"module.{k}": v for k, v in state.items()}
    target = DCGANGenerator(**DCGANGenerator.infer_config(state))
    target.load_pytorch_examples(state)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value)


def test_an_artifact_of_a_pytorch_examples_file_makes_the_images_of_its_network(
        tiny_artifacts):
    """``tiny_weights`` is ``tiny_dcgan()`` saved as the public face weights are (under
    ``netG_state_dict``): gs-export infers its size and maps its keys without a gs record."""
    source = tiny_dcgan()
    art = gs_artifact.load(tiny_artifacts[2])
    z = torch.randn(5, 8, 1, 1, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert_close_f32(art.generator_at(0)(z), source.to_image(source(z)), source)


def test_mismatched_state_dict_names_the_keys():
    state = DCGANGenerator(nz=8, ngf=8, image_size=16).state_dict()
    del state["main.0.weight"]
    with pytest.raises(ValueError, match=r"G\.pth does not match.*main\.0\.weight"):
        DCGANGenerator(nz=8, ngf=8, image_size=16).load_pytorch_examples(state, source="G.pth")
    wrong = DCGANGenerator(nz=8, ngf=16, image_size=16).state_dict()
    with pytest.raises(ValueError, match="of shape"):
        DCGANGenerator(nz=8, ngf=8, image_size=16).load_pytorch_examples(wrong)
    with pytest.raises(ValueError, match="no tensors"):
        unwrap_state_dict({"epoch": 1})


def test_images_are_the_tanh_output_mapped_to_0_1():
    model = tiny_dcgan()
    with torch.no_grad():
        raw = model(torch.randn(3, 8, 1, 1, generator=torch.Generator().manual_seed(0)))
    assert raw.min() >= -1 and raw.max() <= 1 and raw.min() < 0 < raw.max()
    assert torch.equal(model.to_image(raw), (raw + 1) / 2)


def test_blocks_and_widths_follow_the_image_size():
    assert [dcgan_num_blocks(size) for size in (8, 16, 64, 128)] == [2, 3, 5, 6]
    tiny = tiny_dcgan()  # 16 px, ngf 8: the first block has ngf·2^(K-2) channels
    assert [tiny.cut_spec(c).shapes for c in tiny.valid_cuts] == [
        ((8, 1, 1),), ((16, 4, 4),), ((8, 8, 8),)]
