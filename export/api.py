"""``export_artifact``: weights in, one cut-generator artifact file out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
from gs.weights.entry import check_settings_changes

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



def export_pretrained(name: str, folder: str | Path, cuts: Sequence[int],
                      on_export: Callable[[str, int, Path], None] | None = None) -> list[Path]:
    """Pretrained generator ``name`` (:mod:`gs.weights`) exported at each of ``cuts`` into
    ``folder`` as ``NAME_cC.pt``, as ``gs-export --pretrained NAME --cut C`` writes it.

    A file already there is kept while it records what a fresh export would (the entry's
    record, source sha256 and recommended settings); otherwise it is exported anew, after
    ``on_export(name, cut, path)`` is called.

    Raises:
        UserInputError: unknown name, weights that fail their sha256 check or cannot be
            fetched. OSError: the folder cannot be written.
    """
    from gs.weights.fetch import resolve

    resolved = resolve(name)
    loaded = load_generator(resolved.path, resolved.model)
    paths = []
    for cut in dict.fromkeys(cuts):
        path = Path(folder) / f"{name}_c{cut}.pt"
        expected = build_metadata(loaded, cut, "torchscript", resolved.record,
                                  resolved.recommended)
        if not _records(path, expected):
            if on_export is not None:
                on_export(name, cut, path)
            export_artifact(resolved.path, path, cut=cut, model=resolved.model, overwrite=True,
                            extra=resolved.record, recommended=resolved.recommended)
        paths.append(path)
    return paths


def _records(path: Path, expected: ArtifactMetadata) -> bool:
    """Whether the artifact at ``path`` loads and records what a fresh export would."""
    from gs.artifacts import load

    if not path.is_file():
        return False
    try:
        recorded = load(path).metadata
    except (ValueError, OSError, RuntimeError):
        return False
    return (recorded.extra.get("pretrained") == expected.extra["pretrained"]
            and recorded.source_sha256 == expected.source_sha256
            and recorded.recommended == expected.recommended)
