"""TorchScript artifacts (``.pt``): the cut generator as ``tail`` and the blocks in front of
the cut as ``head_0 … head_{c-1}`` (block ``k+1``: state at cut ``k`` → state at cut
``k+1``), with ``gs.json`` in the extra files; gradients by autograd.

torch is imported when an artifact is loaded, not with this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gs.artifacts.base import check_graph
from gs.artifacts.metadata import METADATA_NAME, ArtifactMetadata, artifact_format
from gs.errors import UserInputError
from gs.latent import LatentSpec


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
        raise UserInputError("is an ONNX artifact; load it with gs.artifacts.load (or "
                             "gs.artifacts.onnx.load) instead", field="artifact", value=path)
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


