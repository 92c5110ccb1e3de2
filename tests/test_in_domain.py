"""In its own domain, end to end: gs-train on a few hundred images, gs-export at c = 0 and
c = 1, and compressed sensing on held-out images of the same distribution, where surgery
must beat no surgery (the paper's claim, on a generator the test trains itself)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gs.artifacts import load
from gs.export import export_artifact
from gs.io import write_image
from gs.methods import build_method
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem
from gs.train.config import TrainConfig
from gs.train.fit import fit

pytestmark = pytest.mark.slow
SIDE = 16


def blobs(count: int, seed: int) -> np.ndarray:
    """(count, 1, 16, 16) float32 in [0, 1]: one or two soft bright discs on black, at
    random places and sizes — a family a small DCGAN learns in a few hundred steps."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    images = np.zeros((count, 1, SIDE, SIDE), np.float32)
    for image in images:
        for _ in range(rng.integers(1, 3)):
            cy, cx = rng.uniform(3, SIDE - 3, 2)
            radius = rng.uniform(2, 4.5)
            image[0] += 1 / (1 + np.exp((np.hypot(yy - cy, xx - cx) - radius) * 2.5))
    return np.clip(images, 0, 1)


def test_surgery_beats_no_surgery_on_held_out_images_of_the_training_domain(tmp_path: Path):
    train = tmp_path / "train"
    train.mkdir()
    for i, image in enumerate(blobs(384, seed=0)):
        write_image(train / f"{i:05d}.png", image)
    result = fit("dcgan", TrainConfig(
        data=train, out=tmp_path / "run", image_size=SIDE, channels=1, batch_size=32,
        max_steps=300, num_workers=0, seed=0, accelerator="cpu", devices=1,
        progress_bar=False, val_fraction=0.0, log_every=10,
        export_generator=tmp_path / "G.pth"),
        nz=16, ngf=16, ndf=16)
    paths = {cut: export_artifact(result.generator_state, tmp_path / f"G_c{cut}.pt", cut=cut,
                                  model="dcgan") for cut in (0, 1)}
    held_out = blobs(6, seed=1)  # the same distribution, never trained on
    options = OperatorOptions("cs", measurements=100)
    problems = [simulated_problem(Path(f"{i}"), i, image, options, seed=0)
                for i, image in enumerate(held_out)]
    scores = {}
    for cut, path in paths.items():
        artifact = load(path, device="cpu")
        method = build_method("surgery", task="cs", artifact=artifact)
        method = type(method)(artifact, task="cs", settings=method.settings.override(
            answer="generator"))  # the generator's own image: what surgery changes
        recovered = method.solve(problems, seed=0)
        scores[cut] = np.mean([psnr(r.image, x) for r, x in zip(recovered, held_out)])
    assert scores[1] > scores[0] + 3.0, scores
