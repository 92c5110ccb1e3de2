"""Choosing a task's answer rule on a folder of images: every rule from one fit per image.

Surgery's answer (:mod:`gs.methods.answer`) is chosen after the generator's fit: the
fit (the generator's image, its latents fitted without the held-out entries) does not
depend on ``blend_weights``, ``answer_margin`` or ``answer_confidence``. This script fits
each image once per held-out fraction (the task's recorded settings otherwise), keeps the
generator's image and the held-out entries in ``--store``, and then scores every rule of
the grid from them: the candidates' held-out residuals, the rule's pick, and the PSNR of
the image it returns (rebuilt from every measurement as surgery rebuilds it), beside the
task's classical answer on the same problems.

Run it on training or validation images only: a rule chosen on test images says nothing.

    python benchmarks/answer_rules.py --artifact colin27-vae_c3.pt \\
        --images colin27-mri-choice --n 10 --points "MRI x4" "MRI x8" --holdout 0.1 0.2
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
from classifier import image_files, read_images
from in_domain import POINTS

from gs.artifacts import load
from gs.methods import build_method
from gs.methods.answer import AnswerRule, Choice
from gs.methods.answer_choice import consistent_image, significant_leads, winning_candidate
from gs.methods.answer_scores import held_out_residuals
from gs.methods.blends import Blends
from gs.methods.surgery import Surgery
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem

_EIGHTHS = tuple(k / 8 for k in range(1, 9))
#: Largest blend weight allowed (the rule's candidates are the eighths up to it).
TOPS = (0.25, 0.5, 0.75, 1.0)
MARGINS = (0.0, 0.1, 0.25)
CONFIDENCES = (0.0, 1.0, 2.0, 3.0, 4.0)


def _problem(task: str, options: dict, image: np.ndarray, index: int, seed: int):
    return simulated_problem(Path(f"{index:05d}"), index, image,
                             OperatorOptions(task, **options), seed)


def capture(artifact, task: str, options: dict, images: np.ndarray, holdout: float,
            seed: int, batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(generator's image, held-out mask) per image, from surgery's own fit: the rule
    the settings record, whose chooser keeps the fit instead of choosing."""
    settings = artifact.metadata.settings_for(task).override(holdout=holdout)
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def keep(problem, generated, classical, held, rule, seed) -> Choice:
        kept[problem.index] = (np.asarray(generated, np.float32), np.asarray(held))
        return Choice(np.asarray(generated, np.float32), {"answer": "generator"})

    rule = replace(AnswerRule.from_settings(settings), chooser=keep)
    method = Surgery(artifact, task=task, settings=settings, rule=rule)
    for start in range(0, len(images), batch):
        problems = [_problem(task, options, images[i], i, seed)
                    for i in range(start, min(start + batch, len(images)))]
        method.solve(problems, seed=seed)
        print(f"[answer-rules] fitted images {start}–{start + len(problems) - 1}",
              file=sys.stderr, flush=True)
    return [kept[i] for i in range(len(images))]


def stored(store: Path, label: str, holdout: float, seed: int, files: list[Path],
           compute) -> list[tuple[np.ndarray, np.ndarray]]:
    """The captured fits, from ``store`` or computed and written there."""
    path = store / f"{label.replace(' ', '_')}_h{holdout:g}_s{seed}.npz"
    names = [f.name for f in files]
    if path.exists():
        data = np.load(path)
        if list(data["names"]) == names:
            return list(zip(data["generated"], data["held"]))
    fits = compute()
    store.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, names=np.array(names), generated=np.stack([g for g, _ in fits]),
                        held=np.stack([h for _, h in fits]))
    return fits


def rule_grid(problem, truth: np.ndarray, generated: np.ndarray, held: np.ndarray,
              classical, seed: int) -> dict:
    """Every (blend, top weight, margin, z) rule's pick and PSNR on one image, the
    candidates computed as surgery computes them (the classical fit from the generator's
    image)."""
    fit_classical = classical.answer_without(problem, held, start=generated)
    full = classical.solve([problem], seed=seed)[0].image
    out = {"classical": psnr(consistent_image(problem, full), truth)}
    for kind, weights in (("convex", _EIGHTHS), ("detail", (0.25, 0.5, 0.75, 1.0))):
        blend = Blends(problem, generated, classical, kind, seed, fit_classical, held)
        residuals = {"classical": held_out_residuals(problem, fit_classical, held)}
        for w in weights:
            residuals[f"{w:g}"] = held_out_residuals(problem, blend.fit(w), held)
        scores = {name: float(np.mean(r)) for name, r in residuals.items()}
        finals: dict[float, float] = {}
        for top, margin, z in itertools.product(TOPS, MARGINS, CONFIDENCES):
            allowed = {"classical"} | {f"{w:g}" for w in weights if w <= top}
            sub_scores = {k: v for k, v in scores.items() if k in allowed}
            sub_residuals = {k: v for k, v in residuals.items() if k in allowed}
            winner = winning_candidate(sub_scores, margin,
                                       significant_leads(sub_residuals, z))
            weight = 0.0 if winner == "classical" else float(winner)
            if weight not in finals:
                image = full if weight == 0 else blend.full(weight)
                finals[weight] = psnr(consistent_image(problem, image), truth)
            out[(kind, top, margin, z)] = (weight, finals[weight])
    return out


def run(args: argparse.Namespace) -> list[dict]:
    artifact = load(args.artifact, device="cpu")
    shape = tuple(artifact.metadata.image_shape)
    files = image_files(args.images, args.n)
    images = read_images(files, shape)
    rows = []
    for label, task, options in POINTS:
        if label not in args.points:
            continue
        classical = build_method("classical", task=task)
        for holdout in args.holdout:
            fits = stored(args.store, label, holdout, args.seed, files,
                          partial(capture, artifact, task, options, images, holdout,
                                  args.seed, args.batch))
            per_image = []
            for i, (generated, held) in enumerate(fits):
                problem = _problem(task, options, images[i], i, args.seed)
                per_image.append(rule_grid(problem, images[i], generated, held, classical,
                                           args.seed))
            base = np.array([r["classical"] for r in per_image])
            for rule in (k for k in per_image[0] if k != "classical"):
                picks = [r[rule] for r in per_image]
                values = np.array([p for _, p in picks])
                kinds = Counter("classical" if w == 0 else
                                "generator" if w == 1 and rule[0] == "convex" else "blend"
                                for w, _ in picks)
                rows.append({"point": label, "holdout": holdout, "blend": rule[0],
                             "top": rule[1], "margin": rule[2], "z": rule[3],
                             "psnr": float(values.mean()), "classical": float(base.mean()),
                             "gain": float((values - base).mean()),
                             "worst": float((values - base).min()),
                             "answers": dict(kinds), "per_image": values.round(2).tolist()})
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", type=Path, required=True)
    p.add_argument("--images", type=Path, required=True,
                   help="training or validation images (never the test split)")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--points", nargs="+", required=True)
    p.add_argument("--holdout", type=float, nargs="+", default=[0.1])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--store", type=Path, default=Path("answer_rules"),
                   help="folder keeping each fit (generator's image, held-out entries)")
    p.add_argument("--json", type=Path)
    return p


def main(argv: Sequence[str] | None = None) -> list[dict]:
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = run(args)
    for row in rows:
        print(f"{row['point']:>8} h={row['holdout']:<4g} {row['blend']:<6} β≤{row['top']:<4g} "
              f"margin {row['margin']:<4g} z {row['z']:g} | {row['psnr']:6.2f} dB "
              f"(classical {row['classical']:.2f}, gain {row['gain']:+.2f}, "
              f"worst {row['worst']:+.2f}) | {row['answers']}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
