"""`--quality best` against the defaults and the strong baselines, on the test photos.

Per task point (CS 2 / 8 / 33 %, SR ×4) and photo (the test split's faces and other
photos, 64 px), every method solves the same problem (``gs.problems.simulated_problem``
keyed by (seed, photo index)): the task's classical answer, surgery with the artifact's
defaults (``quality="fast"``), surgery with ``quality="best"`` (its ``--budget``), and on
the first ``--slow`` photos of each group Deep Image Prior, IAGAN and mGANprior at their
papers' budgets (their presets). Each result is appended to ``--cache`` (JSON lines) as
soon as it exists, so a run can be interrupted and extended; ``--table`` prints PSNR
mean ± sd and seconds per image per group and method, and best − defaults per photo.

    python benchmarks/quality.py --faces 4 --others 4 --points "CS 8 %" --slow 2 \\
        --cache /tmp/quality.jsonl
    python benchmarks/quality.py --cache /tmp/quality.jsonl --table \\
        --plot docs/results/quality.png
"""

from __future__ import annotations

import argparse
import json
import platform
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from cache import cached_artifact

from gs.artifacts import load
from gs.experiments.evalset import faces, non_faces
from gs.methods import build_method
from gs.methods.generators import load_full_generator
from gs.methods.presets import auto_preset
from gs.methods.surgery import Surgery
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem

POINTS = {"CS 2 %": ("cs", {"ratio": 0.02}), "CS 8 %": ("cs", {"ratio": 0.08}),
          "CS 33 %": ("cs", {"ratio": 0.33}), "SR x4": ("sr", {"scale": 4})}
FAST_METHODS = ("classical", "defaults", "best")
SLOW_METHODS = ("dip", "iagan", "mganprior")


def build(name: str, task: str, artifact, weights: Path, budget: float):
    """The method ``name`` for ``task`` (baselines at their presets: the papers' budgets)."""
    if name == "classical":
        return build_method("classical", task=task)
    if name in ("defaults", "best"):
        settings = artifact.metadata.settings_for(task)
        if name == "best":
            settings = settings.override(quality="best", budget=budget)
        return Surgery(artifact, task=task, settings=settings)
    if name == "dip":
        return build_method("dip", task=task)
    generator = load_full_generator(weights, "dcgan")
    return build_method(name, task=task, generator=generator,
                        settings=auto_preset(name, model="dcgan"))


def done(cache: Path) -> set[tuple[str, str, str]]:
    if not cache.exists():
        return set()
    return {(r["point"], r["method"], r["photo"])
            for r in map(json.loads, cache.read_text().splitlines())}


def run(args: argparse.Namespace) -> None:
    artifact = load(cached_artifact(args.weights, 1), device="cpu")
    photos = ([(n, im, "faces") for n, im in faces(args.faces, split="test")]
              + [(n, im, "other") for n, im in non_faces(args.others, split="test")])
    slow = {name for group in args.slow_groups
            for name, _, _ in [p for p in photos if p[2] == group][:args.slow]}
    finished = done(args.cache)
    for point in args.points:
        task, options = POINTS[point]
        for name in args.methods:
            method = None
            for index, (photo, image, group) in enumerate(photos):
                if (point, name, photo) in finished or (name in SLOW_METHODS
                                                        and photo not in slow):
                    continue
                method = method or build(name, task, artifact, args.weights, args.budget)
                problem = simulated_problem(Path(photo), index, image,
                                            OperatorOptions(task, **options), args.seed)
                (result,) = method.solve([problem], seed=args.seed)
                record = {"point": point, "method": name, "photo": photo, "group": group,
                          "psnr": psnr(result.image, image), "seconds": result.seconds,
                          "stage_seconds": result.stage_seconds,
                          "answer": result.details.get("answer"),
                          "machine": f"{platform.machine()}, {torch.get_num_threads()} threads"}
                with open(args.cache, "a") as handle:
                    handle.write(json.dumps(record) + "\n")
                print(f"{point:8s} {name:10s} {photo:22s} {record['psnr']:6.2f} dB "
                      f"{result.seconds:7.1f} s {record['answer']}", flush=True)


def table(cache: Path) -> None:
    records = [json.loads(line) for line in cache.read_text().splitlines()]
    by = defaultdict(dict)
    for r in records:
        by[(r["point"], r["group"], r["method"])][r["photo"]] = r
    methods = [m for m in (*FAST_METHODS, *SLOW_METHODS)
               if any(key[2] == m for key in by)]
    print("| task | photos | " + " | ".join(methods) + " | best − defaults: mean (worst) |")
    print("|---|---|" + "---|" * (len(methods) + 1))
    for point in POINTS:
        for group in ("faces", "other"):
            cells = []
            for m in methods:
                rows = list(by.get((point, group, m), {}).values())
                if not rows:
                    cells.append("")
                    continue
                p = np.array([r["psnr"] for r in rows])
                s = np.median([r["seconds"] for r in rows])
                cells.append(f"{p.mean():.2f} ± {p.std():.2f} ({len(p)}), {s:.1f} s")
            best, fast = by.get((point, group, "best"), {}), by.get((point, group, "defaults"), {})
            gain = [best[k]["psnr"] - fast[k]["psnr"] for k in best if k in fast]
            if any(cells):
                gap = f"{np.mean(gain):+.2f} ({np.min(gain):+.2f})" if gain else ""
                print(f"| {point} | {group} | " + " | ".join(cells) + f" | {gap} |")


def plot(cache: Path, out: Path) -> None:
    """PSNR against seconds per image: one panel per task point, each method a point per
    photo group (mean PSNR, median seconds, log time axis), the defaults and best marked."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in cache.read_text().splitlines()]
    points = [p for p in POINTS if any(r["point"] == p for r in records)]
    fig, axes = plt.subplots(1, len(points), figsize=(4 * len(points), 3.6), squeeze=False)
    for ax, point in zip(axes[0], points):
        for group, marker in (("faces", "o"), ("other", "s")):
            for method in (*FAST_METHODS, *SLOW_METHODS):
                rows = [r for r in records if (r["point"], r["group"], r["method"])
                        == (point, group, method)]
                if not rows:
                    continue
                seconds = max(float(np.median([r["seconds"] for r in rows])), 1e-2)
                value = float(np.mean([r["psnr"] for r in rows]))
                bold = method in ("defaults", "best")
                colour = f"C{(*FAST_METHODS, *SLOW_METHODS).index(method)}"
                ax.scatter(seconds, value, marker=marker, s=60 if bold else 30, c=colour,
                           edgecolors="black" if bold else "none")
                ax.annotate(f"{method}", (seconds, value), fontsize=7,
                            xytext=(3, 3), textcoords="offset points",
                            fontweight="bold" if bold else "normal")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{point} (o faces, □ other)", fontsize=9)
        ax.set_xlabel("seconds per image (median)")
        ax.set_ylabel("PSNR (dB, mean)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--faces", type=int, default=4)
    parser.add_argument("--others", type=int, default=4)
    parser.add_argument("--points", nargs="*", default=list(POINTS), choices=list(POINTS))
    parser.add_argument("--methods", nargs="*", default=list(FAST_METHODS + SLOW_METHODS),
                        choices=list(FAST_METHODS + SLOW_METHODS))
    parser.add_argument("--slow", type=int, default=2,
                        help="the baselines run on the first N photos of each group")
    parser.add_argument("--slow-groups", nargs="*", default=["faces", "other"],
                        choices=["faces", "other"], help="the groups the baselines run on")
    parser.add_argument("--budget", type=float, default=None,
                        help="best's seconds per image (default: the settings' default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--plot", type=Path, default=None,
                        help="with --table: also draw PSNR against seconds here (PNG)")
    args = parser.parse_args()
    if args.table:
        table(args.cache)
        if args.plot:
            plot(args.cache, args.plot)
        return
    torch.set_num_threads(args.threads)
    run(args)


if __name__ == "__main__":
    main()
