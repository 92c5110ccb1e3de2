"""DCGAN in the pytorch-examples layout: key mapping, cut shapes, blocks compose."""

from __future__ import annotations

import pytest
import torch

from gs.models import build_model, model_class
from gs.models.dcgan import DCGANGenerator, dcgan_num_blocks, unwrap_state_dict
from gs.surgery import cut, head_stages
from helpers import assert_close_f32

EXPECTED_64PX_SHAPES = [(100, 1, 1), (512, 4, 4), (256, 8, 8), (128, 16, 16), (64, 32, 32)]


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


def test_every_cut_has_the_documented_shape():
    model = DCGANGenerator()
    assert list(model.valid_cuts) == [0, 1, 2, 3, 4]
    assert [model.cut_spec(c).shapes[0] for c in model.valid_cuts] == EXPECTED_64PX_SHAPES
    assert model.cut_spec(0).names == ("z",) and model.cut_spec(2).names == ("h2",)


@pytest.mark.parametrize("c", [0, 1, 2, 3])
def test_cut_generator_equals_uncut_generator_on_the_matching_tensor(c):
    torch.manual_seed(0)
    model = DCGANGenerator(nz=8, ngf=8, image_size=32).eval()
    z = torch.randn(3, 8, 1, 1)
    state = (z,)
    for stage in head_stages(model, c):
        state = stage(*state)
    assert state[0].shape[1:] == model.cut_spec(c).shapes[0]
    with torch.no_grad():
        expected = (model(z) + 1) / 2
        assert_close_f32(cut(model, c)(*state), expected, model)
        out = cut(model, c)(*model.example_state(c, 2))
    assert out.shape == (2, 3, 32, 32) and out.min() >= 0 and out.max() <= 1


def test_invalid_cut_and_size_name_the_allowed_values():
    with pytest.raises(ValueError, match="from 0 to 4"):
        cut(DCGANGenerator(), 5)
    with pytest.raises(ValueError, match="power of two"):
        dcgan_num_blocks(48)
    assert dcgan_num_blocks(128) == 6


def test_registry_and_config_round_trip():
    model = DCGANGenerator(nz=8, ngf=8, image_size=16)
    rebuilt = build_model("dcgan", model.config())
    assert rebuilt.config() == model.config()
    with pytest.warns(UserWarning, match="unknown keys"):
        build_model("dcgan", {**model.config(), "colour": "red"})
    with pytest.raises(ValueError, match="unknown model 'stylegan'"):
        model_class("stylegan")
