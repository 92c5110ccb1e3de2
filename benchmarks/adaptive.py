"""Best-quality candidates (:mod:`gs.methods.adaptive`) on the validation photos.

Per photo: the defaults (``gs.invert.invert`` with the artifact's ``settings_for(task)``),
then every candidate continued from the defaults' recovery, and the classical answer (TV
for CS, bicubic for SR) to the same problem. Prints per photo the PSNR of the defaults'
generator image, of the classical answer and of each candidate, the held-out residuals,
seconds, steps and what stopped the candidate; then the means (PSNR gain over the
generator's image and over the classical answer, seconds per image). The defaults'
recoveries are kept in ``--cache`` (keyed by photo, task and seed), so sweeping the
candidates' hyperparameters re-runs only the candidates.

    python benchmarks/adaptive.py --faces 3 --other 3 --budget 40 \
        --set latent_lr=1e-3 weights_lr=3e-4
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from cache import cached_artifact

from gs.artifacts import load
from gs.experiments.evalset import faces, non_faces
from gs.invert import invert
from gs.methods import build_method
from gs.methods.adaptive import AdaptiveSettings, adaptive_candidates, project_on_fitted
from gs.methods.answer import held_out_score
from gs.methods.answer_scores import held_out_residuals
from gs.metrics import psnr
from gs.operators import GaussianCS, make_operator
from gs.problems import Problem, simulate
from gs.seeding import Stream, problem_rng


def problem_of(task: str, name: str, truth: np.ndarray, index: int, seed: int, ratio: float,
               scale: int) -> Problem:
    """The seeded problem of photo ``index`` (``name``): CS at ``ratio`` or SR ×``scale``."""
    rng = problem_rng(seed, index, Stream.OPERATOR)
    if task == "cs":
        operator = GaussianCS(round(ratio * truth.size), truth.shape, rng)
    else:
        operator = make_operator("sr", truth.shape, rng, scale=scale)
    y = simulate(truth, operator, problem_rng(seed, index, Stream.NOISE))
    return Problem(Path(name), index, operator, y, truth=truth)


def defaults_of(art, problem: Problem, task: str, seed: int, cache: Path | None):
    """The defaults' recovery of ``problem`` (from ``cache`` when it holds it)."""
    key = (cache / f"{problem.path}_{task}_{problem.index}_{seed}_"
                   f"{problem.operator.measurement_size}.pkl") if cache else None
    if key is not None and key.exists():
        return pickle.loads(key.read_bytes())
    start = time.perf_counter()
    recovery = invert(art, [problem.operator], [problem.y], art.metadata.settings_for(task),
                      seed=seed, image_indices=[problem.index])[0]
    recovery.seconds = time.perf_counter() - start
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(pickle.dumps(recovery))
    return recovery


def classical_name(task: str) -> str:
    """The classical answer compared: TV for CS, the task's classical method otherwise
    (bicubic for super-resolution)."""
    return "tv-cs" if task == "cs" else "classical"


def tv_of(problem: Problem, task: str, seed: int) -> np.ndarray:
    """The classical answer (:func:`classical_name`) to ``problem``."""
    return build_method(classical_name(task), task=task).solve([problem], seed=seed)[0].image


def back_projected(problem: Problem, recovery, image: np.ndarray) -> dict:
    """PSNR and held-out residual of ``image`` back-projected onto the fitted entries
    (IAGAN's last step), to measure whether ``AdaptiveSettings.back_projection`` helps."""
    projected = project_on_fitted(problem, image, recovery.held_out)
    return {"bp_psnr": psnr(projected, problem.truth),
            "bp_held_out": held_out_score(problem, projected, recovery.held_out)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--cut", type=int, default=1)
    parser.add_argument("--faces", type=int, default=3)
    parser.add_argument("--other", type=int, default=3)
    parser.add_argument("--task", choices=["cs", "sr"], default="cs")
    parser.add_argument("--ratio", type=float, default=0.08)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--budget", type=float, default=40.0, help="Seconds per image.")
    parser.add_argument("--names", nargs="+", default=["adaptive-surgery"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="Override fields of AdaptiveSettings (e.g. weights_lr=1e-3).")
    parser.add_argument("--cache", type=Path, default=None,
                        help="Folder keeping the defaults' recoveries between runs.")
    parser.add_argument("--no-tv", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    changes = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    settings = replace(AdaptiveSettings(), **changes)
    art = load(cached_artifact(args.weights, args.cut), device="cpu")
    photos = ([("face", *p) for p in faces(args.faces, split="val")]
              + [("other", *p) for p in non_faces(args.other, split="val")])
    print(f"settings: {settings}, budget {args.budget} s/image, task {args.task}", flush=True)
    rows = []
    for index, (kind, name, truth) in enumerate(photos):
        problem = problem_of(args.task, name, truth, index, args.seed, args.ratio, args.scale)
        recovery = defaults_of(art, problem, args.task, args.seed, args.cache)
        tv = None if args.no_tv else psnr(tv_of(problem, args.task, args.seed), truth)
        candidates = adaptive_candidates(art, problem, recovery, budget_seconds=args.budget,
                                         seed=args.seed, names=args.names, settings=settings)
        row = {"kind": kind, "photo": name, "generator": psnr(recovery.image, truth), "tv": tv,
               "defaults_seconds": recovery.seconds,
               "defaults_held_out": recovery.held_out_score,
               # per held-out entry, to choose the candidates' significance test offline
               "defaults_residuals": held_out_residuals(problem, recovery.image,
                                                        recovery.held_out).tolist(),
               "candidates": {c.name: {"psnr": psnr(c.image, truth),
                                       "held_out": c.held_out_score, "seconds": c.seconds,
                                       "steps": c.steps, "stopped_by": c.stopped_by,
                                       "residuals": c.held_out_residuals.tolist(),
                                       **back_projected(problem, recovery, c.image)}
                              for c in candidates}}
        rows.append(row)
        text = " | ".join(f"{n} {c['psnr']:.2f} dB held-out {c['held_out']:.3g} "
                          f"{c['seconds']:.1f} s {c['steps']} steps ({c['stopped_by']}); "
                          f"back-projected {c['bp_psnr']:.2f} dB held-out {c['bp_held_out']:.3g}"
                          for n, c in row["candidates"].items())
        tv_text = "-" if tv is None else f"{tv:.2f}"
        print(f"{kind:5s} {name:28s} generator {row['generator']:.2f} dB "
              f"(held-out {recovery.held_out_score:.3g}, {recovery.seconds:.1f} s) "
              f"{classical_name(args.task)} {tv_text} | {text}", flush=True)
    print(f"| photos | candidate | PSNR | gain over generator | gain over "
          f"{classical_name(args.task)} | s/image | steps | stopped by |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in ("face", "other", "all"):
        chosen = [r for r in rows if kind in ("all", r["kind"])]
        if not chosen:
            continue
        for name in args.names:
            p = np.array([r["candidates"][name]["psnr"] for r in chosen])
            gain = p - np.array([r["generator"] for r in chosen])
            over_tv = "-" if args.no_tv else f"{np.mean(p - [r['tv'] for r in chosen]):+.2f}"
            seconds = np.mean([r["candidates"][name]["seconds"] for r in chosen])
            steps = np.mean([r["candidates"][name]["steps"] for r in chosen])
            stops = sorted({r["candidates"][name]["stopped_by"] for r in chosen})
            print(f"| {kind} ({len(chosen)}) | {name} | {p.mean():.2f} | {gain.mean():+.2f} "
                  f"(min {gain.min():+.2f}) | {over_tv} | {seconds:.1f} | {steps:.0f} | "
                  f"{', '.join(stops)} |")
    if args.json:
        args.json.write_text(json.dumps({"settings": repr(settings), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
