"""Choose the Lasso weight alpha per transform and task on validation photos.

    nice -n 19 .venv/bin/python -m benchmarks.lasso_alpha [--images 3]

Prints mean PSNR per alpha of the grid and the best one per (transform, task);
the chosen values are written into gs/methods/presets/table.py by hand (BENCHMARKS.md,
"Baselines"). Test photos (benchmarks/photos.py) are never used here.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.validation import validation_photos
from gs.methods.lasso import LassoDCT, LassoWavelet
from gs.methods.presets import LassoSettings
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem

TASKS = {
    "cs": OperatorOptions(task="cs", ratio=0.08),
    "inpaint": OperatorOptions(task="inpaint", keep=0.08),
    "sr": OperatorOptions(task="sr", scale=4),
    "denoise": OperatorOptions(task="denoise"),
}
GRID = (3e-3, 1e-2, 3e-2, 1e-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--methods", default="lasso-dct,lasso-wavelet",
                        help="comma-separated: lasso-dct, lasso-wavelet")
    parser.add_argument("--grid", default=",".join(f"{a:g}" for a in GRID),
                        help="comma-separated alphas")
    args = parser.parse_args()
    photos = validation_photos(args.images)
    for task in args.tasks.split(","):
        problems = [simulated_problem(name, i, img, TASKS[task], 0)
                    for i, (name, img) in enumerate(photos)]
        for cls in (c for c in (LassoDCT, LassoWavelet) if c.name in args.methods.split(",")):
            scores = {}
            for alpha in [float(a) for a in args.grid.split(",")]:
                results = cls(LassoSettings(alpha=alpha)).solve(problems)
                scores[alpha] = float(np.mean([psnr(r.image, img) for r, (_, img)
                                               in zip(results, photos)]))
                print(f"{cls.name:14s} {task:8s} alpha={alpha:<6g} {scores[alpha]:.2f} dB",
                      flush=True)
            best = max(scores, key=scores.get)
            print(f"BEST {cls.name} {task} alpha={best:g} ({scores[best]:.2f} dB)", flush=True)


if __name__ == "__main__":
    main()
