"""The methods on a whole pretrained generator, and where they get it from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from gs.methods.base import Method, MethodContext
from gs.methods.presets import auto_preset
from gs.models.base import StagedGenerator


class GeneratorMethod(Method):
    """A method on the whole pretrained generator (a ``gs.models`` StagedGenerator).

    Settings default to the preset of the generator's model (Table 3's row).
    """

    prior: ClassVar[str] = "generator"

    def __init__(self, generator: Any, settings: Any = None, device: str = "cpu") -> None:
        self.generator = generator.to(device).eval()
        self.settings = settings or auto_preset(self.name, model=generator.model_name)
        self.device = device

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        return cls(context.generator, context.settings, device=context.device)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "model": self.generator.model_name,
                "weights_sha256": weights_digest(self.generator)}


def weights_digest(generator: Any) -> str:
    """sha256 of a network's weights (names, shapes and values), whatever file they came
    from: two generators with equal weights give the same results."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(generator.state_dict().items()):
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def load_full_generator(weights: str | Path, model: str | None = None) -> StagedGenerator:
    """The whole pretrained generator stored at ``weights`` (eval mode, frozen weights).

    Accepts what ``gs-export`` accepts (a pytorch-examples state dict with ``model``,
    a gs-train checkpoint, a BigGAN folder).

    Raises:
        UserInputError: unreadable file, unknown or mismatching model.
    """
    from gs.models.loading import load_generator

    return load_generator(weights, model).model
