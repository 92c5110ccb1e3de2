"""Validation photos, alternately faces and non-faces: the ``val`` split of
:mod:`gs.experiments.evalset`, never among the test photos of ``benchmarks/photos.py``."""

from __future__ import annotations

import numpy as np

from gs.experiments.evalset import faces, non_faces


def validation_photos(count: int = 4, size: int = 64) -> list[tuple[str, np.ndarray]]:
    """``count`` validation photos (name, (3, size, size) in [0, 1]), a face first."""
    face_list = faces((count + 1) // 2, size, split="val")
    other_list = non_faces(count // 2, size, split="val")
    mixed = [photo for pair in zip(face_list, other_list) for photo in pair]
    return (mixed + face_list[len(other_list):])[:count]
