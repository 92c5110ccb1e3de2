"""The bundled evaluation set: face and non-face crops of photos shipped with scikit-image.

Two disjoint splits, written as PNG files by :func:`write_evalset` (``gs-experiment
evalset``) into ``<root>/<split>/<group>/<name>.png`` with groups ``faces`` and
``other``:

* ``test``: the astronaut's face and LFW faces (grayscale 25 px, replicated to three
  channels and upscaled) at positions 0, 7, 14, … of ``skimage.data.lfw_subset()``
  (at most 15 faces); non-faces
  are crops of the cat, coffee, rocket and astronaut photos.
* ``val`` (for choosing the cut and other settings, never for reporting): LFW faces
  at positions 1, 2, 3, … that are not multiples of 7, and crops of the
  immunohistochemistry, retina, colour-wheel, Hubble and cat photos.

The DCGAN face weights were trained on synthetic faces, so every photo here is out
of the training distribution; non-faces are far out of it. Needs scikit-image.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from gs.errors import UserInputError
from gs.io import resize_image, write_image

SPLITS = ("test", "val")
#: LFW positions 0…99 of ``lfw_subset`` are faces (100…199 are not).
_LFW_FACES = 100

# (name, skimage.data loader name, crop rows, crop cols); crops are square-ish.
_TEST_OTHER = [
    ("chelsea", "chelsea", (0, 300), (50, 350)),
    ("coffee", "coffee", (0, 400), (100, 500)),
    ("rocket", "rocket", (0, 427), (100, 527)),
    ("astronaut_flag", "astronaut", (0, 200), (312, 512)),
    ("astronaut_suit", "astronaut", (300, 512), (100, 312)),
    ("chelsea_face", "chelsea", (50, 250), (120, 320)),
    ("coffee_cup", "coffee", (100, 350), (150, 400)),
]
_VAL_OTHER = [
    ("immunohistochemistry", "immunohistochemistry", (0, 256), (0, 256)),
    ("retina", "retina", (300, 1100), (300, 1100)),
    ("colorwheel", "colorwheel", (0, 370), (0, 370)),
    ("hubble", "hubble_deep_field", (0, 500), (0, 500)),
    ("cat_ear", "cat", (0, 150), (200, 350)),
]
_ASTRONAUT_FACE = ("astronaut_face", "astronaut", (30, 150), (160, 280))


def _loader(name: str) -> Callable[[], np.ndarray]:
    from skimage import data

    return getattr(data, name)


def _prepare(image: np.ndarray, size: int) -> np.ndarray:
    """uint8/float (H, W[, 3]) → float32 (3, size, size) in [0, 1]."""
    array = np.asarray(image, dtype=np.float32)
    array = array / 255.0 if array.max() > 1.0 else array
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return resize_image(np.ascontiguousarray(array[:, :, :3].transpose(2, 0, 1)), (size, size))


def _crop(entry: tuple[str, str, tuple[int, int], tuple[int, int]], size: int
          ) -> tuple[str, np.ndarray]:
    name, loader, (r0, r1), (c0, c1) = entry
    return name, _prepare(_loader(loader)()[r0:r1, c0:c1], size)


def _lfw_faces(positions: list[int], size: int) -> list[tuple[str, np.ndarray]]:
    lfw = _loader("lfw_subset")()
    return [(f"lfw_{p:03d}", _prepare(lfw[p], size)) for p in positions]


def faces(count: int, size: int = 64, split: str = "test") -> list[tuple[str, np.ndarray]]:
    """``count`` face photos of ``split`` as (name, (3, size, size) float32 in [0, 1])."""
    _check_split(split)
    if split == "val":
        positions = [p for p in range(1, _LFW_FACES) if p % 7][:count]
        return _lfw_faces(positions, size)
    if count > 15:
        raise UserInputError(f"must be at most 15 (the test split's face photos), got {count}",
                             field="n_faces")
    # Test: the astronaut, then LFW faces 0, 7, 14, … (the order earlier tables used).
    return ([_crop(_ASTRONAUT_FACE, size)] + _lfw_faces([7 * i for i in range(count - 1)], size)
            )[:count]


def non_faces(count: int, size: int = 64, split: str = "test") -> list[tuple[str, np.ndarray]]:
    """``count`` colour crops that are not faces (at most 7 for test, 5 for val)."""
    _check_split(split)
    entries = _TEST_OTHER if split == "test" else _VAL_OTHER
    if count > len(entries):
        raise UserInputError(f"must be at most {len(entries)} (the {split} split's non-face "
                             f"photos), got {count}", field="n_other")
    return [_crop(entry, size) for entry in entries[:count]]


def write_evalset(root: str | Path, split: str, n_faces: int, n_other: int, size: int = 64,
                  overwrite: bool = False) -> list[Path]:
    """Write ``root/split/{faces,other}/<name>.png``; return the written paths."""
    _check_split(split)
    folder = Path(root) / split
    written = []
    for group, photos in (("faces", faces(n_faces, size, split)),
                          ("other", non_faces(n_other, size, split))):
        for name, image in photos:
            written.append(write_image(folder / group / f"{name}.png", image, overwrite))
    return written


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise UserInputError(f"must be one of {', '.join(SPLITS)}, got {split!r}", field="split")
