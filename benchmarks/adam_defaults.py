"""Measure Adam's own defaults: learning rate and step cap, everything else as L-BFGS's.

``--optimizer adam`` replaces the optimiser-specific fields of the recommended settings
(lr, steps, line search) with Adam's measured ones (``gs.settings.OPTIMIZER_DEFAULTS``).
This script chose them: the recommended settings with Adam at each learning rate and
step cap, on the validation faces (never the test faces), compressed sensing at
m/n ≈ 0.08 and 0.33 and inpainting with 10 % of the pixels, DCGAN face weights, c = 1.

    python benchmarks/adam_defaults.py --weights weights/dcgan_faces.tar --images 8
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from cache import cached_artifact

from gs.artifacts import load
from gs.experiments.evalset import faces
from gs.invert import invert
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem

TASKS = [("cs", {"ratio": 0.08}), ("cs", {"ratio": 0.33}), ("inpaint", {"keep": 0.1})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--lrs", type=float, nargs="+", default=[0.01, 0.03, 0.1, 0.3])
    parser.add_argument("--steps", type=int, nargs="+", default=[400, 1000])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    art = load(cached_artifact(args.weights, 1), device="cpu")
    truths = [image for _, image in faces(args.images, split="val")]
    rows = []
    for task, options in TASKS:
        problems = [simulated_problem(Path(f"{i}"), i, t, OperatorOptions(task, **options), 0)
                    for i, t in enumerate(truths)]
        base = art.metadata.settings_for(task)
        for steps in args.steps:
            for lr in args.lrs:
                settings = base.override(optimizer="adam", lr=lr, steps=steps,
                                         line_search="none")
                start = time.perf_counter()
                results = invert(art, [p.operator for p in problems], [p.y for p in problems],
                                 settings, seed=0)
                seconds = (time.perf_counter() - start) / len(problems)
                scores = [psnr(r.image, p.truth) for r, p in zip(results, problems)]
                rows.append({"task": task, **options, "lr": lr, "steps": steps,
                             "psnr": float(np.mean(scores)), "worst": float(np.min(scores)),
                             "seconds": seconds})
                print(json.dumps(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
