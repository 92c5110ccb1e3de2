"""Which best-quality candidate to return: the rule measured on validation runs.

Reads the JSON files ``benchmarks/adaptive.py --json`` wrote (each photo's defaults'
generator image and every candidate, with their squared residuals on the held-out
entries) and prints, for each rule, the mean PSNR gain over the generator's image, the
worst photo and how many photos the rule left below it. A candidate qualifies when its
held-out score is lower by the relative ``margin`` and its paired lead
(:func:`gs.methods.answer_choice.paired_lead`) is more than ``z`` standard errors; of
those the rule returns the surest lead (``pick z``, :func:`surest_candidate`, what
``quality="best"`` does) or the lowest score (``pick score``).

    python benchmarks/adaptive.py --names adaptive-surgery dip --ratio 0.08 --json v8.json
    python benchmarks/adaptive.py --names adaptive-surgery dip --ratio 0.02 --json v2.json
    python benchmarks/candidate_rule.py v8.json v2.json
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from gs.methods.answer_choice import paired_lead, surest_candidate


def chosen_psnr(row: dict, pick: str, margin: float, z: float) -> float:
    """The PSNR of what the rule returns for one photo's ``row`` (the generator's image
    where no candidate qualifies)."""
    base = np.asarray(row["defaults_residuals"])
    candidates = row["candidates"]
    scores = {name: float(np.mean(c["residuals"])) for name, c in candidates.items()}
    leads = {name: paired_lead(base, np.asarray(c["residuals"]))
             for name, c in candidates.items()}
    if pick == "z":
        name = surest_candidate(float(np.mean(base)), scores, leads, margin, z)
    else:
        better = [n for n in scores if scores[n] < np.mean(base) * (1 - margin) and leads[n] > z]
        name = min(better, key=scores.__getitem__, default=None)
    return row["generator"] if name is None else candidates[name]["psnr"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="JSON files of benchmarks/adaptive.py.")
    parser.add_argument("--margins", nargs="+", type=float, default=[0.0, 0.1, 0.25])
    parser.add_argument("--z", nargs="+", type=float, default=[0, 1, 1.5, 2, 2.5, 3])
    args = parser.parse_args()
    rows = [row for run in args.runs for row in json.loads(run.read_text())["rows"]]
    for row in rows:
        base = np.asarray(row["defaults_residuals"])
        text = " | ".join(
            f"{name} {c['psnr'] - row['generator']:+.2f} dB, lead "
            f"{1 - np.mean(c['residuals']) / np.mean(base):+.0%}, "
            f"z {paired_lead(base, np.asarray(c['residuals'])):.2f}"
            for name, c in row["candidates"].items())
        print(f"{row['photo']:24s} k={base.size:3d} generator {row['generator']:.2f} | {text}")
    print(f"\n{len(rows)} problems\n| pick | margin | z | mean gain | worst | below |")
    print("|---|---|---|---|---|---|")
    for pick, margin, z in itertools.product(("z", "score"), args.margins, args.z):
        gains = np.array([chosen_psnr(row, pick, margin, z) - row["generator"] for row in rows])
        print(f"| {pick} | {margin:g} | {z:g} | {gains.mean():+.2f} | {gains.min():+.2f} | "
              f"{int(np.sum(gains < 0))} |")


if __name__ == "__main__":
    main()
