"""Where a dataset's images sit inside its archive, and how they split into train and test.

A layout names the archive members it needs (:meth:`wants`) and turns their bytes
into :class:`Split` records (:meth:`splits`): images, each one's index in the
dataset and its class label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gs.data.formats import read_idx, read_pgm
from gs.errors import UserInputError

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Split:
    """The images of one split, in index order.

    Attributes:
        indices: int64 (N,), each image's index in the dataset, increasing; files are
            named by it.
        images: uint8 (N, H, W) in [0, 255] (grey).
        labels: int64 (N,) class labels, or None for a dataset without labels.
    """

    indices: np.ndarray
    images: np.ndarray
    labels: np.ndarray | None


def _member(members: Mapping[str, bytes], name: str, archive: str) -> bytes:
    if name not in members:
        raise UserInputError(f"archive {archive} has no member {name}; is it the right file?")
    return members[name]


@dataclass(frozen=True)
class IdxPairs:
    """An images idx file and a labels idx file per split (MNIST's own layout).

    ``train`` and ``test`` are (images member, labels member); a file's position in its
    idx file is its index.
    """

    train: tuple[str, str]
    test: tuple[str, str]

    def wants(self, name: str) -> bool:
        return name in (*self.train, *self.test)

    def describe(self) -> str:
        return "the official split: the train and t10k idx files"

    def splits(self, members: Mapping[str, bytes], archive: str) -> dict[str, Split]:
        out = {}
        for split, (images_name, labels_name) in zip(SPLITS, (self.train, self.test)):
            images = read_idx(_member(members, images_name, archive),
                              name=f"{archive}:{images_name}")
            labels = read_idx(_member(members, labels_name, archive),
                              name=f"{archive}:{labels_name}")
            if images.ndim != 3 or images.dtype != np.uint8:
                raise UserInputError(f"idx file {archive}:{images_name} holds {images.dtype} of "
                                     f"shape {images.shape}, expected uint8 (N, H, W) images")
            if labels.shape != images.shape[:1]:
                raise UserInputError(f"idx file {archive}:{labels_name} holds {labels.shape} "
                                     f"labels for {len(images)} images")
            out[split] = Split(np.arange(len(images), dtype=np.int64), images,
                               labels.astype(np.int64))
        return out


@dataclass(frozen=True)
class PeopleFolders:
    """One folder per person, ``{root}/s{person}/{image}.pgm`` (the ORL faces' layout).

    Index = (person - 1) * images_per_person + (image - 1), so ``s1/1.pgm`` is 0;
    label = the person's number. The split is by person: ``test_people`` go to test,
    every other person to train, so nobody is in both.
    """

    root: str
    images_per_person: int
    test_people: tuple[int, ...]

    def _parse(self, name: str) -> tuple[int, int] | None:
        match = re.fullmatch(re.escape(self.root) + r"/s(\d+)/(\d+)\.pgm", name)
        return (int(match[1]), int(match[2])) if match else None

    def wants(self, name: str) -> bool:
        return self._parse(name) is not None

    def describe(self) -> str:
        people = sorted(self.test_people)
        return (f"by person: s{people[0]}-s{people[-1]} test, the others train (no person "
                f"in both)" if people == list(range(people[0], people[-1] + 1)) else
                f"by person: {', '.join(f's{p}' for p in people)} test, the others train")

    def splits(self, members: Mapping[str, bytes], archive: str) -> dict[str, Split]:
        found: dict[int, dict[int, str]] = {}
        for name in members:
            parsed = self._parse(name)
            if parsed:
                found.setdefault(parsed[0], {})[parsed[1]] = name
        if not found:
            raise UserInputError(f"archive {archive} has no {self.root}/s*/*.pgm images; is it "
                                 f"the right file?")
        per = self.images_per_person
        for person, images in sorted(found.items()):
            if sorted(images) != list(range(1, per + 1)):
                raise UserInputError(f"archive {archive} holds images {sorted(images)} of "
                                     f"{self.root}/s{person}, expected 1..{per}")
        out = {}
        for split in SPLITS:
            people = [p for p in sorted(found) if (p in self.test_people) == (split == "test")]
            names = [found[p][i] for p in people for i in range(1, per + 1)]
            images = [read_pgm(members[n], name=f"{archive}:{n}") for n in names]
            _same_size(images, names, archive)
            out[split] = Split(
                np.array([(p - 1) * per + i for p in people for i in range(per)], np.int64),
                np.stack(images) if images else np.zeros((0, 0, 0), np.uint8),
                np.repeat(np.array(people, np.int64), per))
        return out


@dataclass(frozen=True)
class NumberedFiles:
    """Numbered PGM files ``{root}/{prefix}{number}.pgm`` (the CBCL faces' layout).

    Index = number - 1; no labels. Images with index < ``train_count`` are train,
    the rest test.
    """

    root: str
    prefix: str
    train_count: int

    def _parse(self, name: str) -> int | None:
        match = re.fullmatch(re.escape(f"{self.root}/{self.prefix}") + r"(\d+)\.pgm", name)
        return int(match[1]) - 1 if match else None

    def wants(self, name: str) -> bool:
        return self._parse(name) is not None

    def describe(self) -> str:
        return (f"by file number: the first {self.train_count} train, the rest test "
                f"(persons are not recorded, so one may appear in both)")

    def splits(self, members: Mapping[str, bytes], archive: str) -> dict[str, Split]:
        by_index = {self._parse(name): name for name in members if self.wants(name)}
        indices = sorted(i for i in by_index if i is not None)
        if indices != list(range(len(indices))) or not indices:
            raise UserInputError(f"archive {archive} holds {len(indices)} {self.root}/"
                                 f"{self.prefix}*.pgm images, not numbered 1..N")
        out = {}
        for split in SPLITS:
            chosen = [i for i in indices if (i < self.train_count) == (split == "train")]
            names = [by_index[i] for i in chosen]
            images = [read_pgm(members[n], name=f"{archive}:{n}") for n in names]
            _same_size(images, names, archive)
            out[split] = Split(np.array(chosen, np.int64),
                               np.stack(images) if images else np.zeros((0, 0, 0), np.uint8),
                               None)
        return out


def _same_size(images: list[np.ndarray], names: list[str], archive: str) -> None:
    for image, name in zip(images, names):
        if image.shape != images[0].shape:
            raise UserInputError(f"image {archive}:{name} is {image.shape[1]}x{image.shape[0]}, "
                                 f"unlike {names[0]} ({images[0].shape[1]}x{images[0].shape[0]})")


@dataclass(frozen=True)
class VolumeSlices:
    """Axial slices of one NIfTI volume (``member``, read with nibabel), one image each.

    The volume is turned to RAS+ orientation; slice ``k`` is the plane at voxel index
    ``k`` along the superior axis, shown anterior up. Every slice is scaled by the
    ``percentile``-th percentile of the volume's non-zero voxels and clipped to [0, 1]
    (one scale for the volume, so intensities agree between slices), cropped to the
    square around the head (the bounding box of the non-zero voxels over the whole
    volume, centred), and resized to ``size`` px. Index = slice index.

    Slices ``first``..``last`` are used. ``test_slices`` go to test; train is every
    other slice more than ``gap`` slices from each test slice, so no neighbour of a test
    slice is trained on. Train and test come from one subject.
    """

    member: str
    first: int
    last: int
    test_slices: tuple[int, ...]
    gap: int
    size: int
    percentile: float = 99.5

    def wants(self, name: str) -> bool:
        return name == self.member

    def describe(self) -> str:
        tests = self.test_slices
        step = {b - a for a, b in zip(tests, tests[1:])}
        spread = (f"every {step.pop()}th of {tests[0]}-{tests[-1]}" if len(step) == 1 else
                  ", ".join(map(str, tests)))
        return (f"by axial slice of one subject: {len(tests)} test slices ({spread}); train "
                f"every other slice of {self.first}-{self.last} more than {self.gap} slices "
                f"from each test slice")

    def train_slices(self) -> list[int]:
        return [k for k in range(self.first, self.last + 1)
                if all(abs(k - t) > self.gap for t in self.test_slices)]

    def splits(self, members: Mapping[str, bytes], archive: str) -> dict[str, Split]:
        volume = read_nifti(_member(members, self.member, archive),
                            name=f"{archive}:{self.member}")
        if volume.ndim != 3 or volume.shape[2] <= self.last:
            raise UserInputError(f"volume {archive}:{self.member} has shape {volume.shape}, "
                                 f"expected 3 axes and more than {self.last} axial slices")
        crop = _head_square(volume)
        positive = volume[volume > 0]
        scale = float(np.percentile(positive, self.percentile)) if positive.size else 1.0
        out = {}
        for split, chosen in (("train", self.train_slices()), ("test", list(self.test_slices))):
            images = [_slice_image(volume[..., k], crop, scale, self.size) for k in chosen]
            out[split] = Split(np.array(chosen, np.int64),
                               np.stack(images) if images else np.zeros((0, 0, 0), np.uint8),
                               None)
        return out


def read_nifti(data: bytes, name: str) -> np.ndarray:
    """A NIfTI-1/2 volume (plain or gzip bytes) as float32 in RAS+ voxel order."""
    try:
        import nibabel
    except ImportError:
        raise UserInputError(f"reading {name} needs nibabel: pip install nibabel") from None
    import gzip
    import io

    from nibabel.filebasedimages import ImageFileError
    from nibabel.spatialimages import HeaderDataError
    from nibabel.wrapstruct import WrapStructError

    try:
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        if raw[344:348] == b"n+1\x00":
            kind = nibabel.Nifti1Image
        elif raw[4:8] == b"n+2\x00":
            kind = nibabel.Nifti2Image
        else:
            raise ValueError("no single-file NIfTI-1 or NIfTI-2 magic")
        image = nibabel.as_closest_canonical(kind.from_stream(io.BytesIO(raw)))
        return np.asarray(image.get_fdata(dtype=np.float32))
    except (ImageFileError, HeaderDataError, WrapStructError, ValueError, OSError,
            EOFError) as exc:
        raise UserInputError(f"{name} is not a readable NIfTI volume ({exc})") from None


def _head_square(volume: np.ndarray) -> tuple[int, int, int]:
    """(x0, y0, side): the square, centred on the head's bounding box in the axial plane,
    that holds the head of every slice."""
    inside = volume > 0
    if not inside.any():
        return 0, 0, max(volume.shape[:2])
    xs = np.flatnonzero(inside.any(axis=(1, 2)))
    ys = np.flatnonzero(inside.any(axis=(0, 2)))
    side = int(max(xs[-1] - xs[0], ys[-1] - ys[0])) + 1
    return (int(xs[0] + xs[-1] + 1 - side) // 2, int(ys[0] + ys[-1] + 1 - side) // 2, side)


def _slice_image(plane: np.ndarray, crop: tuple[int, int, int], scale: float,
                 size: int) -> np.ndarray:
    """uint8 (size, size): one axial plane (x, y) scaled, cropped, resized, anterior up."""
    from PIL import Image

    x0, y0, side = crop
    square = np.zeros((side, side), np.float32)  # the crop may reach past the volume
    xa, ya = max(x0, 0), max(y0, 0)
    xb, yb = min(x0 + side, plane.shape[0]), min(y0 + side, plane.shape[1])
    square[xa - x0:xb - x0, ya - y0:yb - y0] = plane[xa:xb, ya:yb]
    picture = np.ascontiguousarray(np.clip(square / scale, 0, 1).T[::-1])
    small = Image.fromarray(picture, mode="F").resize((size, size), Image.Resampling.BILINEAR)
    return np.round(np.clip(np.asarray(small), 0, 1) * 255).astype(np.uint8)
