"""Image folders as training data: scan, split, decode, scale (docs/training.md, "Data").

Every image file below the folder (:data:`gs.io.IMAGE_SUFFIXES`) is served as a float32
tensor (C, H, W): the largest centred square, resized with Lanczos, scaled linearly
to the model's range. A file is held out for validation by a seeded hash of its
relative path (:func:`is_validation`), so the split is the same on every machine and
adding files never moves the others. Unreadable files are skipped with one warning
when the folder is scanned; one that fails later is replaced by the next readable file.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from gs.errors import UserInputError
from gs.io import IMAGE_SUFFIXES

CHANNEL_MODES = {1: "L", 3: "RGB"}
_DECODE_ERRORS = (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError)


def is_validation(relative_path: str, seed: int, val_fraction: float) -> bool:
    """The split rule: True when ``relative_path`` belongs to the validation set."""
    digest = hashlib.sha256(f"{int(seed)}:{relative_path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < val_fraction


def split_files(
    files: Sequence[str], seed: int, val_fraction: float
) -> tuple[list[str], list[str]]:
    """Split relative paths into (train, val) by :func:`is_validation`, keeping their order."""
    train, val = [], []
    for name in files:
        (val if is_validation(name, seed, val_fraction) else train).append(name)
    return train, val


@dataclass(frozen=True)
class ScanResult:
    """What a folder scan found: readable files (sorted relative paths) and the skipped ones."""

    files: tuple[str, ...]
    unreadable: tuple[str, ...]


def _readable(path: Path) -> bool:
    try:
        if path.stat().st_size == 0:
            return False
        with Image.open(path) as img:
            img.verify()
        return True
    except _DECODE_ERRORS:
        return False


def scan_image_folder(root: Path, field: str = "data") -> ScanResult:
    """The images below ``root``, as sorted POSIX paths relative to it.

    Raises:
        UserInputError: ``root`` is not a folder, holds no image files, or none of
            them can be read; the error names ``field`` and the folder.
    """
    if not root.is_dir():
        raise UserInputError("is not a folder", field=field, value=root)
    candidates = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not candidates:
        raise UserInputError(f"contains no image files ({', '.join(IMAGE_SUFFIXES)}), also "
                             "searching its subfolders", field=field, value=root)
    files, unreadable = [], []
    for name in candidates:
        (files if _readable(root / name) else unreadable).append(name)
    if not files:
        raise UserInputError(f"is of no use: none of its {len(candidates)} image files could be "
                             "read as an image", field=field, value=root)
    return ScanResult(tuple(files), tuple(unreadable))


def load_image(path: str | Path, image_size: int, channels: int = 3) -> np.ndarray:
    """Decode ``path``, cut the centred square, resize to ``image_size``.

    Returns:
        uint8 array (H, W, C) with H = W = ``image_size`` and C = ``channels`` (1 or 3).
    """
    with Image.open(path) as img:
        img.draft(CHANNEL_MODES[channels], (image_size, image_size))  # fast JPEG downscale
        img = img.convert(CHANNEL_MODES[channels])
        width, height = img.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        box = (left, top, left + side, top + side)
        img = img.resize((image_size, image_size), Image.Resampling.LANCZOS, box=box)
        array = np.asarray(img, dtype=np.uint8)
    return array.reshape(image_size, image_size, channels)


def to_tensor(array: np.ndarray, value_range: tuple[float, float]) -> Tensor:
    """uint8 (H, W, C) → float32 (C, H, W) mapped linearly from [0, 255] to ``value_range``."""
    low, high = value_range
    # the dtype change copies, so the tensor owns writable memory even when ``array`` is
    # a read-only view of a PIL image
    x = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32))
    return x * ((high - low) / 255.0) + low


class ImageFileDataset(Dataset):
    """Images ``root/files[i]`` as tensors (C, H, W) in ``value_range``."""

    def __init__(self, root: Path, files: Sequence[str], image_size: int, channels: int = 3,
                 value_range: tuple[float, float] = (-1.0, 1.0)) -> None:
        self.root, self.files = Path(root), list(files)
        self.image_size, self.channels, self.value_range = image_size, channels, value_range

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Tensor:
        for offset in range(len(self.files)):
            name = self.files[(index + offset) % len(self.files)]
            try:
                array = load_image(self.root / name, self.image_size, self.channels)
            except _DECODE_ERRORS as exc:
                warnings.warn(
                    f"skipping unreadable image {self.root / name} ({exc}); using the next one",
                    stacklevel=2,
                )
                continue
            return to_tensor(array, self.value_range)
        raise OSError(f"no image below {self.root} can be read any more")


class ImageFolderDataModule(L.LightningDataModule):
    """Every image below ``data_dir``, split into train/val by :func:`is_validation`.

    Args:
        data_dir: folder searched recursively for image files (``gs.io.IMAGE_SUFFIXES``).
        image_size: side of the square tensors served.
        batch_size: images per batch (per device).
        channels: 3 (RGB) or 1 (grey).
        value_range: (low, high) the pixel values are scaled to; DCGAN uses (-1, 1).
        val_fraction: expected share of files held out for validation, in [0, 1).
        num_workers: DataLoader worker processes (0 decodes in the training process).
        seed: seeds the split and the per-epoch shuffling.
    """

    def __init__(
        self,
        data_dir: str | Path,
        image_size: int,
        batch_size: int = 64,
        channels: int = 3,
        value_range: tuple[float, float] = (-1.0, 1.0),
        val_fraction: float = 0.05,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.data_dir = Path(data_dir).expanduser()
        self.image_size, self.batch_size, self.channels = image_size, batch_size, channels
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.val_fraction, self.num_workers, self.seed = val_fraction, num_workers, seed
        self._scan: ScanResult | None = None
        self.train_files: list[str] = []
        self.val_files: list[str] = []

    def scan(self) -> ScanResult:
        """Scan the folder once and split it; :class:`UserInputError` if it is of no use."""
        if self._scan is not None:
            return self._scan
        scan = scan_image_folder(self.data_dir)
        files, unreadable = scan.files, scan.unreadable
        if unreadable:
            shown = ", ".join(unreadable[:3]) + (", ..." if len(unreadable) > 3 else "")
            warnings.warn(f"skipping {len(unreadable)} unreadable image file(s) in "
                          f"{self.data_dir} ({shown}); training on the other {len(files)}",
                          stacklevel=2)
        train, val = split_files(files, self.seed, self.val_fraction)
        if not train:
            raise UserInputError(f"leaves no training images among the {len(files)} in "
                                 f"{self.data_dir}", field="val_fraction", value=self.val_fraction)
        self.train_files, self.val_files = train, val
        self._scan = scan
        return scan

    def setup(self, stage: str | None = None) -> None:
        self.scan()

    def _dataset(self, files: Sequence[str]) -> ImageFileDataset:
        return ImageFileDataset(self.data_dir, files, self.image_size, self.channels,
                                self.value_range)

    def _loader(self, dataset: ImageFileDataset, sampler: Sampler[int] | None) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled by (seed, epoch) and nothing else; one shard per rank."""
        self.scan()
        world, rank = (1, 0) if self.trainer is None else (
            self.trainer.world_size, self.trainer.global_rank
        )
        dataset = self._dataset(self.train_files)
        sampler = DistributedSampler(
            dataset, num_replicas=world, rank=rank, shuffle=True, seed=self.seed
        )
        return self._loader(dataset, sampler)

    def val_dataloader(self) -> DataLoader:
        self.scan()
        return self._loader(self._dataset(self.val_files), None)
