"""Names of the pieces inside an ONNX artifact (shared by exporter and runtime; no torch)."""

from __future__ import annotations

from gs.artifact import ArtifactMetadata

ONNX_METADATA_KEY = "gs"
IMAGE_OUTPUT = "image"


def piece_names(meta: ArtifactMetadata) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Input and output names of ``tail`` and each ``head_k``, in graph order.

    The tail takes the inputs at the artifact's cut under their own names and
    gives ``image``; ``head_k`` takes ``head_k/<name at cut k>`` and gives
    ``head_k/<name at cut k+1>``.
    """
    inputs = {"tail": list(meta.spec.names)}
    outputs = {"tail": [IMAGE_OUTPUT]}
    for k in range(meta.cut):
        inputs[f"head_{k}"] = [f"head_{k}/{name}" for name in meta.latents[k].names]
        outputs[f"head_{k}"] = [f"head_{k}/{name}" for name in meta.latents[k + 1].names]
    for k in range(meta.cut):  # an output may not share its name with an input
        outputs[f"head_{k}"] = [f"{name}:out" for name in outputs[f"head_{k}"]]
    return inputs, outputs
