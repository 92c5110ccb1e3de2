"""The cut-generator artifact: metadata schema, save and load for every format.

An artifact is one file. A TorchScript ``.pt`` holds the cut generator as
``tail`` and the blocks in front of the cut as ``head_0 … head_{c-1}`` (block
``k+1``: state at cut ``k`` → state at cut ``k+1``), with ``gs.json`` in its
extra files. Loading validates everything it reads and raises
:class:`gs.errors.UserInputError` with one sentence on any problem.

This module does not import torch at import time: the metadata part serves
the torch-free runtime too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gs import ARTIFACT_FORMAT_VERSION, __version__
from gs.errors import UserInputError
from gs.latent import LatentSpec
from gs.settings import PRESETS, TASKS, InversionSettings

METADATA_NAME = "gs.json"
FORMATS = {".pt": "torchscript", ".onnx": "onnx"}


@dataclass(frozen=True)
class ArtifactMetadata:
    """Everything ``gs.json`` records about a cut generator.

    ``latents[k]`` is the latent spec at cut ``k`` for ``k = 0 … cut``; the last
    one describes the artifact's own inputs.
    """

    model: str
    model_config: dict[str, Any]
    cut: int
    latents: tuple[LatentSpec, ...]
    image_shape: tuple[int, int, int]
    recommended: dict[str, InversionSettings]
    source_name: str
    source_sha256: str
    format: str = "torchscript"
    valid_cuts: tuple[int, ...] = ()
    format_version: int = ARTIFACT_FORMAT_VERSION
    gs_version: str = __version__
    torch_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    paper: dict[str, InversionSettings] = field(default_factory=dict)

    @property
    def spec(self) -> LatentSpec:
        """The inputs of the artifact's generator (at its own cut)."""
        return self.latents[self.cut]

    def spec_at(self, cut: int) -> LatentSpec:
        """The inputs at a cut no deeper than the artifact's (for progressive surgery)."""
        if not 0 <= cut <= self.cut:
            raise ValueError(
                f"cut {cut} is not available in this artifact; expected 0 to {self.cut}"
            )
        return self.latents[cut]

    def settings_for(self, task: str, preset: str = "recommended") -> InversionSettings:
        """Inversion settings for ``task`` (falls back to the CS entry).

        ``preset="recommended"``: the measured defaults written at export;
        ``preset="paper"``: the paper's protocol (supplement, Table 1).
        """
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
        table = self.paper if preset == "paper" else self.recommended
        if not table:
            raise ValueError("this artifact records no paper preset; re-export it with this gs")
        return table.get(task) or table["cs"]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "gs_version": self.gs_version,
            "torch_version": self.torch_version,
            "format": self.format,
            "model": self.model,
            "model_config": self.model_config,
            "cut": self.cut,
            "valid_cuts": list(self.valid_cuts),
            "inputs": self.spec.to_json()["inputs"],
            "latents": [spec.to_json() for spec in self.latents],
            "image_shape": list(self.image_shape),
            "recommended": {task: s.to_json() for task, s in self.recommended.items()},
            "paper": {task: s.to_json() for task, s in self.paper.items()},
            "source": {"name": self.source_name, "sha256": self.source_sha256},
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: Any, path: str | Path | None = None) -> ArtifactMetadata:
        """Parse and validate ``gs.json``; raise ``UserInputError`` (field ``artifact``).

        ``path`` is the artifact file, named in the error.
        """
        try:
            if not isinstance(data, dict):
                raise ValueError("gs.json is not a JSON object")
            version = int(data["format_version"])
            if version > ARTIFACT_FORMAT_VERSION:
                raise ValueError(
                    f"format_version {version} is newer than this gs supports "
                    f"({ARTIFACT_FORMAT_VERSION}); upgrade gs"
                )
            latents = tuple(LatentSpec.from_json(item) for item in data["latents"])
            cut = int(data["cut"])
            if [spec.cut for spec in latents] != list(range(cut + 1)):
                raise ValueError(f"latents must describe cuts 0 to {cut}")
            image_shape = tuple(int(s) for s in data["image_shape"])
            if len(image_shape) != 3 or min(image_shape) <= 0:
                raise ValueError(f"image_shape must be (C, H, W), got {image_shape}")
            recommended = {
                str(task): InversionSettings.from_json(settings)
                for task, settings in data["recommended"].items()
            }
            if "cs" not in recommended or set(recommended) - set(TASKS):
                raise ValueError(f"recommended settings must cover cs and only {TASKS}")
            paper = {
                str(task): InversionSettings.from_json(settings)
                for task, settings in data.get("paper", {}).items()
            }
            if paper and ("cs" not in paper or set(paper) - set(TASKS)):
                raise ValueError(f"paper settings must cover cs and only {TASKS}")
            return cls(
                model=str(data["model"]),
                model_config=dict(data["model_config"]),
                cut=cut,
                latents=latents,
                image_shape=image_shape,  # type: ignore[arg-type]
                recommended=recommended,
                paper=paper,
                source_name=str(data["source"]["name"]),
                source_sha256=str(data["source"]["sha256"]),
                format=str(data["format"]),
                valid_cuts=tuple(int(c) for c in data.get("valid_cuts", ())),
                format_version=version,
                gs_version=str(data["gs_version"]),
                torch_version=str(data.get("torch_version", "")),
                extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            # a field of the wrong JSON type surfaces as TypeError/AttributeError
            detail = (f"missing field {exc}" if isinstance(exc, KeyError) else
                      str(exc) if isinstance(exc, ValueError) else "a field has the wrong type")
            raise UserInputError(f"has invalid gs.json metadata: {detail}", field="artifact",
                                 value=path) from None


def artifact_format(path: str | Path, field: str = "artifact") -> str:
    """The format implied by the file suffix (``.pt`` or ``.onnx``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UserInputError("must end in .pt (TorchScript) or .onnx", field=field, value=path)
    return FORMATS[suffix]


@runtime_checkable
class Artifact(Protocol):
    """What every loaded artifact offers, whatever its format.

    :class:`TorchScriptArtifact` works on torch tensors, ``gs.onnx_runtime.OnnxArtifact``
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


class TorchScriptArtifact:
    """A loaded TorchScript artifact.

    ``generator(*inputs)`` maps tensors (B, *shape) at the artifact's cut to
    images (B, C, H, W) in [0, 1]. ``generator_at(c)`` does the same from a
    shallower cut ``c`` by running the stored head blocks first, and
    ``carry(c_from, c_to, state)`` maps a state between cuts.
    """

    def __init__(self, module: Any, metadata: ArtifactMetadata, path: Path, device: str) -> None:
        import array_api_compat.torch as torch_namespace

        self.module = module
        self.metadata = metadata
        self.path = path
        self.device = device
        self.xp = torch_namespace
        self._stages = [getattr(module, f"head_{k}") for k in range(metadata.cut)]

    @property
    def spec(self) -> LatentSpec:
        return self.metadata.spec

    def generator(self, *inputs: Any) -> Any:
        return self.module.tail(*inputs)

    def carry(self, c_from: int, c_to: int, state: Sequence[Any]) -> tuple[Any, ...]:
        """Run head blocks ``c_from+1 … c_to`` on ``state`` (tensors at cut ``c_from``)."""
        self.metadata.spec_at(c_from)
        self.metadata.spec_at(c_to)
        state = tuple(state)
        for k in range(c_from, c_to):
            state = tuple(self._stages[k](*state))
        return state

    def generator_at(self, c: int) -> Callable[..., Any]:
        """The generator cut at ``c ≤ cut``: inputs at ``c`` → images in [0, 1]."""
        self.metadata.spec_at(c)
        if c == self.metadata.cut:
            return self.generator
        return lambda *inputs: self.generator(*self.carry(c, self.metadata.cut, inputs))

    def asarray(self, array: Any) -> Any:
        """A numpy array as a tensor on this artifact's device (dtype kept)."""
        import torch

        return torch.as_tensor(array, device=self.device)

    def precision_for(self, precision: str) -> str:
        """``auto`` → ``bf16`` where this device computes it natively, else ``fp32``."""
        from gs.devices import resolve_precision

        return resolve_precision(precision, self.device)

    def _autocast(self, precision: str) -> Any:
        import torch

        # bf16 covers the generator only; residuals and the optimiser stay in float32.
        device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        return torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def forward(self, c: int, inputs: Sequence[Any], precision: str = "fp32") -> Any:
        import torch

        with torch.no_grad(), self._autocast(precision):
            return self.generator_at(c)(*inputs).float()

    def image_and_vjp(self, c: int, inputs: Sequence[Any], cotangent: Callable[[Any], Any],
                      precision: str = "fp32") -> tuple[Any, list[Any]]:
        """``G_c(inputs)`` and ``J_cᵀ v`` with ``v = cotangent(image)``, by autograd."""
        import torch

        with torch.enable_grad():
            leaves = [t.detach().requires_grad_(True) for t in inputs]
            with self._autocast(precision):
                image = self.generator_at(c)(*leaves)
            image = image.float()
            with torch.no_grad():
                v = cotangent(image.detach())
            grads = torch.autograd.grad(image, leaves, v)
        return image.detach(), list(grads)


def load(path: str | Path, device: str = "cpu") -> TorchScriptArtifact:
    """Load and validate a TorchScript artifact file.

    Args:
        path: a ``.pt`` TorchScript artifact written by ``gs-export``.
        device: ``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        UserInputError: (field ``artifact``) missing file, wrong suffix, unreadable
            or invalid artifact, metadata the graph contradicts.
    """
    path = Path(path)
    fmt = artifact_format(path)
    if not path.is_file():
        raise UserInputError("does not exist or is not a file", field="artifact", value=path)
    if fmt == "onnx":
        raise UserInputError("is an ONNX artifact; load it with gs.onnx_runtime instead",
                             field="artifact", value=path)
    import torch

    def refuse(problem: str) -> UserInputError:
        return UserInputError(problem, field="artifact", value=path)

    extra = {METADATA_NAME: ""}
    try:
        module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception:  # noqa: BLE001 - any failure to parse the file's bytes is the same
        raise refuse("is not a readable TorchScript artifact") from None
    try:
        data = json.loads(extra[METADATA_NAME] or "null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise refuse("has gs.json metadata that is not valid JSON") from None
    if data is None:
        raise refuse("carries no gs.json metadata; export it with gs-export")
    metadata = ArtifactMetadata.from_json(data, path)
    missing = [name for name in ["tail"] + [f"head_{k}" for k in range(metadata.cut)]
               if not hasattr(module, name)]
    if missing:
        raise refuse(f"lacks the graph {missing[0]!r} its metadata promises")
    module.eval()
    for parameter in module.parameters():  # inversion differentiates the inputs only
        parameter.requires_grad_(False)
    artifact = TorchScriptArtifact(module, metadata, path, device)
    with torch.no_grad():
        check_graph(artifact, refuse)
    return artifact


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
    if isinstance(artifact, TorchScriptArtifact):
        import torch

        return [torch.zeros((1, *s), device=artifact.device) for s in spec.shapes]
    import numpy as np

    return [np.zeros((1, *s), dtype=np.float32) for s in spec.shapes]

