"""The artifacts a server offers, and the example images of its page.

Each artifact has its own examples: a generator exported from a pretrained entry
(``gs-export --pretrained NAME``, recorded in its ``gs.json``) that ships test images of its
training domain (``gs/pretrained/examples/NAME/``) offers those; any other artifact offers
crops of public-domain photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gs.artifacts import Artifact, load
from gs.errors import UserInputError
from gs.io import encode_image, resize_image


@dataclass
class ServedArtifact:
    """One loaded artifact and the id the API names it by (its file stem)."""

    id: str
    artifact: Artifact

    @property
    def metadata(self) -> Any:
        return self.artifact.metadata

    @property
    def pretrained(self) -> str | None:
        """The pretrained generator this artifact was exported from, if its gs.json says."""
        record = self.metadata.extra.get("pretrained")
        return record.get("name") if isinstance(record, dict) else None

    def describe(self, partner: ServedArtifact | None) -> dict[str, Any]:
        meta = self.metadata
        return {
            "id": self.id,
            "file": self.artifact.path.name,
            "model": meta.model,
            "cut": meta.cut,
            "image_shape": list(meta.image_shape),
            "no_surgery": None if partner is None else partner.id,
        }


class Catalog:
    """Artifacts by id; finds each one's no-surgery (c = 0) sibling.

    Two artifacts are siblings when they come from the same source weights
    (model and checkpoint sha256): the c = 0 one is plain CSGM, "no surgery".
    """

    def __init__(self, served: list[ServedArtifact]) -> None:
        if not served:
            raise UserInputError("ARTIFACT: give at least one artifact to serve")
        self.by_id = {item.id: item for item in served}
        self._examples: dict[str, dict[str, bytes]] | None = None

    @classmethod
    def load(cls, paths: list[str | Path], device: str = "cpu") -> Catalog:
        served, seen = [], set()
        for path in paths:
            artifact = load(path, device=device)
            stem, k = Path(path).stem, 1
            name = stem
            while name in seen:
                k += 1
                name = f"{stem}_{k}"
            seen.add(name)
            served.append(ServedArtifact(name, artifact))
        return cls(served)

    def get(self, artifact_id: str) -> ServedArtifact:
        if artifact_id not in self.by_id:
            raise UserInputError(
                f"artifact {artifact_id!r} is not served here; choose one of "
                f"{', '.join(sorted(self.by_id))}"
            )
        return self.by_id[artifact_id]

    def no_surgery_partner(self, item: ServedArtifact) -> ServedArtifact | None:
        """The c = 0 artifact of the same weights, unless ``item`` is c = 0 itself."""
        meta = item.metadata
        if meta.cut == 0:
            return None
        for other in self.by_id.values():
            om = other.metadata
            if (om.cut == 0 and om.model == meta.model and om.source_sha256 == meta.source_sha256
                    and tuple(om.image_shape) == tuple(meta.image_shape)):
                return other
        return None

    def examples_by_artifact(self) -> dict[str, dict[str, bytes]]:
        """Each artifact's example images (PNG bytes by name) by artifact id: its domain's
        test images when it ships them, else the example photos."""
        if self._examples is None:
            photos: dict[str, bytes] | None = None
            by_id = {}
            for item in self.by_id.values():
                own = domain_examples(item.pretrained) if item.pretrained else {}
                if not own:
                    photos = example_photos() if photos is None else photos
                    own = photos
                by_id[item.id] = own
            self._examples = by_id
        return self._examples

    def example_images(self) -> dict[str, bytes]:
        """Every served artifact's examples, PNG bytes by name."""
        return {name: data for own in self.examples_by_artifact().values()
                for name, data in own.items()}

    def describe(self) -> list[dict[str, Any]]:
        examples = self.examples_by_artifact()
        return [{**item.describe(self.no_surgery_partner(item)),
                 "examples": sorted(examples[item.id])} for item in self.by_id.values()]


#: Test images of the pretrained generators' domains: ``EXAMPLES_DIR/NAME/*.png`` with
#: ``source.json`` saying which dataset, split and indices they are.
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "pretrained" / "examples"


def domain_examples(pretrained: str, folder: Path = EXAMPLES_DIR) -> dict[str, bytes]:
    """The shipped test images of pretrained generator ``pretrained`` as PNG bytes, named
    ``NAME-FILESTEM`` (``mnist-dcgan-00000``); empty when none ship."""
    return {f"{pretrained}-{path.stem}": path.read_bytes()
            for path in sorted((folder / pretrained).glob("*.png"))}


#: (name, scikit-image loader, crop rows, crop cols): square crops of public-domain photos.
_EXAMPLES = [
    ("astronaut", "astronaut", (30, 150), (160, 280)),
    ("chelsea", "chelsea", (50, 250), (120, 320)),
    ("coffee", "coffee", (0, 400), (100, 500)),
    ("rocket", "rocket", (0, 427), (100, 527)),
]
#: Side of the example PNGs the page loads (larger than any generator output here).
EXAMPLE_SIZE = 256


def example_photos() -> dict[str, bytes]:
    """Example photos as PNG bytes by name; empty when scikit-image is not installed."""
    try:
        from skimage import data
    except ImportError:
        return {}

    photos = {}
    for name, loader, (r0, r1), (c0, c1) in _EXAMPLES:
        pixels = np.asarray(getattr(data, loader)()[r0:r1, c0:c1], dtype=np.float32) / 255.0
        image = resize_image(np.ascontiguousarray(pixels.transpose(2, 0, 1)),
                             (EXAMPLE_SIZE, EXAMPLE_SIZE))
        photos[name] = encode_image(image)
    return photos
