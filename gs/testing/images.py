"""Small image folders to train and invert on (what the training smoke test reads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_images(folder: Path, count: int = 16, seed: int = 0) -> Path:
    """``count`` small RGB images of varied sizes and formats in nested folders under
    ``folder`` (seeded noise, 18–33 × 24 px, PNG/JPEG/WebP); returns ``folder``."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        sub = Path(folder) / ("faces" if i % 2 else "more/nested")
        sub.mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((18 + i, 24, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(sub / f"img{i:02d}.{('png', 'jpg', 'webp')[i % 3]}")
    return Path(folder)
