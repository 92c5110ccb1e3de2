"""Real test photos bundled with scikit-image, as 64 px (C, H, W) float32 in [0, 1].

Faces: the astronaut's face (colour) and faces of the LFW subset (grayscale,
25 px, replicated to three channels and upscaled). Non-faces: crops of the
cat, coffee, rocket and other colour photos.
"""

from __future__ import annotations

import numpy as np
from skimage import data

from gs.io import resize_image

# (name, loader, crop rows, crop cols) of the colour photos; crops are square-ish.
_COLOUR = [
    ("astronaut_face", data.astronaut, (30, 150), (160, 280)),
    ("chelsea", data.chelsea, (0, 300), (50, 350)),
    ("coffee", data.coffee, (0, 400), (100, 500)),
    ("rocket", data.rocket, (0, 427), (100, 527)),
    ("astronaut_flag", data.astronaut, (0, 200), (312, 512)),
    ("astronaut_suit", data.astronaut, (300, 512), (100, 312)),
    ("chelsea_face", data.chelsea, (50, 250), (120, 320)),
    ("coffee_cup", data.coffee, (100, 350), (150, 400)),
]


def _prepare(image: np.ndarray, size: int) -> np.ndarray:
    array = np.asarray(image, dtype=np.float32)
    array = array / 255.0 if array.max() > 1.0 else array
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return resize_image(np.ascontiguousarray(array.transpose(2, 0, 1)), (size, size))


def faces(count: int, size: int = 64) -> list[tuple[str, np.ndarray]]:
    """``count`` real face photos: the astronaut, then LFW faces."""
    name, loader, rows, cols = _COLOUR[0]
    out = [(name, _prepare(loader()[rows[0]:rows[1], cols[0]:cols[1]], size))]
    lfw = data.lfw_subset()
    for i in range(count - 1):
        out.append((f"lfw_{i:03d}", _prepare(lfw[i * 7 % len(lfw)], size)))
    return out[:count]


def non_faces(count: int, size: int = 64) -> list[tuple[str, np.ndarray]]:
    """``count`` (at most 7) colour crops that are not faces."""
    return [
        (name, _prepare(loader()[r0:r1, c0:c1], size))
        for name, loader, (r0, r1), (c0, c1) in _COLOUR[1 : count + 1]
    ]
