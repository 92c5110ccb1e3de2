"""Inversion speed and quality: the paper's protocol against the defaults, same run.

Paper protocol: one image at a time, R = 3 restarts in sequence, each a plain
``torch.optim.LBFGS(lr, max_iter=20)`` loop of 25 steps from noise at the cut,
the last iterate, the best restart by measurement loss (what the supplement's
Table 1 prescribes). Defaults: what ``gs-invert`` returns, ``gs.Surgery`` with the
settings recorded in the artifact (``settings_for(task)``: the generator's inversion,
then the answer rule's TV fits and held-out choice), the images of a group in one batch,
as gs-invert batches a folder; each result's ``stage_seconds`` splits its time. The two
are interleaved group by group (``--group`` images: the paper protocol on each, then the
defaults on the group), so that a CPU shared with other work slows both alike; the table
reports medians of the per-image times (a group's time divided by its images) and their
ratio.

    python benchmarks/speed.py --weights weights/dcgan_faces.tar --images 8 \
        --measurements 1000 4000 --json /tmp/speed.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from cache import cached_artifact
from photos import faces
from torch.utils.flop_counter import FlopCounterMode

from gs.artifacts import load
from gs.methods.surgery import Surgery
from gs.metrics import psnr
from gs.operators import GaussianCS
from gs.problems import Problem, simulate
from gs.seeding import Stream, problem_rng
from gs.testing.reference import paper_protocol


def paper_best(art, op, y: np.ndarray, settings, seed: int, index: int
               ) -> tuple[np.ndarray, int]:
    """One image, the plain torch loop; the best restart's image (clipped to [0, 1]) and
    the evaluations of all restarts."""
    outcomes = paper_protocol(art, op, y, settings, seed, index)
    best = min(outcomes, key=lambda outcome: outcome[0])
    return np.clip(best[1], 0, 1), sum(evaluations for _, _, evaluations in outcomes)


def flops_per_evaluation(art, op, y: np.ndarray) -> int:
    """Floating-point operations of one row's objective: generator, A, and their backward."""
    x = torch.as_tensor(art.spec.sample(problem_rng(0, 0, Stream.INIT), 1)[0],
                        device=art.device).requires_grad_(True)
    y_t = torch.as_tensor(y, device=art.device)
    with FlopCounterMode(display=False) as counter:
        ((op.A(art.generator(x)) - y_t) ** 2).mean().backward()
    return int(counter.get_total_flops())


def measure(art, truths, m: int, seed: int, changes: dict, group: int) -> dict:
    """Both protocols on every image, interleaved; per-image seconds, PSNR, evaluations."""
    paper = art.metadata.settings_for("cs", preset="paper")
    defaults = art.metadata.settings_for("cs").override(**changes)
    rows = {"paper": [], "defaults": []}
    ops = [GaussianCS(m, t.shape, problem_rng(seed, i, Stream.OPERATOR))
           for i, t in enumerate(truths)]
    ys = [simulate(t, op, problem_rng(seed, i, Stream.NOISE))
          for i, (t, op) in enumerate(zip(truths, ops))]
    for first in range(0, len(truths), group):
        members = list(range(first, min(first + group, len(truths))))
        for i in members:
            start = time.perf_counter()
            image, evaluations = paper_best(art, ops[i], ys[i], paper, seed, i)
            rows["paper"].append({"seconds": time.perf_counter() - start,
                                  "evaluations": evaluations, "psnr": psnr(image, truths[i])})
        problems = [Problem(None, i, ops[i], ys[i], truths[i]) for i in members]
        start = time.perf_counter()
        results = Surgery(art, task="cs", settings=defaults).solve(problems, seed=seed)
        seconds = (time.perf_counter() - start) / len(members)
        for i, result in zip(members, results):
            rows["defaults"].append({"seconds": seconds, "evaluations": result.total_evaluations,
                                     "psnr": psnr(result.image, truths[i]),
                                     "stage_seconds": result.stage_seconds,
                                     "answer": result.details.get("answer")})
        print(f"m={m} images {members}: paper {rows['paper'][-len(members):]} "
              f"defaults {rows['defaults'][-len(members):]}", flush=True)
    flops = flops_per_evaluation(art, ops[0], ys[0])
    return {"measurements": m, "ratio": m / truths[0].size, "flops_per_evaluation": flops,
            "settings": defaults.to_json(), **rows}


def summarise(run: dict) -> str:
    """The markdown rows of one ratio: medians, speed-up, mean/worst PSNR, GFLOP/s."""
    lines = []
    med = {k: float(np.median([r["seconds"] for r in run[k]])) for k in ("paper", "defaults")}
    for key, label in (("paper", "paper protocol (`--preset paper`)"), ("defaults", "defaults")):
        rows = run[key]
        p = [r["psnr"] for r in rows]
        evals = [r["evaluations"] for r in rows]
        rate = run["flops_per_evaluation"] * sum(evals) / sum(r["seconds"] for r in rows) / 1e9
        stages = {stage: float(np.median([r["stage_seconds"].get(stage, 0.0) for r in rows]))
                  for stage in ("fit", "answer")} if key == "defaults" else {}
        split = " / ".join(f"{v:.2f}" for v in stages.values()) or "–"
        lines.append(f"| {run['ratio']:.2f} | {label} | {med[key]:.2f} | {split} | "
                     f"{med['paper'] / med[key]:.1f}× | {np.mean(p):.2f} ± {np.std(p):.2f} | "
                     f"{np.min(p):.2f} | {np.median(evals):.0f} | {rate:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--artifact", type=Path, default=None)
    parser.add_argument("--cut", type=int, default=1)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--measurements", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--group", type=int, default=2,
                        help="Images per interleaved group (the defaults' batch).")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="Override fields of the defaults (e.g. precision=bf16).")
    parser.add_argument("--json", type=Path, default=None, help="Also write results here.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    artifact = args.artifact or cached_artifact(args.weights, args.cut)
    art = load(artifact, device=args.device)
    changes = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    truths = [img for _, img in faces(args.images)]
    runs = [measure(art, truths, m, args.seed, changes, args.group) for m in args.measurements]
    print(f"machine: {platform.processor() or platform.machine()}, {args.threads} threads, "
          f"device {args.device}, torch {torch.__version__}")
    print("| m/n | protocol | median s/img | of which fit / answer | speed-up | "
          "PSNR mean ± sd | worst | evaluations/img | GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        print(summarise(run))
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
