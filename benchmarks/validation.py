"""Validation photos: never among the test photos of benchmarks/photos.py.

Faces: LFW faces at indices 100 and up (the test set uses multiples of 7 below 50).
Non-faces: scikit-image's immunohistochemistry slide and the camera man (grayscale,
replicated to three channels).
"""

from __future__ import annotations

import numpy as np
from skimage import data

from benchmarks.photos import _prepare


def validation_photos(count: int = 4, size: int = 64) -> list[tuple[str, np.ndarray]]:
    """``count`` (at most 6) validation photos, alternately faces and non-faces."""
    lfw = data.lfw_subset()
    faces = [(f"lfw_{i:03d}", _prepare(lfw[i], size)) for i in (100, 113, 126, 139)]
    others = [("immunohistochemistry", _prepare(data.immunohistochemistry()[:400, :400], size)),
              ("camera", _prepare(data.camera()[:400, 50:450], size))]
    mixed = [faces[0], others[0], faces[1], others[1], faces[2], faces[3]]
    return mixed[:count]
