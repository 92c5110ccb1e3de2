"""The file formats datasets arrive in: idx arrays, PGM images, tar and Debian archives.

Every reader validates what it reads and raises :class:`gs.errors.UserInputError`
with one sentence naming the file; nothing here needs a program outside Python.
"""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from gs.errors import UserInputError

# idx type byte -> big-endian numpy dtype (yann.lecun.com/exdb/mnist, "THE IDX FILE FORMAT")
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def _load(source: str | Path | bytes, name: str | None) -> tuple[bytes, str]:
    """The bytes of ``source`` (gunzipped when gzip) and the name to show in errors."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, shown = bytes(source), name or "(bytes)"
    else:
        path = Path(source)
        shown = name or str(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UserInputError(f"{shown} does not exist") from None
        except IsADirectoryError:
            raise UserInputError(f"{shown} is a folder, expected a file") from None
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise UserInputError(f"{shown} is a damaged gzip file ({exc})") from None
    return data, shown


def read_idx(source: str | Path | bytes, name: str | None = None) -> np.ndarray:
    """Read an idx file (MNIST's format), plain or gzip-compressed.

    Args:
        source: a file path or the file's bytes.
        name: what to call the file in errors (default: the path).

    Returns:
        A writable array of the file's shape (images: (N, H, W); labels: (N,)) in the
        native byte order of the type the header declares (ubyte -> uint8 in [0, 255]).

    Raises:
        UserInputError: bad magic number, unknown type, zero dimensions, or a length
            unlike the one the header declares (truncated or trailing bytes).
    """
    data, shown = _load(source, name)
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise UserInputError(f"idx file {shown} does not start with an idx magic number "
                             f"(00 00 type ndim), got {data[:4].hex(' ') or 'nothing'}")
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        raise UserInputError(f"idx file {shown} declares unknown type 0x{code:02x}, expected one "
                             f"of {', '.join(f'0x{c:02x}' for c in IDX_TYPES)}")
    if ndim == 0:
        raise UserInputError(f"idx file {shown} declares 0 dimensions, expected at least 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserInputError(f"idx file {shown} is truncated: its header needs {header} bytes, "
                             f"the file holds {len(data)}")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[code])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise UserInputError(f"idx file {shown} is {what}: shape {'x'.join(map(str, dims))} "
                             f"needs {expected} bytes, the file holds {len(data)}")
    values = np.frombuffer(data, dtype, offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="))  # a copy: writable, native order


def read_pgm(source: str | Path | bytes, name: str | None = None) -> np.ndarray:
    """Read a binary (P5) PGM image.

    Args:
        source: a file path or the file's bytes.
        name: what to call the file in errors (default: the path).

    Returns:
        uint8 array (H, W) in [0, 255]; a maxval other than 255 (16-bit files
        included) is rescaled to 0..255 with rounding.

    Raises:
        UserInputError: not a P5 file, a bad header, or too few pixel bytes.
    """
    data, shown = _load(source, name)
    if data[:2] != b"P5":
        raise UserInputError(f"{shown} is not a binary PGM image (magic P5), "
                             f"got {data[:2]!r}")
    fields: list[int] = []
    pos = 2
    while len(fields) < 3:
        while pos < len(data) and (data[pos:pos + 1].isspace() or data[pos:pos + 1] == b"#"):
            if data[pos:pos + 1] == b"#":  # a comment runs to the end of its line
                end = data.find(b"\n", pos)
                pos = len(data) if end < 0 else end
            pos += 1
        start = pos
        while pos < len(data) and data[pos:pos + 1].isdigit():
            pos += 1
        if start == pos:
            raise UserInputError(f"PGM image {shown} has a bad header: expected width, height "
                                 f"and maxval as decimal numbers")
        fields.append(int(data[start:pos]))
    width, height, maxval = fields
    if not (width > 0 and height > 0 and 0 < maxval < 65536):
        raise UserInputError(f"PGM image {shown} declares {width}x{height} with maxval "
                             f"{maxval}; expected positive sizes and maxval 1..65535")
    pos += 1  # exactly one whitespace byte separates the header from the pixels
    dtype = np.dtype(">u2" if maxval > 255 else "u1")
    needed = width * height * dtype.itemsize
    if len(data) - pos < needed:
        raise UserInputError(f"PGM image {shown} is truncated: {width}x{height} needs "
                             f"{needed} pixel bytes, the file holds {max(len(data) - pos, 0)}")
    pixels = np.frombuffer(data, dtype, count=width * height, offset=pos).reshape(height, width)
    if maxval == 255:
        return pixels.copy()
    scaled = np.rint(pixels.astype(np.float64) * (255.0 / maxval))
    return np.clip(scaled, 0, 255).astype(np.uint8)


class _Slice(io.RawIOBase):
    """``length`` bytes of ``file`` from its current position, as a read-only stream."""

    def __init__(self, file: BinaryIO, length: int) -> None:
        self._file, self._left = file, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._left)
        if size <= 0:
            return 0
        chunk = self._file.read(size)
        buffer[:len(chunk)] = chunk
        self._left -= len(chunk)
        return len(chunk)


def _deb_data(file: BinaryIO, shown: str) -> tuple[str, int]:
    """Seek ``file`` (a Debian package, an ``ar`` archive) to its data.tar member.

    Returns the member's name and size. ``ar`` format: the magic ``!<arch>\\n``, then
    per member a 60-byte header (name 16, mtime 12, uid 6, gid 6, mode 8, size 10,
    ``\\x60\\n``) and the data, padded to an even length.
    """
    if file.read(8) != b"!<arch>\n":
        raise UserInputError(f"{shown} is not a Debian package (no ar archive magic)")
    while True:
        header = file.read(60)
        if not header:
            raise UserInputError(f"{shown} is a Debian package without a data.tar member")
        if len(header) < 60 or header[58:60] != b"`\n":
            raise UserInputError(f"{shown} is a damaged ar archive (bad member header)")
        member = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58])
        except ValueError:
            raise UserInputError(f"{shown} is a damaged ar archive (bad member size)") from None
        if member.startswith("data.tar"):
            return member, size
        file.seek(size + size % 2, io.SEEK_CUR)


def _open_tar(stream: BinaryIO, member: str, shown: str) -> tarfile.TarFile:
    """A streaming tar reader over ``stream``, decompressed as ``member``'s suffix says."""
    if member.endswith(".zst"):
        try:
            import zstandard
        except ImportError:
            raise UserInputError(f"{shown} holds {member}, compressed with zstd: install the "
                                 f"zstandard package to read it") from None
        stream = zstandard.ZstdDecompressor().stream_reader(stream)
        return tarfile.open(fileobj=stream, mode="r|")
    return tarfile.open(fileobj=stream, mode="r|*")


def iter_members(archive: str | Path, wanted: Callable[[str], bool], kind: str | None = None
                 ) -> Iterator[tuple[str, bytes]]:
    """Stream a tar archive (any compression) or a Debian package, yielding wanted files.

    Args:
        archive: a Debian package (its data.tar.{xz,gz,bz2,zst}) or a tar file.
        wanted: called with each regular file's name (without a leading ``./``);
            only those it accepts are read.
        kind: ``"deb"`` or ``"tar"``; by default ``"deb"`` for a ``.deb`` suffix.

    Yields:
        ``(name, contents)`` in archive order. Nothing else is decompressed into memory.
    """
    archive = Path(archive)
    shown = str(archive)
    with open(archive, "rb") as file:
        if (kind or ("deb" if archive.suffix == ".deb" else "tar")) == "deb":
            member, size = _deb_data(file, shown)
            stream: BinaryIO = io.BufferedReader(_Slice(file, size))
            shown = f"{archive}:{member}"
        else:
            member, stream = archive.name, file
        try:
            with _open_tar(stream, member, shown) as tar:
                for info in tar:
                    name = info.name[2:] if info.name.startswith("./") else info.name
                    if info.isfile() and wanted(name):
                        extracted = tar.extractfile(info)
                        if extracted is not None:
                            yield name, extracted.read()
        except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
            raise UserInputError(f"{shown} is not a readable tar archive ({exc})") from None
