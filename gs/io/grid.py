"""The one image grid: equally sized images tiled, enlarged and captioned."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from gs.io.images import to_uint8


def image_grid(
    rows: Sequence[Sequence[np.ndarray]],
    pad: int = 2,
    fill: float = 1.0,
    captions: Sequence[Sequence[str]] | None = None,
    scale: int = 1,
) -> np.ndarray:
    """Tile equally sized (C, H, W) images in [0, 1] into one (C, H', W') grid.

    ``rows[i][j]`` lands in row i, column j; ``pad`` pixels of value ``fill``
    (1.0 = white) lie between and around the images; short rows leave blanks.
    ``captions`` (same nesting as ``rows``, ``\\n`` for a second line) are printed
    in black under each image; ``scale`` enlarges every image (nearest neighbour)
    so that small generator outputs stay legible next to their captions.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    c, h, w = rows[0][0].shape
    h, w = h * scale, w * scale
    ncols = max(len(r) for r in rows)
    font = line_height = None
    caption_height = 0
    if captions is not None:
        from PIL import ImageFont

        font = ImageFont.load_default(size=max(11, min(14, w // 10)))
        line_height = font.size + 3
        lines = max((text.count("\n") + 1 for row in captions for text in row), default=0)
        caption_height = lines * line_height + pad
    cell_h = h + caption_height
    grid = np.full((c, len(rows) * (cell_h + pad) + pad, ncols * (w + pad) + pad), fill,
                   dtype=np.float32)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            y, x = pad + i * (cell_h + pad), pad + j * (w + pad)
            grid[:, y : y + h, x : x + w] = img.repeat(scale, axis=1).repeat(scale, axis=2)
    if captions is None:
        return grid
    from PIL import ImageDraw

    canvas = Image.fromarray(to_uint8(grid).transpose(1, 2, 0).squeeze(axis=2)
                             if c == 1 else to_uint8(grid).transpose(1, 2, 0))
    draw = ImageDraw.Draw(canvas)
    for i, row in enumerate(captions):
        for j, text in enumerate(row):
            y, x = pad + i * (cell_h + pad) + h + pad, pad + j * (w + pad)
            for k, line in enumerate(text.split("\n")):
                draw.text((x, y + k * line_height), line, fill=0 if c == 1 else (0, 0, 0),
                          font=font)
    array = np.asarray(canvas, dtype=np.float32) / 255.0
    return np.ascontiguousarray((array[:, :, None] if c == 1 else array).transpose(2, 0, 1))
