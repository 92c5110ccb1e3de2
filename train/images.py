"""Sample grids as PNG files, written with PIL (no torchvision)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image
from torch import Tensor


def make_grid(images: Tensor, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """Tile images (B, C, H, W) in [0, 1] into one uint8 array (H', W', 3).

    ``nrow`` images per row, ``padding`` black pixels between and around them
    (the layout of ``torchvision.utils.make_grid``); grey images are repeated
    to RGB.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (B, 1|3, H, W), got {tuple(images.shape)}")
    array = (images.detach().float().clamp(0, 1) * 255).round().to("cpu").numpy().astype(np.uint8)
    if array.shape[1] == 1:
        array = np.repeat(array, 3, axis=1)
    count, _, height, width = array.shape
    cols = min(nrow, count)
    rows = math.ceil(count / cols)
    grid = np.zeros(
        (rows * (height + padding) + padding, cols * (width + padding) + padding, 3), np.uint8
    )
    for i in range(count):
        top = (i // cols) * (height + padding) + padding
        left = (i % cols) * (width + padding) + padding
        grid[top : top + height, left : left + width] = array[i].transpose(1, 2, 0)
    return grid


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write a uint8 (H, W, 3) array to ``path`` atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(array).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path
