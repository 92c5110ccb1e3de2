"""Write a cut generator and its head blocks as one TorchScript file."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from gs.artifacts import METADATA_NAME, ArtifactMetadata
from gs.models.base import StagedGenerator
from gs.surgery import cut, head_stages

TRACE_BATCH = 2


class ArtifactModule(nn.Module):
    """Container saved as the artifact: ``tail`` and ``head_0 … head_{c-1}``."""

    def __init__(self, tail: nn.Module, heads: list[nn.Module]) -> None:
        super().__init__()
        self.tail = tail
        for k, head in enumerate(heads):
            self.add_module(f"head_{k}", head)


def trace_artifact(model: StagedGenerator, cut_index: int) -> torch.jit.ScriptModule:
    """Trace the tail at ``cut_index`` and every head block with a dynamic batch."""
    with torch.no_grad():
        tail = torch.jit.trace(
            cut(model, cut_index), model.example_state(cut_index, TRACE_BATCH), check_trace=False
        )
        heads = [
            torch.jit.trace(stage, model.example_state(k, TRACE_BATCH), check_trace=False)
            for k, stage in enumerate(head_stages(model, cut_index))
        ]
    return torch.jit.script(ArtifactModule(tail, heads))


def save_torchscript(
    model: StagedGenerator, cut_index: int, metadata: ArtifactMetadata, path: Path
) -> None:
    """Trace and write the artifact to ``path`` (the caller makes the write atomic)."""
    module = trace_artifact(model, cut_index)
    text = json.dumps(metadata.to_json(), indent=2)
    torch.jit.save(module, str(path), _extra_files={METADATA_NAME: text})
