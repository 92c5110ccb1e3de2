"""In its own domain: a generator recovering held-out images of the data it was trained on.

The paper's setting (Bora et al. 2017, Fig. 1a; MNIST): a generator trained on a
dataset's training split, its test split recovered. For each task point, the first
``--n`` test images (sorted; each fitted to the artifact's image shape by the rule
``gs-invert`` applies to a user's image) get their problems from
``gs.problems.simulated_problem`` keyed by (seed, image index), the same for every method:

* compressed sensing at m ∈ {25, 50, 100, 200, 400, 750} (the dense Gaussian operator
  ``gs-invert --measurements M`` uses on small images): Lasso in the pixel basis
  (``lasso-pixel``), TV least squares (``tv-cs``, the classical answer), no surgery
  (the c = 0 generator's image), surgery with the artifact's recorded defaults, and on the
  first ``--n-slow`` images Deep Image Prior and Deep Decoder (their presets' budgets,
  2000 and 5000 Adam steps, their networks sized to the image: :func:`dip_settings`,
  :func:`deep_decoder_settings`);
* inpainting 10 %, SR ×2 / ×4, denoising σ 0.1 / 0.2: the classical answer, no surgery,
  surgery with its defaults, and surgery returning the generator's image
  (``answer="generator"``), so one sees whether the answer rule picked the better one;
* MRI ×4 / ×8 (noise-free k-space, variable-density lines): zero-filled, TV (``tv-mri``,
  the classical answer), no surgery, surgery with its defaults, the generator's image, and
  Deep Image Prior on the first ``--n-slow`` images;
* deblurring, Gaussian σ 1.5 px and motion 9 px at 30°, noise σ 0.01: Wiener, TV
  (``tv-deblur``, the classical answer), no surgery, surgery with its defaults and the
  generator's image.

Prints Markdown tables (mean ± sd PSNR; Bora et al.'s per-pixel reconstruction error
‖x̂ − x‖² / n on [0, 1] images; seconds per image; with ``--train-images`` and labels,
the accuracy of a small classifier trained on the training split, :mod:`classifier`,
on each method's recoveries and on the clean images), plots both CS measures against m
(``--plot``) and writes the summary as JSON (``--json``). Every (method, point, image)
result is kept in ``--cache`` as soon as its batch is done, so an interrupted or extended
run computes only what is missing.

    python benchmarks/in_domain.py --artifact mnist_c1.pt --uncut mnist_c0.pt \\
        --images data/mnist/test --labels data/mnist/t10k-labels-idx1-ubyte \\
        --train-images data/mnist/train --train-labels data/mnist/train-labels-idx1-ubyte \\
        --threads 1 --json in_domain_mnist.json --plot in_domain_mnist.png
    python benchmarks/in_domain.py ... --n 10 --points "CS m=100" "inpainting 10 %" \\
        --methods lasso-pixel tv-cs classical no-surgery surgery surgery-generator
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cache import cache_path
from classifier import (
    TrainOptions,
    cached_classifier,
    classify,
    image_files,
    labels_of,
    read_images,
)

from gs.artifacts import load
from gs.io import atomic_write, write_json
from gs.methods import Method, build_method
from gs.methods.dip import scales_for
from gs.methods.presets import DeepDecoderSettings, DIPSettings, auto_preset
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem

#: Bora et al. 2017, Fig. 1a (MNIST): the numbers of measurements m.
BORA_MEASUREMENTS = (25, 50, 100, 200, 400, 750)
#: (label, task, operator options) of every task point measured.
POINTS = [
    *((f"CS m={m}", "cs", {"measurements": m}) for m in BORA_MEASUREMENTS),
    ("inpainting 10 %", "inpaint", {"keep": 0.10}),
    ("SR x2", "sr", {"scale": 2}),
    ("SR x4", "sr", {"scale": 4}),
    ("denoising 0.1", "denoise", {"noise_std": 0.1}),
    ("denoising 0.2", "denoise", {"noise_std": 0.2}),
    ("MRI x4", "mri", {"acceleration": 4}),
    ("MRI x8", "mri", {"acceleration": 8}),
    ("deblur Gaussian 1.5", "deblur", {"sigma": 1.5, "noise_std": 0.01}),
    ("deblur motion 9", "deblur", {"length": 9.0, "angle": 30.0, "noise_std": 0.01}),
]
CS_METHODS = ("lasso-pixel", "tv-cs", "no-surgery", "surgery", "dip", "deep-decoder")
TASK_METHODS = ("classical", "no-surgery", "surgery", "surgery-generator")
#: Beside the classical answer: the task's other classical method and, for MRI, DIP.
EXTRA_METHODS = {"mri": ("zero-filled", "dip"), "deblur": ("wiener",)}
#: Fitted per image for minutes on a CPU: run on the first ``--n-slow`` images only.
SLOW_METHODS = ("dip", "deep-decoder")
NAMES = {"lasso-pixel": "Lasso (pixel basis)", "tv-cs": "TV (classical answer)",
         "zero-filled": "zero-filled", "wiener": "Wiener",
         "classical": "classical answer", "no-surgery": "no surgery (c = 0)",
         "surgery": "surgery, defaults", "surgery-generator": "surgery, generator's image",
         "dip": "Deep Image Prior", "deep-decoder": "Deep Decoder"}
GENERATOR_METHODS = ("no-surgery", "surgery", "surgery-generator")


def methods_of(task: str) -> tuple[str, ...]:
    if task == "cs":
        return CS_METHODS
    extra = EXTRA_METHODS.get(task, ())
    return (*[m for m in extra if m != "dip"], *TASK_METHODS, *[m for m in extra if m == "dip"])


#: Every column of the other tasks' tables, in order.
OTHER_METHODS = ("zero-filled", "wiener", *TASK_METHODS, "dip")


def deep_decoder_settings(shape: tuple[int, int, int]) -> DeepDecoderSettings:
    """Deep Decoder for (C, S, S) images: the 64 px preset's budget, its depth cut to the
    size, and k channels giving the preset's parameters per measured value
    ((depth·k² + k·C) / (C·S²), Heckel & Hand's compression ratio)."""
    base = auto_preset("deep-decoder", image_side=64)
    c, side = shape[0], shape[-1]
    per_value = (base.depth * base.channels**2 + base.channels * 3) / (3 * 64**2)
    depth = int(np.log2(side // base.seed_side)) + 1
    target = per_value * c * side**2
    channels = int((-c + np.sqrt(c**2 + 4 * depth * target)) / (2 * depth))
    return replace(base, depth=depth, channels=max(channels, 4))


def dip_settings(side: int) -> DIPSettings:
    """Deep Image Prior for ``side`` px: the preset with as many scales as leave its deepest
    at 2×2 px, as the preset's five do at 64 px (1×1 would leave batch norm one value)."""
    base = auto_preset("dip")
    return replace(base, channels=scales_for(side, base.channels))


def build(name: str, task: str, artifact: Any, uncut: Any, steps: int | None = None) -> Method:
    """The method a label of this benchmark stands for; ``steps`` overrides the
    optimisation budget of the generator and untrained-network methods (smoke runs)."""
    side = int(artifact.metadata.image_shape[-1])
    if name in GENERATOR_METHODS:
        source = uncut if name == "no-surgery" else artifact
        settings = source.metadata.settings_for(task)
        if name == "surgery-generator":
            settings = settings.override(answer="generator")
        if steps is not None:
            settings = settings.override(steps=steps)
        return build_method(name.removesuffix("-generator"), task=task, artifact=source,
                            settings=settings)
    settings = None
    if name == "deep-decoder":
        settings = deep_decoder_settings(tuple(artifact.metadata.image_shape))
    elif name == "dip":
        settings = dip_settings(side)
    if settings is not None and steps is not None:
        settings = replace(settings, steps=steps)
    return build_method(name, task=task, settings=settings, image_side=side)


def _encode(image: np.ndarray) -> str:
    """The recovery as 8-bit pixels (what a user's PNG holds), base64."""
    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return base64.b64encode(pixels.tobytes()).decode()


def decode(text: str, shape: tuple[int, ...]) -> np.ndarray:
    """(C, H, W) float32 in [0, 1] from :func:`_encode`'s text."""
    return np.frombuffer(base64.b64decode(text), np.uint8).reshape(shape).astype(np.float32) / 255


class ResultCache:
    """Per-(method, point, image) results, one JSON line each, appended as each batch
    finishes (a run killed mid-write loses only its last line); the key hashes
    everything that decides a result."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.records: dict[str, dict] = {}
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the line a killed run left unfinished
                self.records[record.pop("key")] = record

    @staticmethod
    def key(method: Method, label: str, task: str, options: dict, seed: int, index: int,
            image: np.ndarray) -> str:
        data = {"method": method.config(), "point": [label, task, options], "seed": seed,
                "index": index, "image": hashlib.sha256(image.tobytes()).hexdigest()}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()
                              ).hexdigest()

    def add(self, records: dict[str, dict]) -> None:
        self.records.update(records)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as handle:
                handle.writelines(json.dumps({"key": k, **r}) + "\n" for k, r in records.items())


def progress(message: str) -> None:
    print(f"[in-domain] {message}", file=sys.stderr, flush=True)


def measure(method: Method, label: str, task: str, options: dict, images: np.ndarray,
            seed: int, cache: ResultCache, batch: int, name: str = "",
            first: int = 0) -> list[dict]:
    """One record per image (psnr, mse, seconds per image, answer, recovery): from the
    cache, or computed ``batch`` images per ``solve`` call and cached at once.
    ``images`` are the test images ``first``, ``first + 1``, ... (their problems' index)."""
    keys = [cache.key(method, label, task, options, seed, first + i, image)
            for i, image in enumerate(images)]
    missing = [i for i, k in enumerate(keys) if k not in cache.records]
    if len(missing) < len(keys):
        progress(f"{label} {name or method.name}: {len(keys) - len(missing)} images cached")
    for start in range(0, len(missing), batch):
        chunk = missing[start:start + batch]
        problems = [simulated_problem(Path(f"{first + i:05d}"), first + i, images[i],
                                      OperatorOptions(task, **options), seed) for i in chunk]
        began = time.perf_counter()
        recoveries = method.solve(problems, seed=seed)
        seconds = (time.perf_counter() - began) / len(chunk)
        done = {}
        for i, recovery in zip(chunk, recoveries):
            image = np.asarray(recovery.image, dtype=np.float32)
            done[keys[i]] = {
                "psnr": psnr(image, images[i]),
                "mse": float(np.mean((np.clip(image, 0, 1) - images[i]) ** 2)),
                "seconds": seconds, "answer": recovery.details.get("answer"),
                "recovery": _encode(image)}
        cache.add(done)
        progress(f"{label} {name or method.name}: images {first + chunk[0]}–"
                 f"{first + chunk[-1]} {seconds:.2f} s/img")
    return [cache.records[k] for k in keys]


def summarise(label: str, name: str, records: list[dict], truth_labels: np.ndarray | None,
              model: Any, shape: tuple[int, ...], first: int = 0) -> dict:
    """Mean ± sd of each measure over the images of one (point, method)."""
    values = {m: np.array([r[m] for r in records]) for m in ("psnr", "mse", "seconds")}
    row = {"point": label, "method": name, "n": len(records),
           **{f"{m}_{s}": float(getattr(np, f)(v)) for m, v in values.items()
              for s, f in (("mean", "mean"), ("sd", "std"))},
           "psnr": values["psnr"].tolist(), "mse": values["mse"].tolist(),
           "answers": dict(collections.Counter(str(r["answer"]) for r in records))}
    if model is not None:
        predicted = classify(model, np.stack([decode(r["recovery"], shape) for r in records]))
        row["predicted"] = predicted.tolist()
        row["accuracy"] = float(np.mean(predicted == truth_labels[first:first + len(records)]))
    return row


def run(args: argparse.Namespace) -> dict:
    """Measure every selected (point, method); returns the JSON summary."""
    artifact, uncut = load(args.artifact, device="cpu"), load(args.uncut, device="cpu")
    shape = tuple(artifact.metadata.image_shape)
    files = image_files(args.images, args.n)
    images = read_images(files, shape)
    model = truth = None
    if args.train_images is not None:
        model = cached_classifier(args.train_images, args.train_labels, shape, args.classifier,
                                  TrainOptions(seed=args.seed, epochs=args.classifier_epochs,
                                               limit=args.classifier_limit))
        truth = labels_of(files, args.labels)
    cache = ResultCache(args.cache)
    rows = []
    for label, task, options in POINTS:
        if label not in args.points:
            continue
        for name in methods_of(task):
            if name not in args.methods:
                continue
            slow = name in SLOW_METHODS
            first = min(args.slow_start, len(images)) if slow else 0
            count = min(args.n_slow, len(images) - first) if slow else len(images)
            method = build(name, task, artifact, uncut, args.steps)
            batch = 1 if slow else args.batch
            records = measure(method, label, task, options, images[first:first + count],
                              args.seed, cache, batch, name, first)
            rows.append(summarise(label, name, records, truth, model, shape, first))
    summary = {"images": str(args.images), "n": len(images), "seed": args.seed,
               "artifact": str(args.artifact), "uncut": str(args.uncut), "rows": rows}
    if model is not None:
        clean = classify(model, images)
        summary["clean_accuracy"] = float(np.mean(clean == truth))
    return summary


def _cell(row: dict | None, measure: str) -> str:
    if row is None:
        return "—"
    if measure == "psnr":
        return f"{row['psnr_mean']:.2f} ± {row['psnr_sd']:.2f}"
    if measure == "mse":
        return f"{row['mse_mean']:.2e} ± {row['mse_sd']:.2e}"
    if measure == "accuracy":
        return f"{100 * row['accuracy']:.0f} %" if "accuracy" in row else "—"
    return f"{row['seconds_mean']:.2f}"


def _table(header: str, columns: Sequence[str], rows: Sequence[tuple[str, list[str]]]) -> str:
    lines = [f"| {header} | " + " | ".join(columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    return "\n".join(lines)


def markdown(summary: dict) -> str:
    """The tables for BENCHMARKS.md: CS (methods × m) and the other tasks (points ×
    methods), one per measure; n per cell in its column header."""
    found = {(r["point"], r["method"]): r for r in summary["rows"]}
    points = list(dict.fromkeys(r["point"] for r in summary["rows"]))
    cs = [p for p in points if p.startswith("CS ")]
    other = [p for p in points if not p.startswith("CS ")]
    measures = [("psnr", "PSNR (dB)"), ("mse", "per-pixel error ‖x̂ − x‖²/n"),
                ("accuracy", "classifier accuracy"), ("seconds", "seconds per image")]
    if "clean_accuracy" not in summary:
        measures = [m for m in measures if m[0] != "accuracy"]
    parts = []
    for measure, title in measures:
        if cs:
            names = [n for n in CS_METHODS if any((p, n) in found for p in cs)]
            parts.append(f"**Compressed sensing, {title}**\n\n" + _table(
                "method (images)", [p.removeprefix("CS ") for p in cs],
                [(f"{NAMES[n]} ({max(found[p, n]['n'] for p in cs if (p, n) in found)})",
                  [_cell(found.get((p, n)), measure) for p in cs]) for n in names]))
        if other:
            names = [n for n in OTHER_METHODS if any((p, n) in found for p in other)]
            parts.append(f"**Other tasks, {title}**\n\n" + _table(
                "task", [f"{NAMES[n]} ({max(found[p, n]['n'] for p in other if (p, n) in found)})"
                         for n in names],
                [(p, [_cell(found.get((p, n)), measure) for n in names]) for p in other]))
    answers = [(p, ", ".join(f"{a} {k}" for a, k in sorted(found[p, "surgery"]["answers"]
                                                            .items())))
               for p in points if (p, "surgery") in found]
    if answers:
        parts.append("**Answers surgery's defaults returned**\n\n"
                     + _table("point", ["answers"], [(p, [a]) for p, a in answers]))
    if "clean_accuracy" in summary:
        parts.append(f"Classifier accuracy on the clean test images (the ceiling): "
                     f"{100 * summary['clean_accuracy']:.1f} % of {summary['n']}.")
    return "\n\n".join(parts)


def plot(summary: dict, path: Path) -> Path:
    """PSNR and per-pixel error against m (log x), one line per method, ± sd band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary["rows"] if r["point"].startswith("CS m=")]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name in CS_METHODS:
        mine = sorted((r for r in rows if r["method"] == name),
                      key=lambda r: int(r["point"].removeprefix("CS m=")))
        if not mine:
            continue
        m = [int(r["point"].removeprefix("CS m=")) for r in mine]
        for ax, measure in zip(axes, ("psnr", "mse")):
            mean = np.array([r[f"{measure}_mean"] for r in mine])
            sd = np.array([r[f"{measure}_sd"] for r in mine])
            (line,) = ax.plot(m, mean, marker="o", markersize=3, label=NAMES[name])
            ax.fill_between(m, mean - sd, mean + sd, alpha=0.15, color=line.get_color())
    ticks = sorted({int(r["point"].removeprefix("CS m=")) for r in rows})
    for ax, ylabel in zip(axes, ("PSNR (dB)", "per-pixel error ‖x̂ − x‖²/n")):
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("measurements m")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[1].set_ylim(bottom=0)  # linear, as Bora et al. plot it: the ± sd band stays honest
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Compressed sensing in-domain: {summary['images']}, seed {summary['seed']}")
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110,
                                                          bbox_inches="tight"), overwrite=True)
    finally:
        plt.close(fig)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifact", type=Path, required=True, help="cut artifact (surgery)")
    p.add_argument("--uncut", type=Path, required=True, help="the same weights at c = 0")
    p.add_argument("--images", type=Path, required=True, help="held-out test images folder")
    p.add_argument("--n", type=int, default=100, help="the first N test images")
    p.add_argument("--n-slow", type=int, default=10,
                   help=f"images for {', '.join(SLOW_METHODS)}")
    p.add_argument("--slow-start", type=int, default=0,
                   help="the slow methods' first image (0-based): runs over disjoint "
                        "images can go in parallel, each with its own --cache")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--labels", type=Path, help="labels of the test images (idx1 or .json)")
    p.add_argument("--train-images", type=Path, help="training split: trains the classifier")
    p.add_argument("--train-labels", type=Path)
    p.add_argument("--classifier", type=Path, help="classifier cache file")
    p.add_argument("--classifier-epochs", type=int, default=TrainOptions.epochs)
    p.add_argument("--classifier-limit", type=int, default=None,
                   help="training images used (default: all)")
    p.add_argument("--points", nargs="*", default=[label for label, _, _ in POINTS])
    p.add_argument("--methods", nargs="*",
                   default=list(dict.fromkeys(CS_METHODS + OTHER_METHODS)))
    p.add_argument("--batch", type=int, default=50, help="images per solve call")
    p.add_argument("--steps", type=int, default=None, help="optimisation steps (smoke runs)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--cache", type=Path, default=cache_path("in_domain.jsonl"))
    p.add_argument("--json", type=Path, help="write the summary here")
    p.add_argument("--plot", type=Path, help="PNG of the CS measures against m")
    return p


def main(argv: Sequence[str] | None = None,
         output: Callable[[str], None] = print) -> dict:
    args = parser().parse_args(argv)
    if args.train_images is not None and (args.labels is None or args.train_labels is None):
        parser().error("--train-images needs --train-labels and --labels")
    torch.set_num_threads(args.threads)
    summary = run(args)
    output(markdown(summary))
    if args.json is not None:
        write_json(args.json, summary, overwrite=True)
    if args.plot is not None and any(r["point"].startswith("CS m=") for r in summary["rows"]):
        plot(summary, args.plot)
    return summary


if __name__ == "__main__":
    main()
