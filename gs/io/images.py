"""Image files: read with clear rules and errors (any common format → float32 (C, H, W)
in [0, 1]), resized, quantised to 8 bits and written."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from gs.errors import UserInputError
from gs.io.files import atomic_write
from gs.io.notices import notice

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")

MAX_IMAGE_PIXELS = 40_000_000
"""Largest image (width × height, from its header) ``read_image`` accepts: 40 megapixels."""


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


def _pil_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}.get(suffix, "PNG")
