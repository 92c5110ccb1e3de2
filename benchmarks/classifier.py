"""Is the recovery the right thing? A small CNN classifier of a dataset's own classes.

Trained once on the training split (a folder of PNGs named by their index in the dataset,
``00042.png``, and a labels file), each image fitted to the artifact's shape by the rule
``gs-invert`` applies to a user's image (:func:`gs.jobs.inputs.read_truth`); kept in a
cache file, so every later run only loads it. Its accuracy on the recoveries of a method
says whether that method recovered the right digit or garment, which PSNR does not.

    model = cached_classifier("data/mnist/train", "data/mnist/train-labels-idx1-ubyte",
                              (1, 32, 32))
    labels = classify(model, images)  # images (B, 1, 32, 32) float32 in [0, 1]
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from cache import cache_path
from torch import nn

from gs.io import IMAGE_SUFFIXES, atomic_write, sha256_file
from gs.jobs.inputs import read_truth
from gs.models.seeded_init import reset_parameters_seeded


def read_labels(path: str | Path) -> np.ndarray | dict[str, int]:
    """A dataset's labels: by index from an idx1 file (MNIST's ``*-labels-idx1-ubyte``:
    magic 0x00000801, count, then one uint8 per image) or a JSON list; by file from the
    JSON object ``gs data fetch`` writes (``DIR/labels.json``: ``{"test/00042.png": 7}``)."""
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else np.asarray(data, dtype=np.int64)
    raw = path.read_bytes()
    if raw[:4] != b"\x00\x00\x08\x01":
        raise ValueError(f"labels {path} is neither an idx1 file nor a .json list or object")
    count = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, dtype=np.uint8, count=count, offset=8).astype(np.int64)


def labels_of(files: Sequence[Path], labels_path: str | Path) -> np.ndarray:
    """The label of each file: by its folder and name in a JSON object, else by the
    dataset index its name holds (``00042.png`` → 42)."""
    labels = read_labels(labels_path)
    if isinstance(labels, dict):
        return np.array([labels[f"{Path(p).parent.name}/{Path(p).name}"] for p in files],
                        dtype=np.int64)
    return np.array([labels[int(Path(p).stem)] for p in files], dtype=np.int64)


def image_files(folder: str | Path, n: int | None = None) -> list[Path]:
    """The first ``n`` (all: None) image files of ``folder`` in sorted order."""
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"images folder {folder} holds no images")
    return files[:n]


@contextmanager
def _quiet_resize():
    """Each resized file would log a notice; a dataset of thousands says it once instead."""
    logger = logging.getLogger("gs")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_images(files: Sequence[Path], image_shape: tuple[int, int, int]) -> np.ndarray:
    """(N, C, H, W) float32 in [0, 1]: each file fitted to ``image_shape`` as gs-invert
    fits a ground-truth image (center crop, bicubic resize)."""
    with _quiet_resize():
        return np.stack([read_truth(Path(p), tuple(image_shape)) for p in files])


class SmallCNN(nn.Module):
    """(B, C, S, S) in [0, 1] → (B, classes) logits; S divisible by 4."""

    def __init__(self, channels: int = 1, side: int = 32, classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16 × S/2
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 × S/4
            nn.Flatten(), nn.Linear(32 * (side // 4) ** 2, 64), nn.ReLU(),
            nn.Linear(64, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass(frozen=True)
class TrainOptions:
    """How the classifier is trained (all of it keys the cache file)."""

    seed: int = 0
    epochs: int = 2
    batch_size: int = 128
    lr: float = 1e-3
    limit: int | None = None  # training images used (None: all)


def fit(images: np.ndarray, labels: np.ndarray, options: TrainOptions = TrainOptions(),
        classes: int | None = None) -> SmallCNN:
    """Train a :class:`SmallCNN` on (N, C, S, S) images in [0, 1] with integer labels;
    weights and batch order drawn from ``options.seed`` alone."""
    classes = int(labels.max()) + 1 if classes is None else classes
    model = SmallCNN(images.shape[1], images.shape[-1], classes)
    reset_parameters_seeded(model, torch.Generator().manual_seed(options.seed))
    optimiser = torch.optim.Adam(model.parameters(), lr=options.lr)
    x, t = torch.from_numpy(images), torch.from_numpy(labels)
    rng = np.random.default_rng(options.seed)
    model.train()
    for _ in range(options.epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        for start in range(0, len(x), options.batch_size):
            batch = order[start:start + options.batch_size]
            loss = nn.functional.cross_entropy(model(x[batch]), t[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval()


def train(folder: str | Path, labels_path: str | Path, image_shape: tuple[int, int, int],
          options: TrainOptions = TrainOptions()) -> SmallCNN:
    """Train on the images of ``folder`` (their names index ``labels_path``)."""
    files = image_files(folder, options.limit)
    return fit(read_images(files, image_shape), labels_of(files, labels_path), options)


def cached_classifier(folder: str | Path, labels_path: str | Path,
                      image_shape: tuple[int, int, int], path: str | Path | None = None,
                      options: TrainOptions = TrainOptions()) -> SmallCNN:
    """The classifier of ``folder`` for ``image_shape``, trained on first use and kept at
    ``path`` (default ``benchmarks/.classifier_<key>.pt``, the key hashing the labels,
    the folder, the shape and the options)."""
    key = {"folder": str(Path(folder).resolve()), "labels": sha256_file(labels_path),
           "shape": list(image_shape), **asdict(options)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(path or cache_path(f"classifier_{digest}.pt"))
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["key"] == key:
            model = SmallCNN(*saved["arguments"])
            model.load_state_dict(saved["state_dict"])
            return model.eval()
    start = time.perf_counter()
    model = train(folder, labels_path, image_shape, options)
    print(f"[classifier] trained on {folder} in {time.perf_counter() - start:.0f} s",
          file=sys.stderr, flush=True)
    linear = model.net[-1]
    arguments = (image_shape[0], image_shape[-1], linear.out_features)
    atomic_write(path, lambda tmp: torch.save({"key": key, "arguments": arguments,
                                               "state_dict": model.state_dict()}, tmp),
                 overwrite=True)
    return model


def classify(model: SmallCNN, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """(B,) int64 classes of (B, C, S, S) float32 images in [0, 1]."""
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            chunk = torch.as_tensor(np.asarray(images[start:start + batch_size], np.float32))
            out.append(model(chunk).argmax(dim=1).numpy())
    return np.concatenate(out).astype(np.int64)
