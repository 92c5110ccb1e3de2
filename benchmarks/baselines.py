"""Generator Surgery against every baseline on the same measurements (DCGAN faces, 64 px).

    nice -n 19 .venv/bin/python -m benchmarks.baselines --images 4 --budget 0.1 \\
        --out benchmarks/.baselines.jsonl
    .venv/bin/python -m benchmarks.baselines --table benchmarks/.baselines.jsonl

Per task, every method solves the very same problem objects (operator, mask, noise
drawn from (seed, image index) by gs.jobs), so only the method differs. Each result
is appended to a JSON-lines file as soon as it exists (a long run keeps what it has
done); ``--table`` renders PSNR mean ± sd and seconds per image as Markdown.
``--budget f`` scales every iterative baseline's step count by f (1 = the papers'
budgets, Table 3); the table header states the steps actually used.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.cache import cache_path, cached_artifact
from benchmarks.photos import faces, non_faces
from gs.artifacts import load
from gs.methods import build_method
from gs.methods.generators import load_full_generator
from gs.methods.presets import auto_preset
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem

TASKS = {
    "CS 8 %": OperatorOptions(task="cs", ratio=0.08),
    "inpaint 8 %": OperatorOptions(task="inpaint", keep=0.08),
    "SR 4×": OperatorOptions(task="sr", scale=4),
    "CS 33 %": OperatorOptions(task="cs", ratio=0.33),
    "CS 2 %": OperatorOptions(task="cs", ratio=0.02),
}
#: Short names of the tasks for ``--tasks``.
TASK_IDS = dict(zip(("cs8", "inpaint8", "sr4", "cs33", "cs2"), TASKS))
METHODS = ("GS (c=1)", "no surgery (c=0)", "lasso-dct", "lasso-wavelet", "csgm",
           "deep-decoder", "dip", "iagan", "mganprior")
STEP_FIELDS = ("steps", "stage1_steps", "stage2_steps")


def scaled(settings: Any, budget: float, restarts: int | None = None) -> Any:
    """``settings`` with every step count multiplied by ``budget`` (at least 1 step) and,
    where given and the method has restarts, ``restarts`` restarts."""
    changes = {name: max(1, int(round(getattr(settings, name) * budget)))
               for name in STEP_FIELDS if hasattr(settings, name)}
    if restarts is not None and hasattr(settings, "restarts"):
        changes["restarts"] = restarts
    return settings.override(**changes)


def build_methods(weights: Path, budget: float, restarts: int | None) -> dict[str, Any]:
    gs_artifact = load(cached_artifact(weights, 1))
    uncut = load(cached_artifact(weights, 0))
    generator = load_full_generator(weights, "dcgan")
    return {
        "GS (c=1)": build_method("surgery", artifact=gs_artifact),
        "no surgery (c=0)": build_method("no-surgery", artifact=gs_artifact),
        "lasso-dct": build_method("lasso-dct"),
        "lasso-wavelet": build_method("lasso-wavelet"),
        "csgm": build_method("csgm", artifact=uncut,
                           settings=scaled(auto_preset("csgm"), budget, restarts)),
        "deep-decoder": build_method("deep-decoder", settings=scaled(
            auto_preset("deep-decoder", image_side=64), budget, restarts)),
        "dip": build_method("dip", settings=scaled(auto_preset("dip"), budget, restarts)),
        "iagan": build_method("iagan", generator=generator,
                            settings=scaled(auto_preset("iagan", model="dcgan"), budget, restarts)),
        "mganprior": build_method("mganprior", generator=generator,
                                settings=scaled(auto_preset("mganprior", model="dcgan"), budget,
                                                restarts)),
    }


def run(args: argparse.Namespace) -> None:
    photos = faces(args.images - args.images // 2) + non_faces(args.images // 2)
    methods = build_methods(Path(args.weights), args.budget, args.restarts)
    wanted = args.methods.split(",") if args.methods else list(METHODS)
    out = Path(args.out)
    tasks = [TASK_IDS[t] for t in args.tasks.split(",")] if args.tasks else list(TASKS)
    for task in tasks:
        options = TASKS[task]
        problems = [simulated_problem(Path(name), i, img, options, args.seed)
                    for i, (name, img) in enumerate(photos)]
        for name in wanted:
            method = methods[name]
            for problem, (photo, truth) in zip(problems, photos):
                try:
                    (result,) = method.solve([problem], seed=args.seed)
                except Exception as exc:  # noqa: BLE001 - one failure must not end a long run
                    print(f"{task} {name} {photo}: FAILED {exc!r}", flush=True)
                    continue
                settings = getattr(method, "settings", None)
                record = {"task": task, "method": name, "photo": photo,
                          "psnr": psnr(result.image, truth), "seconds": result.seconds,
                          "measurement_loss": result.measurement_loss,
                          "y_sum": float(np.sum(problem.y)),
                          "settings": None if settings is None else settings.to_json(),
                          "details": result.details}
                with open(out, "a") as handle:
                    handle.write(json.dumps(record) + "\n")
                print(f"{task:12s} {name:18s} {photo:16s} {record['psnr']:6.2f} dB "
                      f"{result.seconds:7.1f} s", flush=True)


def table(paths: list[Path], args_images: int = 2) -> str:
    """Markdown: per method and task, PSNR mean ± sd, median s/image (n when short)."""
    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    seen = set()
    for path in paths:
        for line in path.read_text().splitlines():
            record = json.loads(line)
            key = (record["task"], record["method"], record["photo"])
            if key not in seen:  # a problem solved twice (overlapping runs) counts once
                seen.add(key)
                rows[key[:2]].append(record)
    tasks = [t for t in TASKS if any(key[0] == t for key in rows)]
    lines = ["| method | " + " | ".join(tasks) + " |", "|---" * (len(tasks) + 1) + "|"]
    for name in METHODS:
        cells = []
        for task in tasks:
            records = rows.get((task, name), [])
            if not records:
                cells.append("–")
                continue
            values = np.array([r["psnr"] for r in records])
            seconds = float(np.median([r["seconds"] for r in records]))
            sd = values.std(ddof=1) if len(values) > 1 else math.nan
            spread = f" ± {sd:.2f}" if len(values) > 1 else ""
            cells.append(f"{values.mean():.2f}{spread} dB, {seconds:.0f} s"
                         + ("" if len(values) == args_images else f" (n={len(values)})"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default="weights/dcgan_faces.tar")
    parser.add_argument("--images", type=int, default=4, help="half faces, half non-faces")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="fraction of the papers' step budgets for iterative baselines")
    parser.add_argument("--restarts", type=int,
                        help="restarts of every iterative baseline (default: its preset's)")
    parser.add_argument("--methods", help="comma-separated subset of " + ", ".join(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(cache_path("baselines.jsonl")))
    parser.add_argument("--tasks", help="comma-separated subset of " + ", ".join(TASK_IDS))
    parser.add_argument("--table", nargs="+", help="render these results files and exit")
    args = parser.parse_args()
    if args.table:
        print(table([Path(p) for p in args.table], args.images))
        return
    run(args)


if __name__ == "__main__":
    main()
