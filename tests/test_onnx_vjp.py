"""ONNX artifacts carry their own gradients: every piece of every model matches torch.

For each registered model a tiny instance is exported at its deepest cut, so the
artifact holds the tail and the heads of every shallower cut; each piece's forward
pass and vector–Jacobian product, and the chained VJP at every cut, are compared
with torch autograd.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gs.artifacts import onnx as onnx_runtime
from gs.export.api import build_metadata
from gs.export.onnx import save_onnx
from gs.models import MODELS, LoadedGenerator
from gs.models.began import BEGANGenerator
from gs.models.biggan import BigGANDeep
from gs.models.sequential import SequentialGenerator
from gs.models.vae import VAEDecoder
from gs.surgery import cut, head_stages
from helpers import tiny_dcgan

pytestmark = pytest.mark.usefixtures("one_thread")

# Smallest BigGAN-deep with every kind of block (widths must halve from 16 to 1): gen_z,
# conditional GenBlocks (one upsampling), self-attention, output block; cuts 0 … 6.
MINI_BIGGAN = {
    "output_dim": 8, "z_dim": 4, "class_embed_dim": 4, "channel_width": 4, "num_classes": 3,
    "layers": [[False, 16, 8], [True, 8, 4], [False, 4, 2], [False, 2, 1]],
    "attention_layer_position": 1, "eps": 1e-4, "n_stats": 51,
}
FORWARD_ATOL = 1e-5  # images in [0, 1]; float32 graphs of a few dozen operations
GRAD_RTOL = 1e-4  # max |error| relative to max |gradient|


def _randomise_batch_norm(model: torch.nn.Module) -> torch.nn.Module:
    """Running statistics away from (0, 1), so that batch norm is not the identity."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _biggan() -> BigGANDeep:
    from test_biggan import tiny_upstream

    model = BigGANDeep(MINI_BIGGAN)
    model.load_upstream(tiny_upstream(**MINI_BIGGAN).state_dict())
    model.finalize()
    return model.eval()


def _build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "dcgan":
        return tiny_dcgan()
    if name == "began":  # 16 px: cuts 0 … 2, the second input z2 from cut 2 on
        return BEGANGenerator(nz=4, ngf=4, nc=3, image_size=16).eval()
    if name == "vae":  # 8 px: linear head, ConvT + BN + LeakyReLU, conv + sigmoid
        return _randomise_batch_norm(VAEDecoder(nz=4, ngf=2, nc=3, image_size=8))
    if name == "module":  # the smoke network: ConvT + BN + ReLU twice, ConvT + tanh
        return _randomise_batch_norm(SequentialGenerator(**SequentialGenerator.smoke_config))
    return _biggan()


BUILT = ("began", "biggan", "dcgan", "module", "vae")  # every model gs ships; see the test below


@pytest.fixture(scope="module", params=BUILT)
def exported(request, tmp_path_factory, onnx_c2):
    model = _build(request.param)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    deepest = max(model.valid_cuts)
    if request.param == "dcgan":  # the suite's shared tiny DCGAN artifact, cut 2 of 0 … 2
        assert deepest == 2
        return model, onnx_runtime.load(onnx_c2, device="cpu")
    loaded = LoadedGenerator(model, "tiny", "0" * 64)
    path = tmp_path_factory.mktemp("vjp") / f"{request.param}.onnx"
    save_onnx(model, deepest, build_metadata(loaded, deepest, "onnx"), path)
    return model, onnx_runtime.load(path, device="cpu")


def test_every_registered_model_is_covered():
    shipped = {name for name, cls in MODELS.items() if cls.__module__.startswith("gs.")}
    assert shipped == set(BUILT)  # a test may register its own (toy) models besides


def _close_gradients(actual: np.ndarray, expected: np.ndarray) -> None:
    scale = float(np.abs(expected).max())
    assert scale > 0, "a zero gradient would make the comparison vacuous"
    assert float(np.abs(actual - expected).max()) <= GRAD_RTOL * scale


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def test_each_piece_forward_and_vjp_match_torch(exported):
    model, art = exported
    deepest = art.metadata.cut
    modules = {"tail": cut(model, deepest)}
    modules.update({f"head_{k}": h for k, h in enumerate(head_stages(model, deepest))})
    states = {"tail": deepest, **{f"head_{k}": k for k in range(deepest)}}
    gen = torch.Generator().manual_seed(3)
    for name, module in modules.items():
        inputs = [torch.randn((3, *s), generator=gen) for s in
                  art.metadata.spec_at(states[name]).shapes]
        leaves = [x.clone().requires_grad_(True) for x in inputs]
        outputs = _as_tuple(module(*leaves))
        cotangents = [torch.randn(o.shape, generator=gen) for o in outputs]
        grads = torch.autograd.grad(outputs, leaves, cotangents, allow_unused=True)
        arrays = [x.numpy() for x in inputs]
        forward = art.graph(name)(*arrays)
        vjp = art.graph(f"{name}_vjp")(*arrays, *(v.numpy() for v in cotangents))
        for got, again, want in zip(forward, vjp, outputs):
            np.testing.assert_allclose(got, want.detach().numpy(), atol=FORWARD_ATOL)
            np.testing.assert_allclose(again, want.detach().numpy(), atol=FORWARD_ATOL)
        for got, want in zip(vjp[len(outputs):], grads):
            if want is None:  # an input the outputs ignore: the graph gives zeros
                assert not np.any(got)
                continue
            _close_gradients(got, want.numpy())


def test_chained_vjp_matches_autograd_at_every_cut(exported):
    model, art = exported
    gen = torch.Generator().manual_seed(5)
    for c in model.valid_cuts:
        inputs = [torch.randn((2, *s), generator=gen).clamp(-1, 1)
                  for s in art.metadata.spec_at(c).shapes]
        leaves = [x.clone().requires_grad_(True) for x in inputs]
        image = cut(model, c)(*leaves)
        v = torch.randn(image.shape, generator=gen)
        grads = torch.autograd.grad(image, leaves, v)
        got_image, got_grads = art.image_and_vjp(c, [x.numpy() for x in inputs],
                                                 lambda _img, v=v: v.numpy())
        np.testing.assert_allclose(got_image, image.detach().numpy(), atol=FORWARD_ATOL)
        assert len(got_grads) == len(grads)
        for got, want in zip(got_grads, grads):
            _close_gradients(got, want.numpy())


def test_batch_is_dynamic(exported):
    _, art = exported
    for batch in (1, 4):
        inputs = [np.zeros((batch, *s), np.float32) for s in art.spec.shapes]
        image, grads = art.image_and_vjp(art.metadata.cut, inputs, np.ones_like)
        assert image.shape == (batch, *art.metadata.image_shape)
        assert [g.shape for g in grads] == [x.shape for x in inputs]
