"""Reading and writing images, observations and reports, with clear errors.

Images in the library are float32 arrays in [0, 1] of shape (C, H, W).
Every write is atomic (temporary file in the same folder, then rename) and
refuses to replace an existing file unless ``overwrite`` is set.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from gs.errors import UserInputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def check_writable(path: str | Path, overwrite: bool, field: str = "output") -> Path:
    """Raise ``UserInputError`` (naming ``field``) if ``path`` exists and ``overwrite`` is false."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise UserInputError("is a folder, expected a file path", field=field, value=path)
    if path.exists() and not overwrite:
        raise UserInputError("already exists; pass {overwrite} to replace it", field=field,
                             value=path, refs=("overwrite",))
    return path


def atomic_write(
    path: str | Path, write: Callable[[Path], None], overwrite: bool = False, field: str = "output"
) -> Path:
    """Call ``write(tmp_path)`` then move the result to ``path`` in one rename.

    Readers never see a partial file: the temporary file lives in the same folder
    (same file system) and is removed if ``write`` fails or is interrupted.
    """
    path = check_writable(path, overwrite, field)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, _file_mode(path))  # mkstemp makes it private; a plain file is not
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _file_mode(path: Path) -> int:
    """The mode ``path`` keeps if it exists, else what ``open()`` would give (0o666 - umask)."""
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def read_image(path: str | Path, field: str = "image", channels: int = 3) -> np.ndarray:
    """Read an image file as float32 (C, H, W) in [0, 1] with ``channels`` (1 or 3) channels.

    The rules (each conversion logs a notice on the ``gs`` logger, stderr by default):
      * refused (``UserInputError`` naming ``field``): a missing, empty, truncated or
        undecodable file, and one whose header declares more than
        :data:`MAX_IMAGE_PIXELS` pixels (checked before anything is decoded);
      * EXIF orientation is applied, as a photo viewer shows the picture;
      * 16-bit and 32-bit grey images keep their precision (scaled by their full range);
      * palette, grey, CMYK... become RGB (or grey when ``channels`` is 1);
      * an alpha channel is composited over white.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError("does not exist or is not a file", field=field, value=path)
    if path.stat().st_size == 0:
        raise UserInputError("is an empty file (0 bytes), expected an image", field=field,
                             value=path)
    try:
        with warnings.catch_warnings():
            # the declared size is checked below, against our own (lower) limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _TooLarge(width, height)
                img.load()
                turned = _orientation(img)
                oriented = ImageOps.exif_transpose(img) if turned else img
                array = _pixels(oriented, channels, path, img.format)
    except _TooLarge as big:
        raise UserInputError(
            f"declares {big.width}x{big.height} pixels, over the {MAX_IMAGE_PIXELS:,} pixels "
            "gs accepts (see README: input images)", field=field, value=path) from None
    except Image.DecompressionBombError:
        raise UserInputError(
            f"declares more than PIL's limit of pixels, over the {MAX_IMAGE_PIXELS:,} pixels gs "
            "accepts (see README: input images)", field=field, value=path) from None
    except UserInputError:
        raise
    except Exception:  # noqa: BLE001 - any failure of PIL's decoders on this file's bytes
        raise UserInputError("is not a readable image (png, jpg, webp...)", field=field,
                             value=path) from None
    if turned:
        notice(f"{path}: EXIF orientation applied")
    return array


MAX_IMAGE_PIXELS = 40_000_000
"""Largest image (width × height, from its header) ``read_image`` accepts: 40 megapixels."""


class _TooLarge(Exception):
    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"{width}x{height}")
        self.width, self.height = width, height


def _orientation(img: Image.Image) -> bool:
    """True when the EXIF orientation asks for a flip or rotation."""
    try:
        return img.getexif().get(0x0112, 1) not in (0, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block means no orientation
        return False


def notice(message: str) -> None:
    """Tell the user about a conversion the library made on their input (stderr by default)."""
    logging.getLogger("gs").warning(message)


def _pixels(img: Image.Image, channels: int, path: Path, source_format: str | None
            ) -> np.ndarray:
    """Decoded PIL image → float32 (channels, H, W) in [0, 1], per the rules of read_image."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        raw = np.asarray(img, dtype=np.float64)
        peak = raw.max(initial=0)
        if mode == "F":  # float images: [0, 1] or the range of an integer type
            top = 1.0 if peak <= 1 else 255.0 if peak <= 255 else 65535.0
        elif mode.startswith("I;16") or source_format == "PNG":  # 16-bit samples
            top = 65535.0
        else:
            top = 65535.0 if peak > 255 else 255.0
        grey = np.clip(raw / top, 0.0, 1.0).astype(np.float32)[None]
        if channels == 3:
            notice(f"{path}: {mode} grey image repeated to RGB")
            grey = np.repeat(grey, 3, axis=0)
        return np.ascontiguousarray(grey)
    if mode == "P":
        img = img.convert("RGBA")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            notice(f"{path}: transparent pixels composited over white")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba).convert("RGB")
        mode = "RGB"
    target = "RGB" if channels == 3 else "L"
    if mode != target:
        if channels == 3 and mode in ("L", "1"):
            notice(f"{path}: grey image repeated to RGB")
        elif channels == 1 and mode not in ("L", "1"):
            notice(f"{path}: {mode} image converted to grey")
        img = img.convert(target)
    array = np.asarray(img, dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def resize_image(image: np.ndarray, size: tuple[int, int], path: str | Path | None = None
                 ) -> np.ndarray:
    """Center-crop (C, H, W) in [0, 1] to a square, then resize it to ``size`` = (H, W).

    With ``path`` given, the crop and the resize are logged as notices.
    """
    c, h, w = image.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[:, top : top + side, left : left + side]
    if path is not None and (h, w) != tuple(size):
        crop = f"center-cropped to {side}x{side} and " if h != w else ""
        notice(f"{path}: {w}x{h} pixels {crop}resized to {size[1]}x{size[0]}")
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


def quantize(image: np.ndarray) -> np.ndarray:
    """(C, H, W) float in [0, 1] at 8 bits: float32, what an 8-bit file of ``image``
    (:func:`write_image`) holds when :func:`read_image` reads it."""
    return to_uint8(image).astype(np.float32) / 255.0


def encode_image(image: np.ndarray, format: str = "PNG") -> bytes:
    """(C, H, W) float in [0, 1] → the bytes of an 8-bit image file (PIL ``format``)."""
    array = to_uint8(image).transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(buffer, format=format)
    return buffer.getvalue()


def write_image(path: str | Path, image: np.ndarray, overwrite: bool = False) -> Path:
    """Write (C, H, W) float in [0, 1] as an 8-bit image (format from the suffix)."""
    data = encode_image(image, _pil_format(path))
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite)


def write_npz(path: str | Path, overwrite: bool = False, field: str = "output",
              **arrays: Any) -> Path:
    """Write ``arrays`` (name → array or scalar) as an uncompressed ``.npz``, atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    return atomic_write(path, write, overwrite, field)


def _pil_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}.get(suffix, "PNG")


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


def write_json(
    path: str | Path, data: Any, overwrite: bool = False, field: str = "report"
) -> Path:
    """Write ``data`` as indented JSON, atomically (NaN/Infinity are refused: not JSON)."""
    text = json.dumps(data, indent=2, allow_nan=False)
    return atomic_write(path, lambda tmp: tmp.write_text(text + "\n"), overwrite, field)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
