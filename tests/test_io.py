"""Reading images from strangers: every file is either handled by a rule or refused cleanly."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gs.errors import UserInputError
from gs.io import (
    MAX_IMAGE_PIXELS,
    atomic_write,
    encode_image,
    image_grid,
    read_image,
    write_image,
    write_json,
    write_npz,
)
from gs.jobs import MIN_TRUTH_SIDE, read_truth


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def with_declared_size(png: bytes, width: int, height: int) -> bytes:
    """``png`` whose IHDR chunk declares ``width`` × ``height`` (CRC fixed, data unchanged)."""
    ihdr = bytearray(png[8 : 8 + 25])  # length, "IHDR", 13 bytes of data, CRC
    ihdr[8:16] = struct.pack(">II", width, height)
    ihdr[21:25] = struct.pack(">I", zlib.crc32(bytes(ihdr[4:21])) & 0xFFFFFFFF)
    return png[:8] + bytes(ihdr) + png[33:]


def one_sentence(error: UserInputError, *fragments: str) -> None:
    message = str(error)
    assert "\n" not in message and message.count(". ") == 0, message
    for fragment in fragments:
        assert fragment in message, message


RGB = (np.arange(12 * 10 * 3).reshape(12, 10, 3) % 251).astype(np.uint8)


@pytest.mark.parametrize("name, content, fragment", [
    ("empty.png", b"", "empty file"),
    ("text.png", b"hello, not an image", "not a readable image"),
    ("truncated.png", png_bytes(RGB)[:60], "not a readable image"),
    ("bomb.png", with_declared_size(png_bytes(RGB), 100_000, 100_000), "declares"),
    ("big.png", with_declared_size(png_bytes(RGB), 8000, 8000), "declares 8000x8000 pixels"),
])
def test_bad_files_are_refused_with_one_sentence(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    start = time.perf_counter()
    with pytest.raises(UserInputError) as info:
        read_image(path)
    assert time.perf_counter() - start < 2.0
    one_sentence(info.value, name, fragment)
    assert info.value.field == "image" and info.value.value == path
    assert 8000 * 8000 > MAX_IMAGE_PIXELS > 4000 * 4000


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        read_image(tmp_path / "none.png")
    with pytest.raises(UserInputError, match="does not exist or is not a file"):
        read_image(tmp_path)


def test_sixteen_bit_grey_keeps_its_precision(tmp_path, caplog):
    values = np.array([[0, 1, 257, 65535]], dtype=np.uint16).repeat(3, axis=0)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)  # written as a 16-bit greyscale PNG
    with Image.open(path) as img:
        assert img.mode.startswith("I")
    image = read_image(path)
    assert image.shape == (3, 3, 4) and image.dtype == np.float32
    np.testing.assert_allclose(image[0, 0], values[0] / 65535, rtol=0, atol=1e-7)
    assert (image[0] == image[2]).all()
    assert "repeated to RGB" in caplog.text


def test_grey_palette_and_transparency_follow_the_rules(tmp_path, caplog):
    grey = tmp_path / "grey.png"
    Image.fromarray(RGB[:, :, 0]).save(grey)
    image = read_image(grey)
    assert image.shape == (3, 12, 10) and (image[0] == image[1]).all()
    np.testing.assert_array_equal(image[0], RGB[:, :, 0] / np.float32(255))
    assert read_image(grey, channels=1).shape == (1, 12, 10)

    palette = tmp_path / "palette.png"
    Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(palette)
    with Image.open(palette) as img:
        expected = np.asarray(img.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255
    np.testing.assert_array_equal(read_image(palette), expected)

    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 255, np.uint8)])
    rgba[0, 0, 3] = 0  # one fully transparent pixel, composited over white
    rgba[0, 1, 3] = 128
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    image = read_image(path)
    np.testing.assert_array_equal(image[:, 0, 0], [1, 1, 1])
    half = (RGB[0, 1].astype(float) * 128 + 255 * 127) / 255 / 255
    np.testing.assert_allclose(image[:, 0, 1], half, atol=1.5 / 255)
    np.testing.assert_array_equal(image[:, 1:, :], RGB[1:].transpose(2, 0, 1) / np.float32(255))
    assert "composited over white" in caplog.text


def test_exif_orientation_is_applied(tmp_path, caplog):
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show rotated 90° clockwise
    Image.fromarray(RGB).save(path, exif=exif, quality=95)
    image = read_image(path)
    assert image.shape == (3, 10, 12)
    assert "EXIF orientation applied" in caplog.text


def test_ground_truth_is_cropped_resized_or_refused(tmp_path, caplog):
    wide = tmp_path / "wide.png"
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(wide)
    truth = read_truth(wide, (3, 16, 16))
    assert truth.shape == (3, 16, 16)
    assert "40x20 pixels center-cropped to 20x20 and resized to 16x16" in caplog.text
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((MIN_TRUTH_SIDE - 1, 30, 3), np.uint8)).save(tiny)
    with pytest.raises(UserInputError) as info:
        read_truth(tiny, (3, 16, 16))
    one_sentence(info.value, "tiny.png", f"at least {MIN_TRUTH_SIDE} pixels")


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.json"

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, broken)
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    with pytest.raises(UserInputError, match="already exists; pass overwrite"):
        write_json(target, {"a": 2})
    with pytest.raises(ValueError):
        write_json(target, {"a": float("nan")}, overwrite=True)
    assert target.read_text().strip().endswith("}") and '"a": 1' in target.read_text()


def test_encoded_and_written_images_read_back_within_8_bit_rounding(tmp_path):
    rgb = np.random.default_rng(0).random((3, 5, 7)).astype(np.float32)
    grey = rgb[:1]
    with Image.open(io.BytesIO(encode_image(rgb))) as img:
        assert img.format == "PNG" and img.mode == "RGB" and img.size == (7, 5)
    with Image.open(io.BytesIO(encode_image(grey, "BMP"))) as img:
        assert img.format == "BMP" and img.mode == "L"
    path = write_image(tmp_path / "x.png", rgb)
    np.testing.assert_allclose(read_image(path), rgb, atol=0.5 / 255 + 1e-6)
    with pytest.raises(UserInputError, match="already exists"):
        write_image(path, rgb)


def test_npz_is_written_atomically_and_refuses_to_overwrite(tmp_path):
    path = write_npz(tmp_path / "m.npz", y=np.arange(3.0), seed=7, spec="{}")
    with np.load(path) as data:
        assert data["y"].tolist() == [0.0, 1.0, 2.0] and int(data["seed"]) == 7
    with pytest.raises(UserInputError, match="measurements .* already exists"):
        write_npz(path, field="measurements", y=np.zeros(1))
    write_npz(path, overwrite=True, y=np.zeros(1))
    with np.load(path) as data:
        assert list(data) == ["y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_image_grid_layout():
    tiles = [[np.zeros((1, 2, 3), np.float32)] * 2, [np.zeros((1, 2, 3), np.float32)]]
    grid = image_grid(tiles, pad=1, fill=0.5)
    assert grid.shape == (1, 2 * 3 + 1, 2 * 4 + 1)
    assert grid[0, 0, 0] == 0.5 and grid[0, 1, 1] == 0 and grid[0, 4, 5] == 0.5


# --- hostile bytes -----------------------------------------------------------------------

VALID_PNG = png_bytes(RGB)


def check_loader_outcome(path: Path) -> None:
    """Success (a finite (3, H, W) image in [0, 1]) or one sentence naming the file."""
    start = time.perf_counter()
    try:
        image = read_image(path)
    except UserInputError as error:
        one_sentence(error, path.name)
    else:
        assert image.ndim == 3 and image.shape[0] == 3 and image.dtype == np.float32
        assert np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1
    assert time.perf_counter() - start < 2.0


FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes_never_raise_anything_else(tmp_path, data):
    path = tmp_path / "random.png"
    path.write_bytes(data)
    check_loader_outcome(path)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID_PNG) - 1), st.integers(0, 255)),
                      min_size=1, max_size=6),
       cut=st.integers(8, len(VALID_PNG)),
       size=st.tuples(st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1)) | st.none())
def test_mutated_png_headers_never_raise_anything_else(tmp_path, edits, cut, size):
    data = VALID_PNG if size is None else with_declared_size(VALID_PNG, *size)
    mutated = bytearray(data[:cut])
    for position, value in edits:
        if position < 64 and position < len(mutated):  # the signature, IHDR and first chunk
            mutated[position] = value
    path = tmp_path / "mutated.png"
    path.write_bytes(bytes(mutated))
    check_loader_outcome(path)
