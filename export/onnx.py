"""Write a cut generator, its head blocks and their vector–Jacobian products as one ONNX file.

onnxruntime computes no gradients, so the artifact carries them: for the tail and
every head block a second graph ``(inputs, v) ↦ (outputs, Jᵀv)``. Each piece is
its own ONNX model (onnxruntime refuses a run unless every graph input is fed, so
pieces cannot share one graph); the layout is described in :mod:`gs.artifacts.onnx_layout`.

The VJP graphs are traced with ``make_fx`` through autograd. torch has no ONNX
translation of ``aten.convolution_backward`` or ``aten.upsample_nearest2d_backward``,
so the decomposition table below writes their input gradients as ordinary
operators first: the input gradient of a convolution is a transposed convolution
with the same weights (and vice versa), and that of nearest upsampling by an
integer factor s is the sum over each s×s block.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import Tensor, nn
from torch._decomp import core_aten_decompositions
from torch.fx.experimental.proxy_tensor import make_fx

from gs.artifacts import ArtifactMetadata
from gs.artifacts.onnx_layout import (
    MAIN_GRAPH,
    ONNX_METADATA_KEY,
    Piece,
    forward_pieces,
    layout_json,
    vjp_piece,
)
from gs.models.base import StagedGenerator
from gs.surgery import cut, head_stages

TRACE_BATCH = 2
ATEN = torch.ops.aten


def _conv_input_grad(grad_out: Tensor, x: Tensor, weight: Tensor, bias_sizes: Any,
                     stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int],
                     transposed: bool, output_padding: Sequence[int], groups: int,
                     mask: Sequence[bool]) -> tuple[Tensor | None, None, None]:
    """``aten.convolution_backward`` for the input only (weights are constants here)."""
    if not mask[0]:
        return None, None, None
    dims = range(len(stride))
    if transposed:
        grad = ATEN.convolution(grad_out, weight, None, stride, padding, dilation, False,
                                [0] * len(stride), groups)
    else:
        # The forward's floor division may drop trailing rows; output_padding restores them.
        restored = [x.shape[2 + i] - ((grad_out.shape[2 + i] - 1) * stride[i] - 2 * padding[i]
                                      + dilation[i] * (weight.shape[2 + i] - 1) + 1)
                    for i in dims]
        grad = ATEN.convolution(grad_out, weight, None, stride, padding, dilation, True,
                                restored, groups)
    return grad, None, None


def _upsample_nearest_input_grad(grad_out: Tensor, output_size: Sequence[int],
                                 input_size: Sequence[int], scales_h: float | None = None,
                                 scales_w: float | None = None) -> Tensor:
    """``aten.upsample_nearest2d_backward`` for integer factors: sum over each s×s block."""
    _, channels, height, width = input_size
    out_h, out_w = output_size
    if out_h % height or out_w % width:
        raise ValueError(f"nearest upsampling from {height}x{width} to {out_h}x{out_w} is not "
                         "by an integer factor; its gradient cannot be exported")
    sh, sw = out_h // height, out_w // width
    blocks = grad_out.reshape(grad_out.shape[0], channels, height, sh, width, sw)
    return blocks.sum(dim=(3, 5))


def decompositions() -> dict[Any, Callable[..., Any]]:
    """Core ATen decompositions plus the two backward ops ONNX cannot express."""
    table = dict(core_aten_decompositions())
    table[ATEN.convolution_backward.default] = _conv_input_grad
    table[ATEN.upsample_nearest2d_backward.default] = _upsample_nearest_input_grad
    return table


def _as_tuple(out: Tensor | Sequence[Tensor]) -> tuple[Tensor, ...]:
    return (out,) if isinstance(out, Tensor) else tuple(out)


def vjp_function(module: nn.Module, n_inputs: int) -> Callable[..., tuple[Tensor, ...]]:
    """``(*inputs, *cotangents) -> (*outputs, *input_gradients)`` of ``module``."""

    def run(*args: Tensor) -> tuple[Tensor, ...]:
        inputs = [a.detach().requires_grad_(True) for a in args[:n_inputs]]
        cotangents = args[n_inputs:]
        with torch.enable_grad():
            outputs = _as_tuple(module(*inputs))
            grads = torch.autograd.grad(outputs, inputs, cotangents, allow_unused=True)
        grads = tuple(torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads))
        # A clone keeps an output that is an input unchanged (BEGAN's skip) a graph node.
        return (*(o.detach().clone() for o in outputs), *grads)

    return run


def trace_vjp(module: nn.Module, examples: tuple[Tensor, ...]) -> torch.fx.GraphModule:
    """A graph of plain ATen operators computing :func:`vjp_function`, symbolic in batch."""
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    with torch.no_grad():
        outputs = _as_tuple(module(*examples))
    cotangents = tuple(torch.randn_like(o) for o in outputs)
    return make_fx(vjp_function(module, len(examples)), decomposition_table=decompositions(),
                   tracing_mode="symbolic", _allow_non_fake_inputs=True)(*examples, *cotangents)


class _SideBySide(nn.Module):
    """Every piece in one module, so that one (slow) ``torch.onnx.export`` call covers all.

    ``forward(*inputs of piece 0, *inputs of piece 1, …)`` returns the outputs of
    each piece in turn; :func:`_split` cuts the ONNX graph back into pieces.
    """

    def __init__(self, parts: list[nn.Module], counts: list[int]) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)
        self.counts = counts

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        outputs: list[Tensor] = []
        start = 0
        for part, count in zip(self.parts, self.counts):
            outputs.extend(_as_tuple(part(*inputs[start : start + count])))
            start += count
        return tuple(outputs)


def _joint_name(piece: Piece, name: str) -> str:
    return f"{piece.name}|{name}"


def _extract(model: onnx.ModelProto, piece: Piece) -> onnx.ModelProto:
    """The part of ``model`` that computes ``piece``'s outputs from its inputs."""
    from onnx.utils import Extractor

    part = Extractor(model).extract_model(list(piece.inputs), list(piece.outputs))
    part.graph.name = piece.name
    return part


def _split(joint: onnx.ModelProto, piece: Piece) -> onnx.ModelProto:
    """Piece ``piece`` of the side-by-side graph as a model of its own, names restored."""
    from onnx.utils import Extractor

    model = Extractor(joint).extract_model([_joint_name(piece, n) for n in piece.inputs],
                                           [_joint_name(piece, n) for n in piece.outputs])
    rename = {_joint_name(piece, n): n for n in (*piece.inputs, *piece.outputs)}
    graph = model.graph
    for value in (*graph.input, *graph.output):
        value.name = rename[value.name]
    for node in graph.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    model.graph.name = piece.name
    del model.metadata_props[:]
    return model


def export_pieces(model: StagedGenerator, cut_index: int,
                  metadata: ArtifactMetadata) -> dict[str, onnx.ModelProto]:
    """Every piece of the artifact (forward and VJP of tail and heads) as ONNX models.

    Only the VJP graphs are traced and exported; each forward piece is the part of
    its VJP graph that computes the outputs from the inputs (the same operators,
    extracted), which halves the exporter's work.
    """
    modules = [cut(model, cut_index), *head_stages(model, cut_index)]
    states = [cut_index, *range(cut_index)]
    parts: list[nn.Module] = []
    forwards = forward_pieces(metadata)
    vjps = [vjp_piece(forward) for forward in forwards]
    examples: list[Tensor] = []
    for module, state in zip(modules, states):
        module.eval()
        inputs = model.example_state(state, TRACE_BATCH)
        with torch.no_grad():
            cotangents = tuple(torch.zeros_like(o) for o in _as_tuple(module(*inputs)))
        parts.append(trace_vjp(module, inputs))
        examples += [*inputs, *cotangents]
    # One batch symbol per piece: with a shared one the exporter may read a piece's
    # batch size off another piece's input, which the split would cut away.
    dims = [{0: torch.export.Dim(f"batch{i}", min=1, max=1 << 16)}
            for i, piece in enumerate(vjps) for _ in piece.inputs]
    with contextlib.redirect_stdout(io.StringIO()), torch.no_grad(), warnings.catch_warnings():
        # The exporter's own chatter: axis renaming and a pytree deprecation inside torch.
        warnings.filterwarnings("ignore", message=".*axis name.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        program = torch.onnx.export(
            _SideBySide(parts, [len(p.inputs) for p in vjps]).eval(), tuple(examples),
            dynamo=True, verbose=False,
            input_names=[_joint_name(p, n) for p in vjps for n in p.inputs],
            output_names=[_joint_name(p, n) for p in vjps for n in p.outputs],
            dynamic_shapes=(tuple(dims),),
        )
    out = {}
    for forward, vjp in zip(forwards, vjps):
        out[vjp.name] = _split(program.model_proto, vjp)
        out[forward.name] = _extract(out[vjp.name], forward)
    return out


def pack(pieces: dict[str, onnx.ModelProto], metadata: ArtifactMetadata) -> onnx.ModelProto:
    """The tail's forward model carrying the other pieces and ``gs.json`` as metadata."""
    data = replace(metadata, extra={**metadata.extra, "onnx": layout_json(metadata)})
    layout = data.extra["onnx"]["pieces"]
    main = pieces[MAIN_GRAPH]
    del main.metadata_props[:]
    entry = main.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, json.dumps(data.to_json())
    for name, proto in pieces.items():
        key = layout[name]["key"]
        if key is None:
            continue
        entry = main.metadata_props.add()
        entry.key = key
        entry.value = base64.b64encode(proto.SerializeToString()).decode("ascii")
    return main


def save_onnx(model: StagedGenerator, cut_index: int, metadata: ArtifactMetadata,
              path: Path) -> None:
    """Export every piece with a dynamic batch and write the artifact to ``path``."""
    onnx.save_model(pack(export_pieces(model, cut_index, metadata), metadata), str(path))
