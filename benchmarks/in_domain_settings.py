"""Choosing an in-domain generator's defaults on its validation images (never its test split).

For a generator trained by ``gs-train`` on a dataset's training folder, the images
``gs-train`` held out of training (:func:`gs.train.data.is_validation`, its seed and
``--val-fraction``) are the validation set. Each candidate (the artifact's cut and a
change to the task's recorded settings) recovers the same problems as the task's
classical answer; the mean PSNR of each is printed per task point. The changes that win
are what ``gs.weights`` records for that generator (``recommended``), so that
``gs-export --pretrained NAME`` writes them into the artifact.

    python benchmarks/in_domain_settings.py --artifact mnist_c3.pt \\
        --train-images data/mnist/train --n 30 --cuts 1 2 --points "SR x2" "denoising 0.2"
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from classifier import read_images
from in_domain import POINTS, ResultCache, measure

from gs.artifacts import load
from gs.methods import build_method
from gs.methods.surgery import Surgery
from gs.train.data import split_files

_EIGHTHS = tuple(k / 8 for k in range(1, 9))

#: Candidate changes to a task's recorded settings, by name (``recorded``: none).
CANDIDATES: dict[str, dict] = {
    "recorded": {},
    "recorded, z 2": {"answer_confidence": 2.0},
    "generator": {"answer": "generator"},
    "held-out convex": {"answer": "held_out", "blend": "convex", "blend_weights": _EIGHTHS,
                        "answer_margin": 0.1},
    "held-out convex, no margin": {"answer": "held_out", "blend": "convex",
                                   "blend_weights": _EIGHTHS, "answer_margin": 0.0},
    "held-out detail": {"answer": "held_out", "blend": "detail",
                        "blend_weights": (0.25, 0.5, 0.75, 1.0), "answer_margin": 0.0},
    "held-out detail, z 2": {"answer": "held_out", "blend": "detail",
                             "blend_weights": (0.25, 0.5, 0.75, 1.0), "answer_margin": 0.0,
                             "answer_confidence": 2.0},
    "held-out convex, z 2": {"answer": "held_out", "blend": "convex", "blend_weights": _EIGHTHS,
                             "answer_margin": 0.0, "answer_confidence": 2.0},
    "restarts 6": {"restarts": 6},
    "restarts 10": {"restarts": 10},
    "every restart to the end": {"keep_restarts_after": 0},
    "tolerance 1e-4": {"tolerance": 1e-4},
    "schedule 0, 1, 2": {"schedule": (0, 1, 2)},
    "holdout 0.2": {"holdout": 0.2},
    "holdout 0.15": {"holdout": 0.15},
    "margin 0": {"answer_margin": 0.0},
    "detail eighths": {"blend_weights": _EIGHTHS},
    "ensemble 2": {"ensemble": 2},
    "ensemble 3": {"ensemble": 3},
    "ensemble 4": {"ensemble": 4},
    "ensemble 6": {"ensemble": 6},
    "ensemble 4, restarts 1": {"ensemble": 4, "restarts": 1},
}


def validation_files(folder: Path, n: int, seed: int, val_fraction: float) -> list[Path]:
    """The first ``n`` images ``gs-train`` held out of ``folder`` (sorted)."""
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))
    _, held = split_files(names, seed, val_fraction)
    return [folder / name for name in held[:n]]


def run(args: argparse.Namespace) -> list[dict]:
    artifact = load(args.artifact, device="cpu")
    shape = tuple(artifact.metadata.image_shape)
    images = read_images(validation_files(args.train_images, args.n, args.train_seed,
                                          args.val_fraction), shape)
    cache = ResultCache(args.cache)
    rows = []
    for label, task, options in POINTS:
        if label not in args.points:
            continue
        classical = build_method("classical", task=task)
        records = measure(classical, label, task, options, images, args.seed, cache,
                          args.batch, "classical")
        rows.append({"point": label, "candidate": "classical", "cut": None,
                     "psnr": float(np.mean([r["psnr"] for r in records]))})
        for cut in args.cuts:
            for name in args.candidates:
                settings = artifact.metadata.settings_for(task).override(**CANDIDATES[name])
                method = Surgery(artifact, task=task, cut=cut, settings=settings)
                records = measure(method, label, task, options, images, args.seed, cache,
                                  args.batch, f"c={cut} {name}")
                rows.append({"point": label, "candidate": name, "cut": cut,
                             "psnr": float(np.mean([r["psnr"] for r in records])),
                             "answers": dict(Counter(str(r["answer"]) for r in records))})
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", type=Path, required=True,
                   help="the generator exported at its deepest candidate cut")
    p.add_argument("--train-images", type=Path, required=True,
                   help="the folder gs-train trained on; its held-out images are used")
    p.add_argument("--train-seed", type=int, default=0, help="gs-train's --seed")
    p.add_argument("--val-fraction", type=float, default=0.05, help="gs-train's --val-fraction")
    p.add_argument("--n", type=int, default=30)
    p.add_argument("--cuts", type=int, nargs="+", default=[1])
    p.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    p.add_argument("--points", nargs="+", default=[label for label, _, _ in POINTS])
    p.add_argument("--seed", type=int, default=1, help="problems' seed (test runs use 0)")
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--cache", type=Path, default=Path(__file__).with_name(".in_domain.jsonl"))
    p.add_argument("--json", type=Path)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    rows = run(args)
    for row in rows:
        cut = "" if row["cut"] is None else f"c={row['cut']} "
        print(f"{row['point']:>16} | {cut}{row['candidate']:<28} | {row['psnr']:6.2f} dB | "
              f"{row.get('answers', '')}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
