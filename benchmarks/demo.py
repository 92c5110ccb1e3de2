"""``make demo``: surgery vs no surgery on real photos with the public DCGAN face weights.

Exports c=0 and c=1 artifacts, recovers real photos from Gaussian measurements at
m/n = 8% and 33%, prints a PSNR table and writes an image grid.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from cache import cached_artifact
from photos import faces, non_faces

from gs.artifacts import load
from gs.invert import invert
from gs.io import image_grid, write_image
from gs.metrics import psnr
from gs.operators import GaussianCS
from gs.problems import simulate
from gs.seeding import Stream, problem_rng


def run(weights: Path, out: Path, n_faces: int, n_other: int, seed: int,
        steps: int | None = None) -> dict[float, dict[int, list[float]]]:
    """Run the demo; return PSNRs by ratio and cut. ``steps`` overrides for smoke runs."""
    out.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for c in (0, 1):
        artifacts[c] = load(cached_artifact(weights, c, path=out / f"dcgan_c{c}.pt"))
    size = artifacts[0].metadata.image_shape[1]
    photos = faces(n_faces, size) + non_faces(n_other, size)
    names = [name for name, _ in photos]
    truths = [img for _, img in photos]
    n = truths[0].size
    table: dict[float, dict[int, list[float]]] = {}
    rows = [list(truths)]
    captions = [list(names)]
    print(f"{'m/n':>5} {'m':>5} | {'no surgery (c=0)':>17} | {'surgery (c=1)':>14} | seconds/image")
    for ratio in (0.08, 0.33):
        m = round(ratio * n)
        ops = [GaussianCS(m, img.shape, problem_rng(seed, i, Stream.OPERATOR))
               for i, img in enumerate(truths)]
        ys = [simulate(img, op, problem_rng(seed, i, Stream.NOISE))
              for i, (img, op) in enumerate(zip(truths, ops))]
        scores, secs = {}, {}
        for c, art in artifacts.items():
            start = time.perf_counter()
            settings = art.metadata.settings_for("cs").override(steps=steps)
            results = invert(art, ops, ys, settings, seed=seed)
            secs[c] = (time.perf_counter() - start) / len(truths)
            scores[c] = [psnr(r.image, t) for r, t in zip(results, truths)]
            rows.append([r.image for r in results])
            label = "no surgery" if c == 0 else f"surgery c={c}"
            captions.append([f"{label}, {ratio:.0%}\n{value:.2f} dB" for value in scores[c]])
            for name, value in zip(names, scores[c]):
                print(f"      {name:>16} c={c} m={m}: {value:.2f} dB")
        table[ratio] = scores
        print(f"{ratio:>5.2f} {m:>5} | {np.mean(scores[0]):>9.2f} ± {np.std(scores[0]):.2f} | "
              f"{np.mean(scores[1]):>7.2f} ± {np.std(scores[1]):.2f} | "
              f"{secs[0]:.1f} / {secs[1]:.1f}")
    grid = out / "demo_grid.png"
    write_image(grid, image_grid(rows, captions=captions, scale=2), overwrite=True)
    print(f"grid (rows: truth, then c=0 and c=1 at 8%, then at 33%): {grid}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--faces", type=int, default=4)
    parser.add_argument("--others", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="Override (smoke runs).")
    args = parser.parse_args()
    run(args.weights, args.out, args.faces, args.others, args.seed, args.steps)


if __name__ == "__main__":
    main()
