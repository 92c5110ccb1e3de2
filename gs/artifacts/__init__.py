"""Cut-generator artifacts: one file each, TorchScript (``.pt``) or ONNX (``.onnx``).

:func:`load` opens either by its suffix and validates everything it reads; what comes
back satisfies :class:`Artifact`, the protocol the inversion engine and every app use.
The ONNX backend (:mod:`gs.artifacts.onnx`) needs numpy and onnxruntime only; the
TorchScript one (:mod:`gs.artifacts.torchscript`) imports torch when it loads. This
package imports neither.
"""

from __future__ import annotations

from pathlib import Path

from gs.artifacts.base import Artifact, ArtifactView, at_cut, check_graph
from gs.artifacts.metadata import FORMATS, METADATA_NAME, ArtifactMetadata, artifact_format

__all__ = ["FORMATS", "METADATA_NAME", "Artifact", "ArtifactMetadata", "ArtifactView", "at_cut",
           "artifact_format", "check_graph", "load"]


def load(path: str | Path, device: str = "auto") -> Artifact:
    """Load and validate the artifact at ``path`` with the backend its suffix names.

    Args:
        path: a ``.pt`` (TorchScript: torch) or ``.onnx`` (onnxruntime + numpy) file
            written by ``gs-export``.
        device: ``auto`` (CUDA where available, else the CPU), ``cpu``, ``cuda`` or
            ``cuda:N``.

    Raises:
        UserInputError: (field ``artifact``) a missing, foreign or invalid file; (field
            ``device``) a device this machine does not have.
    """
    if artifact_format(path) == "onnx":
        from gs.artifacts import onnx

        return onnx.load(path, device=device)
    from gs.artifacts import torchscript
    from gs.devices import resolve_device

    return torchscript.load(path, device=resolve_device(device))
