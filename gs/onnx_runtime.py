"""Run an ONNX artifact with numpy and onnxruntime only (this module never imports torch).

``load(path)`` validates the file and its ``gs.json`` and returns an
:class:`OnnxArtifact` whose ``generator`` maps float32 arrays (B, *shape) at the
artifact's cut to images (B, C, H, W) in [0, 1], and whose ``carry`` runs the
stored head blocks (progressive surgery). Each piece gets its own
onnxruntime session, extracted from the single side-by-side graph.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gs.artifact import ArtifactMetadata, artifact_format, check_graph
from gs.errors import UserInputError
from gs.latent import LatentSpec
from gs.onnx_graphs import ONNX_METADATA_KEY, piece_names


def default_providers() -> list[str]:
    """CUDA first when this onnxruntime build offers it, then CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def _session(model: bytes, providers: list[str]) -> Any:
    """An inference session; a GPU build without a usable GPU falls back to CPU quietly."""
    import onnxruntime as ort

    if providers == default_providers() and "CUDAExecutionProvider" in providers:
        ort.set_default_logger_severity(4)  # the failed CUDA probe would log as an error
        try:
            return ort.InferenceSession(model, providers=providers)
        finally:
            ort.set_default_logger_severity(2)
    return ort.InferenceSession(model, providers=providers)


class OnnxArtifact:
    """A loaded ONNX artifact; arrays in and out are numpy float32."""

    def __init__(self, sessions: dict[str, Any], metadata: ArtifactMetadata, path: Path) -> None:
        self.sessions = sessions
        self.metadata = metadata
        self.path = path
        self._inputs, self._outputs = piece_names(metadata)

    @property
    def spec(self) -> LatentSpec:
        return self.metadata.spec

    @property
    def device(self) -> str:
        """``cuda`` when the tail runs on onnxruntime's CUDA provider, else ``cpu``."""
        providers = self.sessions["tail"].get_providers()
        return "cuda" if providers and providers[0] == "CUDAExecutionProvider" else "cpu"

    def _run(self, piece: str, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        names = self._inputs[piece]
        if len(arrays) != len(names):
            raise ValueError(f"{piece} takes {len(names)} inputs ({', '.join(names)}), "
                             f"got {len(arrays)}")
        feeds = {n: np.ascontiguousarray(a, dtype=np.float32) for n, a in zip(names, arrays)}
        return self.sessions[piece].run(self._outputs[piece], feeds)

    def generator(self, *inputs: np.ndarray) -> np.ndarray:
        """Images (B, C, H, W) in [0, 1] from the inputs at the artifact's cut."""
        return self._run("tail", inputs)[0]

    def carry(self, c_from: int, c_to: int, state: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        """Run head blocks ``c_from+1 … c_to`` on ``state`` (arrays at cut ``c_from``)."""
        self.metadata.spec_at(c_from)
        self.metadata.spec_at(c_to)
        state = tuple(state)
        for k in range(c_from, c_to):
            state = tuple(self._run(f"head_{k}", state))
        return state

    def generator_at(self, c: int) -> Callable[..., np.ndarray]:
        """The generator cut at ``c ≤ cut``."""
        self.metadata.spec_at(c)
        return lambda *inputs: self.generator(*self.carry(c, self.metadata.cut, inputs))


def load(path: str | Path, providers: Sequence[str] | None = None) -> OnnxArtifact:
    """Load and validate an ``.onnx`` artifact written by ``gs-export``.

    Raises:
        UserInputError: (field ``artifact``) missing or unreadable file, missing or
            invalid metadata, metadata the graph contradicts.
    """
    import onnx
    from onnx.utils import Extractor

    path = Path(path)

    def refuse(problem: str) -> UserInputError:
        return UserInputError(problem, field="artifact", value=path)

    if artifact_format(path) != "onnx":
        raise refuse("is not an .onnx artifact")
    if not path.is_file():
        raise refuse("does not exist or is not a file")
    try:
        proto = onnx.load(str(path))
    except Exception:  # noqa: BLE001 - any parse failure is the same user error
        raise refuse("is not a readable ONNX model") from None
    props = {p.key: p.value for p in proto.metadata_props}
    if ONNX_METADATA_KEY not in props:
        raise refuse("carries no gs metadata; export it with gs-export")
    try:
        data = json.loads(props[ONNX_METADATA_KEY])
    except json.JSONDecodeError:
        raise refuse("has gs metadata that is not valid JSON") from None
    metadata = ArtifactMetadata.from_json(data, path)
    inputs, outputs = piece_names(metadata)
    graph_inputs = {i.name for i in proto.graph.input}
    graph_outputs = {o.name for o in proto.graph.output}
    for piece in inputs:
        if not set(inputs[piece]) <= graph_inputs or not set(outputs[piece]) <= graph_outputs:
            raise refuse(f"lacks the graph {piece!r} its metadata promises")
    chosen = list(providers) if providers is not None else default_providers()
    try:
        extractor = Extractor(proto)
        sessions = {
            piece: _session(
                extractor.extract_model(inputs[piece], outputs[piece]).SerializeToString(), chosen
            )
            for piece in inputs
        }
    except Exception:  # noqa: BLE001 - onnx/onnxruntime reject a malformed graph
        raise refuse("holds a graph onnxruntime cannot run") from None
    artifact = OnnxArtifact(sessions, metadata, path)
    check_graph(artifact, refuse)
    return artifact
