"""One recovery from either format: the same artifact as TorchScript and as ONNX, through
the one-call API (``gs.Surgery``, what gs-invert gives), on the bundled photos.

Each photo is measured by the seeded CS operator (m measurements, seed 0, the photo's
index) and recovered with the artifact's recorded defaults (changed by ``--set``) through
both formats. With ``--perturb eps`` every observation is multiplied by ``1 + eps`` first
(eps = 2.4e-7 is about two float32 roundings): the recovery's own sensitivity to
rounding, on one format, to set against the gap between the two formats. Prints one row
per photo (PSNR and blend weight per format) and the summary: mean of each format, mean
and largest per-photo difference, photos more than 0.5 dB apart, equal blend weights.

    python benchmarks/format_parity.py --weights weights/dcgan_faces.tar --cut 1
    python benchmarks/format_parity.py ... --split val --faces 6 --others 5 --set patience=2
    python benchmarks/format_parity.py ... --perturb 2.4e-7 --formats pt
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from cache import cache_path, cached_artifact

import gs
from gs.experiments.evalset import faces, non_faces
from gs.metrics import psnr


def recover_all(art, photos, measurements: int, seed: int, perturb: float,
                changes: dict) -> list[dict]:
    """PSNR, answer, blend weight, evaluations and seconds of every photo on ``art``."""
    surgery = gs.Surgery(art, **changes)
    rows = []
    for index, (name, truth) in enumerate(photos):
        op = gs.operator("cs", art.metadata.image_shape, measurements=measurements,
                         seed=seed, index=index)
        y = np.asarray(op(truth)) * np.float32(1 + perturb)
        start = time.perf_counter()
        rec = surgery(y, op)
        rows.append({"photo": name, "psnr": psnr(rec.image, truth),
                     "answer": rec.details.get("answer"), "weight": rec.details.get("weight"),
                     "evaluations": rec.total_evaluations,
                     "seconds": time.perf_counter() - start})
        print(f"{name:22s} {rows[-1]['psnr']:6.2f} dB  {rows[-1]['answer']} "
              f"{rows[-1]['weight']}  {rows[-1]['evaluations']} evaluations  "
              f"{rows[-1]['seconds']:.0f} s", flush=True)
    return rows


def summary(results: dict[str, list[dict]]) -> None:
    """The per-photo table and, for two formats, how far apart they are."""
    formats = list(results)
    print("| photo | " + " | ".join(f"`.{f}`" for f in formats) + " |")
    print("|---|" + "---|" * len(formats))
    for k, row in enumerate(results[formats[0]]):
        cells = [f"{results[f][k]['psnr']:.2f} ({results[f][k]['weight']})" for f in formats]
        print(f"| {row['photo']} | " + " | ".join(cells) + " |")
    means = [np.mean([r["psnr"] for r in results[f]]) for f in formats]
    print("| mean | " + " | ".join(f"{m:.2f}" for m in means) + " |")
    if len(formats) == 2:
        a, b = (results[f] for f in formats)
        gaps = np.array([rb["psnr"] - ra["psnr"] for ra, rb in zip(a, b)])
        same = sum(ra["weight"] == rb["weight"] for ra, rb in zip(a, b))
        print(f"{formats[1]} − {formats[0]}: mean {gaps.mean():+.2f} dB, largest "
              f"{np.abs(gaps).max():.2f}, {int((np.abs(gaps) > 0.5).sum())} of {len(gaps)} "
              f"photos more than 0.5 dB apart, blend weight equal on {same}; evaluations "
              f"{np.mean([r['evaluations'] for r in a]):.0f} / "
              f"{np.mean([r['evaluations'] for r in b]):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--cut", type=int, default=1)
    parser.add_argument("--split", default="test", choices=["test", "val"])
    parser.add_argument("--faces", type=int, default=4)
    parser.add_argument("--others", type=int, default=0)
    parser.add_argument("--measurements", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perturb", type=float, default=0.0)
    parser.add_argument("--formats", nargs="+", default=["pt", "onnx"])
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="Override fields of the defaults (e.g. patience=2, "
                             'answer="generator").')
    args = parser.parse_args()
    photos = faces(args.faces, split=args.split) + non_faces(args.others, split=args.split)
    changes = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    results = {}
    for suffix in args.formats:
        art = gs.load(cached_artifact(args.weights, args.cut,
                                      path=cache_path(f"dcgan_c{args.cut}.{suffix}")))
        results[suffix] = recover_all(art, photos, args.measurements, args.seed,
                                      args.perturb, changes)
    summary(results)


if __name__ == "__main__":
    main()
