"""``export_artifact``: weights in, one cut-generator artifact file out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from gs.artifacts import ArtifactMetadata, artifact_format
from gs.export.onnx import save_onnx
from gs.export.torchscript import save_torchscript
from gs.io import atomic_write, check_writable
from gs.models import LoadedGenerator, load_generator
from gs.settings import TASKS
from gs.weights import check_settings_changes

#: Per-task changes to a model's recommended settings: task → fields of InversionSettings.
SettingsChanges = Mapping[str, Mapping[str, Any]]


def build_metadata(loaded: LoadedGenerator, cut_index: int, fmt: str,
                   extra: dict | None = None,
                   recommended: SettingsChanges | None = None) -> ArtifactMetadata:
    """The ``gs.json`` record for ``loaded`` cut at ``cut_index`` (``extra``: free-form
    records such as the cut sweep of ``--cut auto``; ``recommended``: changes to the
    model's recommended settings, see :func:`export_artifact`)."""
    model = loaded.model
    settings = {task: model.recommended_settings(task, cut_index) for task in TASKS}
    for task, changes in (recommended or {}).items():
        settings[task] = replace(settings[task], **changes)
    return ArtifactMetadata(
        model=model.model_name,
        model_config=model.config(),
        cut=cut_index,
        latents=tuple(model.cut_spec(c) for c in range(cut_index + 1)),
        image_shape=model.image_shape,
        recommended=settings,
        paper={task: model.paper_settings(task) for task in TASKS},
        source_name=loaded.source_name,
        source_sha256=loaded.source_sha256,
        format=fmt,
        valid_cuts=tuple(model.valid_cuts),
        torch_version=torch.__version__,
        extra=dict(extra or {}),
    )


def export_artifact(
    weights: str | Path,
    out: str | Path,
    cut: int | None = None,
    model: str | None = None,
    overwrite: bool = False,
    extra: dict | None = None,
    recommended: SettingsChanges | None = None,
    **options: Any,
) -> Path:
    """Export the generator at ``weights`` cut at ``cut`` to the artifact ``out``.

    Args:
        weights: see :func:`gs.models.load_generator`.
        out: ``.pt`` (TorchScript) or ``.onnx`` path; written atomically. Both
            formats hold the cut generator and the blocks in front of the cut.
        cut: blocks to remove (0 = no surgery); ``None`` takes the model's
            recommended cut.
        model: model name, needed only for plain state dicts.
        overwrite: replace ``out`` if it exists.
        options: export options the model declares (BigGAN: ``truncation``), fixed
            in the graph and recorded in ``gs.json``'s ``model_config``; an error
            for a model that does not declare them.
        extra: JSON-serialisable records kept in ``gs.json`` under ``extra``.
        recommended: per-task changes to the model's recommended inversion settings
            (task → fields of :class:`~gs.settings.InversionSettings`), written into
            ``gs.json``'s ``recommended``; tasks left out keep the model's own. A
            pretrained generator's measured settings (:mod:`gs.weights`) come this way.

    Returns:
        The written path.
    """
    out = Path(out)
    fmt = artifact_format(out, field="out")
    check_settings_changes(recommended or {})
    check_writable(out, overwrite, "out")
    loaded = load_generator(weights, model, **options)
    cut_index = loaded.model.recommended_cut if cut is None else int(cut)
    loaded.model.check_cut(cut_index)
    metadata = build_metadata(loaded, cut_index, fmt, extra, recommended)
    save = save_onnx if fmt == "onnx" else save_torchscript
    return atomic_write(out, lambda tmp: save(loaded.model, cut_index, metadata, tmp), overwrite)

