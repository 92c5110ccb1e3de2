"""No surgery vs surgery from noise vs progressive surgery on real photos (CS).

    python benchmarks/progressive.py --weights weights/dcgan_faces.tar --faces 4 --others 4

Prints, per measurement ratio and photo group, mean ± sd PSNR and seconds per image
for: c=0 (no surgery), c=1 from clamped-normal noise, and progressive 0→1. All photos
of a ratio are solved in one batch per method; seconds are per image of that batch.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from cache import cached_artifact
from photos import faces, non_faces

from gs.artifact import load
from gs.invert import invert, simulate
from gs.metrics import psnr
from gs.operators import GaussianCS
from gs.seeding import Stream, problem_rng


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--faces", type=int, default=4)
    parser.add_argument("--others", type=int, default=4)
    parser.add_argument("--ratios", default="0.02,0.08,0.33")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    arts = {}
    for c in (0, 1):
        arts[c] = load(cached_artifact(args.weights, c))
    photos = [("faces", img) for _, img in faces(args.faces)]
    photos += [("non-faces", img) for _, img in non_faces(args.others)]
    groups = [group for group, _ in photos]
    truths = [img for _, img in photos]
    methods = {
        "no surgery (c=0)": (arts[0], {}),
        "surgery c=1 from noise": (arts[1], {}),
        "progressive 0->1": (arts[1], {"schedule": (0, 1)}),
    }
    table = []
    print(f"{'photos':<10} {'m/n':>5} {'method':<24} {'PSNR mean ± sd':>16} {'s/img':>7}")
    for ratio in (float(r) for r in args.ratios.split(",")):
        m = round(ratio * truths[0].size)
        ops = [GaussianCS(m, t.shape, problem_rng(args.seed, i, Stream.OPERATOR))
               for i, t in enumerate(truths)]
        ys = [simulate(t, op, problem_rng(args.seed, i, Stream.NOISE))
              for i, (t, op) in enumerate(zip(truths, ops))]
        for name, (art, change) in methods.items():
            settings = art.metadata.settings_for("cs").override(**change)
            start = time.perf_counter()
            results = invert(art, ops, ys, settings, seed=args.seed)
            secs = (time.perf_counter() - start) / len(truths)
            scores = [psnr(r.image, t) for r, t in zip(results, truths)]
            for group in ("faces", "non-faces"):
                mine = [sc for sc, g in zip(scores, groups) if g == group]
                table.append({"photos": group, "ratio": ratio, "method": name, "psnr": mine,
                              "seconds_per_image": secs})
                print(f"{group:<10} {ratio:>5.2f} {name:<24} {np.mean(mine):>8.2f} ± "
                      f"{np.std(mine):<5.2f} {secs:>7.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
