"""Fetch a dataset's archive, check it and write it out as train/test PNG folders.

The folder written for a dataset::

    DIR/train/00000.png ...   grey PNGs, each named by its index in the dataset
    DIR/test/...
    DIR/labels.json           {"train/00000.png": 5, ...} where the dataset has labels
    DIR/dataset.json          name, source, sha256, split, counts, licence

It is built in a temporary folder beside DIR and renamed into place at the end, so
DIR is either complete or untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gs.data.clients import download
from gs.data.formats import iter_members
from gs.data.layouts import SPLITS, Split
from gs.data.registry import Dataset, get_dataset
from gs.errors import UserInputError
from gs.io import sha256_file

LABELS_FILE = "labels.json"
RECORD_FILE = "dataset.json"


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch_dataset` wrote.

    Attributes:
        path: the dataset folder.
        dataset: the registry entry.
        counts: images written per split, ``{"train": n, "test": m}``.
        sha256: the archive's checked SHA-256.
        seconds: wall time per stage (``download``, ``check``, ``read``, ``write``).
    """

    path: Path
    dataset: Dataset
    counts: dict[str, int]
    sha256: str
    seconds: dict[str, float] = field(default_factory=dict)


def check_sha256(path: str | Path, expected: str) -> str:
    """Return the file's SHA-256; UserInputError naming both digests if it is not ``expected``."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise UserInputError(f"has sha256 {actual}, expected {expected}: it is not the recorded "
                             f"archive (damaged, or another version)", field="archive",
                             value=path)
    return actual


def check_output(out_dir: str | Path, overwrite: bool) -> Path:
    """Refuse a file, or a non-empty folder unless ``overwrite`` (UserInputError, ``out_dir``)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserInputError("is a file, expected a folder", field="out_dir", value=out)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserInputError("already exists and is not empty; pass {overwrite} to replace it",
                             field="out_dir", value=out, refs=("overwrite",))
    return out


def fetch_dataset(dataset: Dataset | str, out_dir: str | Path, *,
                  archive: str | Path | None = None, overwrite: bool = False,
                  progress: Callable[[str], None] | None = None) -> Fetched:
    """Fetch ``dataset`` and write it to ``out_dir`` as train/test PNG folders.

    Args:
        dataset: a registry entry (:data:`gs.data.DATASETS`) or its name.
        out_dir: the folder to write; an existing non-empty one needs ``overwrite``.
        archive: an already downloaded archive to use instead of the registry's client.
        overwrite: replace a non-empty ``out_dir``.
        progress: called with one line per stage.

    Returns:
        :class:`Fetched`. Images are written as uint8 grey PNGs of the dataset's size.

    Raises:
        UserInputError: the output exists, the client is missing or fails, the archive's
            sha256 is not the recorded one, or its contents are not as recorded.
    """
    spec = get_dataset(dataset) if isinstance(dataset, str) else dataset
    say = progress or (lambda line: None)
    out = check_output(out_dir, overwrite)
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gs-data-") as scratch:
        start = time.perf_counter()
        if archive is None:
            say(f"downloading {spec.source.requirement} with {spec.source.client.name}")
            path = download(spec.source, Path(scratch))
            seconds["download"] = time.perf_counter() - start
        else:
            path = Path(archive)
            if not path.is_file():
                raise UserInputError("does not exist" if not path.exists() else
                                     "is a folder, expected an archive file",
                                     field="archive", value=path)
        start = time.perf_counter()
        sha256 = check_sha256(path, spec.source.sha256)
        seconds["check"] = time.perf_counter() - start
        say(f"{path.name}: sha256 as recorded; reading {spec.name}")
        start = time.perf_counter()
        splits = read_splits(spec, path)
        seconds["read"] = time.perf_counter() - start
    start = time.perf_counter()
    counts = {split: len(splits[split].indices) for split in SPLITS}
    say(f"writing {counts['train']} train and {counts['test']} test images to {out}")
    _write_atomically(out, lambda folder: _write(folder, spec, splits, sha256))
    seconds["write"] = time.perf_counter() - start
    return Fetched(out, spec, counts, sha256, seconds)


def read_splits(spec: Dataset, archive: str | Path) -> dict[str, Split]:
    """Read ``spec``'s images from its archive and check them against the registry.

    Returns ``{"train": Split, "test": Split}``; UserInputError if the counts or the
    image size differ from the entry's.
    """
    kind = "deb" if spec.source.filename.endswith(".deb") else "tar"
    members = dict(iter_members(archive, spec.layout.wants, kind=kind))
    splits = spec.layout.splits(members, str(archive))
    for split in SPLITS:
        got, expected = splits[split], getattr(spec, split)
        if len(got.indices) != expected:
            raise UserInputError(f"archive {archive} holds {len(got.indices)} {split} images of "
                                 f"{spec.name}, the registry records {expected}")
        if len(got.indices) and got.images.shape[1:] != (spec.height, spec.width):
            raise UserInputError(f"archive {archive} holds {spec.name} images of "
                                 f"{got.images.shape[2]}x{got.images.shape[1]}, the registry "
                                 f"records {spec.width}x{spec.height}")
    return splits


def _write(folder: Path, spec: Dataset, splits: dict[str, Split], sha256: str) -> None:
    from PIL import Image

    import gs

    last = max((int(s.indices.max()) for s in splits.values() if len(s.indices)), default=0)
    width = max(5, len(str(last)))
    labels: dict[str, int] = {}
    for split in SPLITS:
        (folder / split).mkdir()
        data = splits[split]
        for row, index in enumerate(data.indices):
            name = f"{split}/{int(index):0{width}d}.png"
            Image.fromarray(data.images[row]).save(folder / name, compress_level=6)
            if data.labels is not None:
                labels[name] = int(data.labels[row])
    record = spec.to_json()
    record.update(counts={split: len(splits[split].indices) for split in SPLITS},
                  sha256=sha256, labels_file=LABELS_FILE if labels else None,
                  files=f"{{split}}/{{index:0{width}d}}.png, index = the image's index in "
                        f"the dataset", gs_version=gs.__version__)
    if labels:
        (folder / LABELS_FILE).write_text(json.dumps(labels, indent=0) + "\n")
    (folder / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")


def _write_atomically(out: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(folder)`` on a temporary folder beside ``out``, then rename it to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    old = None
    try:
        write(tmp)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; a plain folder is not
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old / out.name, out)
                raise
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
