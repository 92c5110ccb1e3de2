"""Files written safely: atomic writes that never leave a partial file and refuse to
replace an existing one unless asked, JSON and ``.npz`` through them, and file digests."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gs.errors import UserInputError


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


def write_npz(path: str | Path, overwrite: bool = False, field: str = "output",
              **arrays: Any) -> Path:
    """Write ``arrays`` (name → array or scalar) as an uncompressed ``.npz``, atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    return atomic_write(path, write, overwrite, field)


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
