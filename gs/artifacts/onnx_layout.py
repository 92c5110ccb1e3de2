"""The layout of an ONNX artifact: its pieces and their names (shared by exporter and runtime).

An ONNX artifact is one valid ONNX model file. Its own graph is the forward pass of
the ``tail`` (inputs at the artifact's cut → ``image`` in [0, 1]). Every other piece
is a complete ONNX model of its own, serialised and base64-encoded in the file's
``metadata_props`` under ``gs.piece.<piece>``; ``metadata_props["gs"]`` holds the
``gs.json`` metadata, whose ``extra.onnx.pieces`` lists each piece's key, input
names and output names. A client needs onnxruntime alone: open the file, read the
custom metadata map, decode a piece and open a session on its bytes.

Pieces, for a cut ``c``:
  * ``tail``: forward of the cut generator (the file's own graph).
  * ``tail_vjp``: inputs of ``tail`` plus ``grad:image`` (a cotangent shaped like
    the image) → ``image`` and ``grad:<input>`` = Jᵀ·``grad:image`` per input.
  * ``head_k`` (k < c): block k+1, state at cut k (names of ``latents[k]``) →
    state at cut k+1, named ``out:<name>`` for the names of ``latents[k+1]``.
  * ``head_k_vjp``: inputs of ``head_k`` plus ``grad:out:<name>`` per output →
    the outputs of ``head_k`` and ``grad:<input>`` per input.
Every input and output has the batch as its first, dynamic dimension.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gs.artifacts.metadata import ArtifactMetadata

ONNX_METADATA_KEY = "gs"
PIECE_KEY_PREFIX = "gs.piece."
IMAGE_OUTPUT = "image"
GRAD_PREFIX = "grad:"
HEAD_OUTPUT_PREFIX = "out:"
#: Version of the layout above, recorded in ``extra.onnx.layout``.
ONNX_LAYOUT = 2
MAIN_GRAPH = "tail"


@dataclass(frozen=True)
class Piece:
    """One runnable graph of an ONNX artifact."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def key(self) -> str | None:
        """``metadata_props`` key holding this piece (None: the file's own graph)."""
        return None if self.name == MAIN_GRAPH else PIECE_KEY_PREFIX + self.name

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "inputs": list(self.inputs), "outputs": list(self.outputs)}


def grad_name(name: str) -> str:
    """Name of the cotangent / gradient that belongs to tensor ``name``."""
    return GRAD_PREFIX + name


def vjp_piece(forward: Piece) -> Piece:
    """The VJP of ``forward``: (inputs, cotangents of outputs) → (outputs, input gradients)."""
    return Piece(
        f"{forward.name}_vjp",
        forward.inputs + tuple(grad_name(n) for n in forward.outputs),
        forward.outputs + tuple(grad_name(n) for n in forward.inputs),
    )


def forward_pieces(meta: ArtifactMetadata) -> list[Piece]:
    """``tail`` then ``head_0 … head_{c-1}`` (forward passes only)."""
    pieces = [Piece(MAIN_GRAPH, tuple(meta.spec.names), (IMAGE_OUTPUT,))]
    for k in range(meta.cut):
        pieces.append(Piece(f"head_{k}", tuple(meta.latents[k].names),
                            tuple(HEAD_OUTPUT_PREFIX + n for n in meta.latents[k + 1].names)))
    return pieces


def all_pieces(meta: ArtifactMetadata) -> dict[str, Piece]:
    """Every piece of the artifact by name: each forward piece followed by its VJP."""
    out: dict[str, Piece] = {}
    for forward in forward_pieces(meta):
        out[forward.name] = forward
        vjp = vjp_piece(forward)
        out[vjp.name] = vjp
    return out


def layout_json(meta: ArtifactMetadata) -> dict[str, Any]:
    """What ``gs.json``'s ``extra.onnx`` records for clients that do not use gs."""
    return {"layout": ONNX_LAYOUT,
            "pieces": {name: piece.to_json() for name, piece in all_pieces(meta).items()}}
