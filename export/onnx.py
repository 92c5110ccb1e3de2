"""Write a cut generator and its head blocks as one ONNX file.

ONNX runtimes need every graph input fed, so the pieces are side by side in one
graph with disjoint inputs and outputs, and a reader extracts the piece it needs
(``onnx.utils.Extractor``). ``gs.json`` records which inputs and outputs form
each piece; the same JSON as TorchScript's sits in ``metadata_props["gs"]``.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import replace
from pathlib import Path

import onnx
import torch
from torch import Tensor, nn

from gs.artifact import ArtifactMetadata
from gs.models.base import StagedGenerator
from gs.onnx_graphs import ONNX_METADATA_KEY, piece_names
from gs.surgery import cut, head_stages

TRACE_BATCH = 2


class _SideBySide(nn.Module):
    """``forward(*tail_inputs, *head_0_inputs, …) -> (image, *head_0_outputs, …)``."""

    def __init__(self, model: StagedGenerator, cut_index: int) -> None:
        super().__init__()
        self.tail = cut(model, cut_index)
        self.heads = nn.ModuleList(head_stages(model, cut_index))
        self.counts = [len(model.cut_spec(c).inputs) for c in [cut_index, *range(cut_index)]]

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        groups, start = [], 0
        for count in self.counts:
            groups.append(inputs[start : start + count])
            start += count
        outputs: list[Tensor] = [self.tail(*groups[0])]
        for head, group in zip(self.heads, groups[1:]):
            outputs.extend(head(*group))
        return tuple(outputs)


def save_onnx(model: StagedGenerator, cut_index: int, metadata: ArtifactMetadata,
              path: Path) -> None:
    """Export tail and heads with a dynamic batch and write them to ``path``."""
    inputs, outputs = piece_names(metadata)
    examples = model.example_state(cut_index, TRACE_BATCH)
    for k in range(cut_index):
        examples = examples + model.example_state(k, TRACE_BATCH)
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    names = [name for piece in inputs.values() for name in piece]
    out_names = [name for piece in outputs.values() for name in piece]
    with contextlib.redirect_stdout(io.StringIO()), torch.no_grad(), warnings.catch_warnings():
        # The exporter's own chatter: axis renaming and a pytree deprecation inside torch.
        warnings.filterwarnings("ignore", message=".*axis name.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        program = torch.onnx.export(
            _SideBySide(model, cut_index).eval(), examples, dynamo=True,
            input_names=names, output_names=out_names,
            dynamic_shapes=(tuple({0: batch} for _ in examples),), verbose=False,
        )
    proto = program.model_proto
    data = replace(metadata, extra={**metadata.extra, "graphs": {
        piece: {"inputs": inputs[piece], "outputs": outputs[piece]} for piece in inputs}})
    entry = proto.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, json.dumps(data.to_json())
    onnx.save_model(proto, str(path))
