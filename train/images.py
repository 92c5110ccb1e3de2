"""Sample grids as PNG files, written with PIL (no torchvision)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from torch import Tensor

from gs.io import atomic_write, image_grid, to_uint8


def make_grid(images: Tensor, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """Tile images (B, C, H, W) in [0, 1] into one uint8 array (H', W', 3).

    ``nrow`` images per row, ``padding`` black pixels between and around them
    (the layout of ``torchvision.utils.make_grid``); grey images are repeated
    to RGB.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (B, 1|3, H, W), got {tuple(images.shape)}")
    array = images.detach().float().clamp(0, 1).to("cpu").numpy()
    if array.shape[1] == 1:
        array = np.repeat(array, 3, axis=1)
    cols = min(nrow, len(array))
    rows = [list(array[i : i + cols]) for i in range(0, len(array), cols)]
    return to_uint8(image_grid(rows, pad=padding, fill=0.0)).transpose(1, 2, 0)


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write a uint8 (H, W, 3) array to ``path`` atomically (temp file + rename)."""
    return atomic_write(path, lambda tmp: Image.fromarray(array).save(tmp, format="PNG"),
                        overwrite=True)
