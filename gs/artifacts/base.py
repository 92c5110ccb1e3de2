"""What every loaded artifact offers, whatever its format, and the checks at load.

No torch here: the protocol and the checks serve the torch-free runtime too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from gs.artifacts.metadata import ArtifactMetadata
from gs.latent import LatentSpec


@runtime_checkable
class Artifact(Protocol):
    """What every loaded artifact offers, whatever its format.

    :class:`TorchScriptArtifact` works on torch tensors, ``gs.artifacts.onnx.OnnxArtifact``
    on numpy float32 arrays; both map inputs (B, *shape) at a cut to images
    (B, C, H, W) in [0, 1].
    """

    metadata: ArtifactMetadata
    path: Path

    @property
    def device(self) -> str:
        """Where the graph runs: ``cpu``, ``cuda`` or ``cuda:N``."""
        ...

    @property
    def spec(self) -> LatentSpec:
        """The inputs at the artifact's own cut."""
        ...

    def generator(self, *inputs: Any) -> Any:
        """Inputs at the artifact's cut → images (B, C, H, W) in [0, 1]."""
        ...

    def carry(self, c_from: int, c_to: int, state: Sequence[Any]) -> tuple[Any, ...]:
        """Map a state at cut ``c_from`` through the head blocks to cut ``c_to``."""
        ...

    def generator_at(self, c: int) -> Callable[..., Any]:
        """The generator cut at ``c`` ≤ cut: inputs at ``c`` → images in [0, 1]."""
        ...

    # What the inversion engine (:func:`gs.invert.invert`) needs of a backend.
    @property
    def xp(self) -> Any:
        """The array namespace of this backend's arrays (``array_api_compat``)."""
        ...

    def asarray(self, array: Any) -> Any:
        """A numpy array as this backend's array on its device (dtype kept)."""
        ...

    def precision_for(self, precision: str) -> str:
        """``fp32`` or ``bf16``: what ``precision`` (fp32, bf16, auto) means here; a
        ``UserInputError`` (field ``precision``) where the backend cannot honour it."""
        ...

    def forward(self, c: int, inputs: Sequence[Any], precision: str = "fp32") -> Any:
        """Images (B, C, H, W) float32 in [0, 1] of ``inputs`` at cut ``c``, no gradient."""
        ...

    def image_and_vjp(self, c: int, inputs: Sequence[Any], cotangent: Callable[[Any], Any],
                      precision: str = "fp32") -> tuple[Any, list[Any]]:
        """``G_c(inputs)`` (B, C, H, W) float32 and ``J_cᵀ v`` for ``v = cotangent(image)``
        (an array of the image's shape): one gradient per input, shaped like it."""
        ...


def check_graph(artifact: Artifact, refuse: Callable[[str], Exception]) -> None:
    """Run every piece once on zeros (batch 1) and compare with what the metadata says.

    Raises ``refuse(problem)`` when a piece fails to run or when its outputs do not
    have the shapes that ``gs.json`` records (image shape, latents at each cut).
    """
    meta = artifact.metadata
    zeros = _zeros_like_spec(artifact, meta.spec)
    try:
        image = artifact.generator(*zeros)
    except Exception:  # noqa: BLE001 - a graph that cannot run its own inputs
        raise refuse("fails to run on inputs of the shapes its gs.json records") from None
    if tuple(image.shape) != (1, *meta.image_shape):
        raise refuse(f"makes images of shape {tuple(image.shape)[1:]}, its gs.json says "
                     f"{tuple(meta.image_shape)}")
    for c in range(meta.cut):
        state = _zeros_like_spec(artifact, meta.spec_at(c))
        try:
            carried = artifact.carry(c, c + 1, state)
        except Exception:  # noqa: BLE001 - as above, for a head block
            raise refuse(f"has a head block {c} that fails on the shapes its gs.json "
                         "records") from None
        expected = [(1, *shape) for shape in meta.spec_at(c + 1).shapes]
        if [tuple(t.shape) for t in carried] != expected:
            raise refuse(f"has a head block {c} whose outputs contradict its gs.json latents")


def _zeros_like_spec(artifact: Artifact, spec: LatentSpec) -> list[Any]:
    return [artifact.asarray(np.zeros((1, *s), dtype=np.float32)) for s in spec.shapes]


class ArtifactView:
    """A loaded artifact seen as if exported at a shallower cut ``cut``.

    An artifact carries the blocks in front of its cut, so ``G_c`` for any ``c ≤ cut``
    is available from one file: a cut sweep and "no surgery" (c = 0) need no second
    export. Everything but the metadata (whose cut and latents end at ``cut``) is the
    artifact's own, so the view inverts on the same backend.
    """

    def __init__(self, artifact: Artifact, cut: int) -> None:
        artifact.metadata.spec_at(cut)
        self.artifact = artifact
        self.metadata = replace(artifact.metadata, cut=cut,
                                latents=artifact.metadata.latents[: cut + 1])
        self.path = artifact.path
        self.device = artifact.device
        self.xp = artifact.xp

    @property
    def spec(self) -> LatentSpec:
        return self.metadata.spec

    def generator_at(self, c: int) -> Callable[..., Any]:
        self.metadata.spec_at(c)
        return self.artifact.generator_at(c)

    def generator(self, *inputs: Any) -> Any:
        return self.artifact.generator_at(self.metadata.cut)(*inputs)

    def carry(self, c_from: int, c_to: int, state: Sequence[Any]) -> tuple[Any, ...]:
        self.metadata.spec_at(c_to)
        return self.artifact.carry(c_from, c_to, state)

    def asarray(self, array: Any) -> Any:
        return self.artifact.asarray(array)

    def precision_for(self, precision: str) -> str:
        return self.artifact.precision_for(precision)

    def forward(self, c: int, inputs: Sequence[Any], precision: str = "fp32") -> Any:
        self.metadata.spec_at(c)
        return self.artifact.forward(c, inputs, precision)

    def image_and_vjp(self, c: int, inputs: Sequence[Any], cotangent: Callable[[Any], Any],
                      precision: str = "fp32") -> tuple[Any, list[Any]]:
        self.metadata.spec_at(c)
        return self.artifact.image_and_vjp(c, inputs, cotangent, precision)


def at_cut(artifact: Artifact, cut: int) -> Artifact:
    """``artifact`` itself at its own cut, else a view of it at the shallower ``cut``."""
    return artifact if cut == artifact.metadata.cut else ArtifactView(artifact, cut)
