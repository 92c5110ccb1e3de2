"""The defaults against the classical answer, on every task (the product as users run it).

For each task point, the same real photos and measurements (problems from
``gs.problems.simulated_problem`` keyed by (seed, image index)) are recovered by the
task's classical answer (``classical``: TV least squares, biharmonic interpolation,
bicubic, BM3D), by no surgery (the c = 0 generator alone) and by surgery with the
artifact's recorded defaults (``surgery``: per task the answer of
``gs.settings.MEASURED_DEFAULTS``). Prints, per photo group, the mean ± sd PSNR of each,
surgery's gap to the classical answer on the mean and on its worst photo, which answers
surgery returned, and the seconds per image.

    python benchmarks/classical.py --weights weights/dcgan_faces.tar --split test
    python benchmarks/classical.py --split val     # the photos the defaults were chosen on
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path

import numpy as np
import torch
from cache import cached_artifact

from gs.artifacts import load
from gs.experiments.evalset import faces, non_faces
from gs.methods import build_method
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem

#: (label, task, options) of every task point measured.
POINTS = [
    ("CS 8 %", "cs", {"ratio": 0.08}),
    ("CS 33 %", "cs", {"ratio": 0.33}),
    ("inpainting 10 %", "inpaint", {"keep": 0.10}),
    ("inpainting 5 %", "inpaint", {"keep": 0.05}),
    ("SR x4", "sr", {"scale": 4}),
    ("SR x8", "sr", {"scale": 8}),
    ("denoising 0.05", "denoise", {"noise_std": 0.05}),
    ("denoising 0.1", "denoise", {"noise_std": 0.1}),
    ("denoising 0.2", "denoise", {"noise_std": 0.2}),
]
METHODS = ("classical", "no-surgery", "surgery")


def measure(artifact, label: str, task: str, options: dict, photos, seed: int) -> dict:
    """PSNR per photo and seconds per image of every method on one task point."""
    problems = [simulated_problem(Path(name), i, image, OperatorOptions(task, **options), seed)
                for i, (name, image, _) in enumerate(photos)]
    row: dict = {"label": label, "groups": [group for _, _, group in photos]}
    for name in METHODS:
        method = build_method(name, task=task, artifact=artifact)
        start = time.perf_counter()
        results = method.solve(problems, seed=seed)
        row[name] = {"psnr": [psnr(r.image, p.truth) for r, p in zip(results, problems)],
                     "seconds": (time.perf_counter() - start) / len(problems),
                     "answers": [r.details.get("answer") for r in results]}
    return row


def print_row(row: dict) -> None:
    for group in ("faces", "other"):
        idx = [i for i, g in enumerate(row["groups"]) if g == group]
        if not idx:
            continue
        values = {name: np.array(row[name]["psnr"])[idx] for name in METHODS}
        gap = values["surgery"] - values["classical"]
        answers = collections.Counter(row["surgery"]["answers"][i] for i in idx)
        cells = " | ".join(f"{values[n].mean():.2f} ± {values[n].std():.2f}" for n in METHODS)
        print(f"| {row['label']} | {group} | {cells} | {gap.mean():+.2f} ({gap.min():+.2f}) | "
              f"{', '.join(f'{a} {k}' for a, k in sorted(answers.items()))} | "
              + " / ".join(f"{row[n]['seconds']:.1f}" for n in METHODS) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--split", choices=("test", "val"), default="test")
    parser.add_argument("--faces", type=int, default=8)
    parser.add_argument("--others", type=int, default=None, help="default: all of the split")
    parser.add_argument("--points", nargs="*", default=[label for label, _, _ in POINTS])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    artifact = load(cached_artifact(args.weights, 1), device="cpu")
    others = args.others if args.others is not None else (7 if args.split == "test" else 5)
    photos = ([(n, im, "faces") for n, im in faces(args.faces, split=args.split)]
              + [(n, im, "other") for n, im in non_faces(others, split=args.split)])
    print("| task | photos | classical | no surgery (c=0) | surgery (c=1), defaults | "
          "surgery − classical: mean (worst photo) | surgery's answers | s/img |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for label, task, options in POINTS:
        if label in args.points:
            rows.append(measure(artifact, label, task, options, photos, args.seed))
            print_row(rows[-1])
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
