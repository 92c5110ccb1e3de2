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
