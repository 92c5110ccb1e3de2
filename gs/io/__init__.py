"""Reading and writing images, observations and reports, with clear errors.

Images in the library are float32 arrays in [0, 1] of shape (C, H, W).
Every write is atomic (temporary file in the same folder, then rename) and
refuses to replace an existing file unless ``overwrite`` is set.

* :mod:`~gs.io.files`: atomic writes, :func:`check_writable`, JSON, ``.npz``, sha256.
* :mod:`~gs.io.images`: :func:`read_image` and its rules, resizing, 8-bit encoding,
  :func:`write_image`.
* :mod:`~gs.io.grid`: :func:`image_grid`, the one image grid.
* :mod:`~gs.io.notices`: :func:`notice`, one sentence to the user.

Every name imports from ``gs.io`` as well.
"""

from gs.io.files import atomic_write, check_writable, sha256_file, write_json, write_npz
from gs.io.grid import image_grid
from gs.io.images import (
    IMAGE_SUFFIXES,
    MAX_IMAGE_PIXELS,
    encode_image,
    quantize,
    read_image,
    resize_image,
    to_uint8,
    write_image,
)
from gs.io.notices import notice

__all__ = [
    "IMAGE_SUFFIXES", "MAX_IMAGE_PIXELS", "atomic_write", "check_writable", "encode_image",
    "image_grid", "notice", "quantize", "read_image", "resize_image", "sha256_file",
    "to_uint8", "write_image", "write_json", "write_npz",
]
