"""ONNX artifacts on numpy and onnxruntime only (no torch, no onnx package).

``load(path)`` opens the artifact (layout in :mod:`gs.artifacts.onnx_layout`: the file's own
graph is the tail's forward pass; the VJP graphs and the head blocks are ONNX
models stored in its metadata), validates it and returns an :class:`OnnxArtifact`:
``generator`` / ``generator_at(c)`` / ``carry`` run forward passes and
``image_and_vjp`` chains the stored vector–Jacobian products. That is all the
inversion engine (:func:`gs.invert.invert`, written once for every format) needs: the
same seeded problems, restarts, progressive surgery and results as with TorchScript.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import array_api_compat.numpy as numpy_namespace
import numpy as np

from gs.artifacts.metadata import ArtifactMetadata, artifact_format
from gs.artifacts.onnx_layout import ONNX_METADATA_KEY, Piece, all_pieces, layout_json
from gs.errors import UserInputError
from gs.latent import LatentSpec

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")


def providers_for(device: str) -> list[str]:
    """onnxruntime execution providers for ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    import onnxruntime as ort

    if device == "cpu":
        return [CPU]
    if device == "auto":
        return [p for p in (CUDA, CPU) if p in ort.get_available_providers()]
    if device == "cuda" or device.startswith("cuda:"):
        return [CUDA, CPU]
    raise UserInputError(f"must be auto, cpu, cuda or cuda:N, got {device!r}", field="device")


def _provider_options(device: str, providers: list[str]) -> list[dict[str, str]]:
    index = device.split(":", 1)[1] if device.startswith("cuda:") else "0"
    return [{"device_id": index} if p == CUDA else {} for p in providers]


class _Graph:
    """One piece: an onnxruntime session that is fed exactly the piece's inputs.

    On the CUDA provider the arrays go through an I/O binding (inputs copied to the
    device once per call, outputs copied back), so onnxruntime does not stage
    every tensor through its default CPU allocator.
    """

    def __init__(self, session: Any, piece: Piece, bind: bool) -> None:
        self.session, self.piece, self.bind = session, piece, bind

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        names = self.piece.inputs
        if len(arrays) != len(names):
            raise ValueError(f"{self.piece.name} takes {len(names)} inputs "
                             f"({', '.join(names)}), got {len(arrays)}")
        feeds = {n: np.ascontiguousarray(a, dtype=np.float32) for n, a in zip(names, arrays)}
        if not self.bind:
            return self.session.run(list(self.piece.outputs), feeds)
        binding = self.session.io_binding()
        for name, array in feeds.items():
            binding.bind_cpu_input(name, array)
        for name in self.piece.outputs:
            binding.bind_output(name)
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()


class OnnxArtifact:
    """A loaded ONNX artifact; arrays in and out are numpy float32 with the batch first."""

    def __init__(self, path: Path, metadata: ArtifactMetadata, main: Any,
                 stored: dict[str, str], providers: list[str]) -> None:
        self.path, self.metadata = path, metadata
        # What the first session really got: a CUDA provider that failed to load is not
        # tried again for every other piece.
        self.providers = [p for p in providers if p in main.get_providers()] or [CPU]
        self.pieces = all_pieces(metadata)
        self._stored = stored
        self._graphs: dict[str, _Graph] = {}
        self._bind = main.get_providers()[0] == CUDA
        self._device_option = "cuda" if self._bind else "cpu"
        self._graphs["tail"] = self._checked(main, self.pieces["tail"])

    #: The arrays of this backend: numpy (the graphs copy them to the device themselves).
    xp = numpy_namespace

    @property
    def spec(self) -> LatentSpec:
        return self.metadata.spec

    @property
    def device(self) -> str:
        """``cuda`` when the graphs run on onnxruntime's CUDA provider, else ``cpu``."""
        return "cuda" if self._bind else "cpu"

    @staticmethod
    def asarray(array: np.ndarray) -> np.ndarray:
        """``array`` as this backend's array: numpy itself, on the host."""
        return np.asarray(array)

    def precision_for(self, precision: str) -> str:
        """The precision the graphs run at: ``fp32`` for ``fp32`` and ``auto``.

        Raises:
            UserInputError: ``bf16`` (field ``precision``): the graphs are float32.
        """
        if precision == "bf16":
            raise UserInputError("is not available with ONNX artifacts (their graphs are "
                                 "float32); use fp32 or auto", field="precision", value="bf16")
        return "fp32"

    def _refuse(self, problem: str) -> UserInputError:
        return UserInputError(problem, field="artifact", value=self.path)

    def _checked(self, session: Any, piece: Piece) -> _Graph:
        names = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
        if names != (list(piece.inputs), list(piece.outputs)):
            raise self._refuse(
                f"has a graph {piece.name!r} with inputs {names[0]} and outputs {names[1]}; "
                f"its metadata promises {list(piece.inputs)} and {list(piece.outputs)}")
        return _Graph(session, piece, self._bind)

    def graph(self, name: str) -> _Graph:
        """The runnable piece ``name`` (``tail``, ``tail_vjp``, ``head_k``, ``head_k_vjp``)."""
        if name not in self._graphs:
            piece = self.pieces[name]
            try:
                model = base64.b64decode(self._stored[piece.key], validate=True)
                session = _open(model, self.providers, self._device_option)
            except Exception:  # noqa: BLE001 - any decode/parse failure is the same user error
                raise self._refuse(f"holds an unreadable graph {piece.name!r}; re-export it "
                                   "with gs-export") from None
            self._graphs[name] = self._checked(session, piece)
        return self._graphs[name]

    # ------------------------------------------------------------- forward
    def generator(self, *inputs: np.ndarray) -> np.ndarray:
        """Images (B, C, H, W) in [0, 1] from the inputs (B, *shape) at the artifact's cut."""
        return self.graph("tail")(*inputs)[0]

    def carry(self, c_from: int, c_to: int, state: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        """Run head blocks ``c_from+1 … c_to`` on ``state`` (arrays at cut ``c_from``)."""
        self.metadata.spec_at(c_from)
        self.metadata.spec_at(c_to)
        state = tuple(state)
        for k in range(c_from, c_to):
            state = tuple(self.graph(f"head_{k}")(*state))
        return state

    def generator_at(self, c: int) -> Callable[..., np.ndarray]:
        """The generator cut at ``c ≤ cut``: inputs at ``c`` → images in [0, 1]."""
        self.metadata.spec_at(c)
        return lambda *inputs: self.generator(*self.carry(c, self.metadata.cut, inputs))

    def forward(self, c: int, inputs: Sequence[np.ndarray], precision: str = "fp32"
                ) -> np.ndarray:
        """Images (B, C, H, W) float32 in [0, 1] of ``inputs`` at cut ``c``."""
        self.precision_for(precision)
        return self.generator_at(c)(*inputs)

    # ------------------------------------------------------------- gradients
    def image_and_vjp(self, c: int, inputs: Sequence[np.ndarray],
                      cotangent: Callable[[np.ndarray], np.ndarray], precision: str = "fp32"
                      ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``G_c(inputs)`` and ``J_cᵀ v`` with ``v = cotangent(image)`` (B, C, H, W).

        The heads between ``c`` and the artifact's cut are run forward (keeping
        their states), the tail's VJP gives the gradient at the cut and the heads'
        VJPs carry it back to the inputs at ``c``. ``cotangent`` maps the image
        (B, C, H, W) to ∂L/∂image of the same shape; the gradients have the shapes
        of ``inputs``. The image is computed twice (forward, then inside the VJP
        graph): the cotangent depends on it.
        """
        self.precision_for(precision)
        self.metadata.spec_at(c)
        states = [tuple(inputs)]
        for k in range(c, self.metadata.cut):
            states.append(tuple(self.graph(f"head_{k}")(*states[-1])))
        image = self.generator(*states[-1])
        grads = self.graph("tail_vjp")(*states[-1], cotangent(image))[1:]
        for k in reversed(range(c, self.metadata.cut)):
            n_out = len(states[k - c + 1])
            grads = self.graph(f"head_{k}_vjp")(*states[k - c], *grads)[n_out:]
        return image, list(grads)


def _open(model: bytes | str, providers: list[str], device: str) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's
    if CUDA not in providers:
        return ort.InferenceSession(model, sess_options=options, providers=providers)
    # A CUDA provider that cannot start logs through the default logger; :func:`load`
    # reports it in one sentence (or, with ``auto``, quietly runs on the CPU).
    ort.set_default_logger_severity(4)
    try:
        return ort.InferenceSession(model, sess_options=options, providers=providers,
                                    provider_options=_provider_options(device, providers))
    finally:
        ort.set_default_logger_severity(2)


def load(path: str | Path, device: str = "auto",
         providers: Sequence[str] | None = None) -> OnnxArtifact:
    """Load and validate an ``.onnx`` artifact written by ``gs-export``.

    Needs onnxruntime only (no torch, no onnx package). The file's own graph and
    every piece listed in its metadata are checked against the layout of
    :mod:`gs.artifacts.onnx_layout`; the forward pieces are run once on zeros.

    Args:
        path: the artifact.
        device: ``auto`` (CUDA when this onnxruntime can start it, else CPU), ``cpu``,
            ``cuda`` or ``cuda:N``; ``cuda`` fails unless the CUDA provider loads.
        providers: explicit onnxruntime providers (overrides ``device``).

    Raises:
        UserInputError: (field ``artifact``) missing, unreadable, foreign or
            forward-only file; (field ``device``) CUDA asked for but not loaded.
    """
    from gs.artifacts.base import check_graph

    path = Path(path)

    def refuse(problem: str) -> UserInputError:
        return UserInputError(problem, field="artifact", value=path)

    if artifact_format(path) != "onnx":
        raise refuse("is not an .onnx artifact")
    if not path.is_file():
        raise refuse("does not exist or is not a file")
    chosen = list(providers) if providers is not None else providers_for(device)
    try:
        main = _open(str(path), chosen, device)
    except Exception:  # noqa: BLE001 - any parse failure is the same user error
        raise refuse("is not a readable ONNX model") from None
    if providers is None and device != "auto" and CUDA in chosen \
            and main.get_providers()[0] != CUDA:
        raise UserInputError(
            f"needs onnxruntime's CUDA execution provider, which did not load (this "
            f"onnxruntime runs on {', '.join(main.get_providers())}); use cpu or install "
            "onnxruntime-gpu with a working CUDA", field="device", value=device)
    props = dict(main.get_modelmeta().custom_metadata_map)
    if ONNX_METADATA_KEY not in props:
        raise refuse(f"carries no gs metadata (metadata_props {ONNX_METADATA_KEY!r}); export "
                     "it with gs-export")
    try:
        data = json.loads(props[ONNX_METADATA_KEY])
    except json.JSONDecodeError:
        raise refuse("has gs metadata that is not valid JSON") from None
    metadata = ArtifactMetadata.from_json(data, path)
    layout = metadata.extra.get("onnx")
    if not isinstance(layout, dict) or not isinstance(layout.get("pieces"), dict):
        raise refuse("is a forward-only ONNX artifact without the gradient graphs (tail_vjp "
                     "and the heads' VJPs) that inversion needs; re-export it with this "
                     "gs-export")
    for name, piece in layout_json(metadata)["pieces"].items():
        if layout["pieces"].get(name) != piece or (piece["key"] and piece["key"] not in props):
            raise refuse(f"lacks the graph {name!r} (metadata_props "
                         f"{piece['key'] or 'main graph'!r}) that inversion needs; re-export "
                         "it with this gs-export")
    stored = {k: v for k, v in props.items() if k != ONNX_METADATA_KEY}
    artifact = OnnxArtifact(path, metadata, main, stored, chosen)
    check_graph(artifact, refuse)
    return artifact
