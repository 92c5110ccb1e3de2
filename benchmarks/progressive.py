"""Surgery against no surgery with the defaults: the supplement's Table 2 protocol.

For each task (inpainting with 5 % and 10 % of the pixels, 4× and 8× super-
resolution, Gaussian CS at m/n ≈ 0.08) the same real faces are recovered by the
DCGAN face generator at c = 0 (no surgery) and at the artifact's cut, each with
the settings recorded in its artifact (``settings_for(task)``: at c ≥ 1
progressive surgery from c = 0). All faces of a task are solved in one batch.
Prints mean ± sd and worst PSNR, and the worst per-image gain of surgery.

    python benchmarks/progressive.py --weights weights/dcgan_faces.tar --images 8
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from cache import cached_artifact
from photos import faces

from gs.artifacts import load
from gs.invert import invert
from gs.metrics import psnr
from gs.operators import make_operator
from gs.problems import simulate
from gs.seeding import Stream, problem_rng

# (label, task, operator options)
TASKS = [
    ("Inp (5%)", "inpaint", {"keep": 0.05}),
    ("Inp (10%)", "inpaint", {"keep": 0.10}),
    ("SR (4x)", "sr", {"scale": 4}),
    ("SR (8x)", "sr", {"scale": 8}),
    ("CS (m/n 0.08)", "cs", {"measurements": 1000}),
]


def solve(art, task: str, options: dict, truths: list[np.ndarray], seed: int) -> dict:
    ops = [make_operator(task, t.shape, problem_rng(seed, i, Stream.OPERATOR), **options)
           for i, t in enumerate(truths)]
    ys = [simulate(t, op, problem_rng(seed, i, Stream.NOISE)) for i, (t, op) in
          enumerate(zip(truths, ops))]
    start = time.perf_counter()
    results = invert(art, ops, ys, art.metadata.settings_for(task), seed=seed)
    return {"psnr": [psnr(r.image, t) for r, t in zip(results, truths)],
            "seconds_per_image": (time.perf_counter() - start) / len(truths),
            "evaluations": [r.total_evaluations for r in results]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--cut", type=int, default=1)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--tasks", nargs="*", default=[label for label, _, _ in TASKS])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    arts = {c: load(cached_artifact(args.weights, c)) for c in (0, args.cut)}
    truths = [img for _, img in faces(args.images)]
    rows = {}
    print(f"| task | no surgery (c=0) | worst | surgery (c={args.cut}) | worst | "
          f"gain, worst image | s/img c=0 / c={args.cut} |")
    print("|---|---|---|---|---|---|---|")
    for label, task, options in TASKS:
        if label not in args.tasks:
            continue
        runs = {c: solve(art, task, options, truths, args.seed) for c, art in arts.items()}
        rows[label] = runs
        p0, p1 = np.array(runs[0]["psnr"]), np.array(runs[args.cut]["psnr"])
        print(f"| {label} | {p0.mean():.2f} ± {p0.std():.2f} | {p0.min():.2f} | "
              f"{p1.mean():.2f} ± {p1.std():.2f} | {p1.min():.2f} | "
              f"{p1.mean() - p0.mean():+.2f} dB, {np.min(p1 - p0):+.2f} dB | "
              f"{runs[0]['seconds_per_image']:.1f} / {runs[args.cut]['seconds_per_image']:.1f} |",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
