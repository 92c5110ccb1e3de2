"""Reading and writing images, observations and reports, with clear errors.

Images in the library are float32 arrays in [0, 1] of shape (C, H, W).
Every write is atomic (temporary file in the same folder, then rename) and
refuses to replace an existing file unless ``overwrite`` is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from gs.errors import UserInputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def check_writable(path: str | Path, overwrite: bool, flag: str = "--output") -> Path:
    """Raise ``UserInputError`` if ``path`` exists and ``overwrite`` is false."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise UserInputError(f"{flag} {path} already exists; pass --overwrite to replace it")
    if path.exists() and path.is_dir():
        raise UserInputError(f"{flag} {path} is a folder, expected a file path")
    return path


def atomic_write(
    path: str | Path, write: Callable[[Path], None], overwrite: bool = False, flag: str = "--output"
) -> Path:
    """Call ``write(tmp_path)`` then move the result to ``path`` in one rename."""
    path = check_writable(path, overwrite, flag)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_image(path: str | Path, flag: str = "IMAGE", channels: int = 3) -> np.ndarray:
    """Read an image file as float32 (C, H, W) in [0, 1] with ``channels`` channels."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{flag} {path} does not exist or is not a file")
    try:
        with Image.open(path) as img:
            img = img.convert("RGB" if channels == 3 else "L")
            array = np.asarray(img, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError):
        raise UserInputError(f"{flag} {path} is not a readable image (png, jpg, webp...)") from None
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Center-crop to a square then resize (C, H, W) in [0, 1] to ``size`` = (H, W)."""
    c, h, w = image.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[:, top : top + side, left : left + side]
    if (side, side) == tuple(size):
        return square.astype(np.float32)
    pil = Image.fromarray(to_uint8(square).transpose(1, 2, 0).squeeze())
    pil = pil.resize((size[1], size[0]), Image.Resampling.BICUBIC)
    out = np.asarray(pil, dtype=np.float32) / 255.0
    if out.ndim == 2:
        out = out[:, :, None]
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(C, H, W) float in [0, 1] → (C, H, W) uint8, clamped and rounded."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def write_image(path: str | Path, image: np.ndarray, overwrite: bool = False) -> Path:
    """Write (C, H, W) float in [0, 1] as an 8-bit image (format from the suffix)."""
    array = to_uint8(image).transpose(1, 2, 0)
    pil = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    return atomic_write(path, lambda tmp: pil.save(tmp, format=_pil_format(path)), overwrite)


def _pil_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}.get(suffix, "PNG")


def image_grid(
    rows: list[list[np.ndarray]],
    pad: int = 2,
    captions: list[list[str]] | None = None,
    scale: int = 1,
) -> np.ndarray:
    """Tile equally sized (C, H, W) images in [0, 1] into one (C, H', W') grid.

    ``captions`` (same nesting as ``rows``, ``\\n`` for a second line) are printed
    in black under each image; ``scale`` enlarges every image (nearest neighbour)
    so that small generator outputs stay legible next to their captions. Padding
    is white.
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

        font = ImageFont.load_default(size=max(10, min(14, w // 12)))
        line_height = font.size + 3
        lines = max((text.count("\n") + 1 for row in captions for text in row), default=0)
        caption_height = lines * line_height + pad
    cell_h = h + caption_height
    grid = np.ones((c, len(rows) * (cell_h + pad) + pad, ncols * (w + pad) + pad),
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


def write_json(
    path: str | Path, data: Any, overwrite: bool = False, flag: str = "--report"
) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2)
    return atomic_write(path, lambda tmp: tmp.write_text(text + "\n"), overwrite, flag)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
