"""``gs.json``: what every artifact records about its cut generator, and its file formats.

No torch here: the metadata serves the torch-free runtime too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
