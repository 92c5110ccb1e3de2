"""Time per optimisation step: ONNX artifact on onnxruntime + numpy against the torch engine.

Both engines solve the same seeded compressed-sensing problems (real face photos,
m/n = 0.1) from the same seeded latents with a fixed amount of work (tolerance 0,
one restart, ``steps × inner_iterations`` L-BFGS iterations), so the wall time
divided by the objective evaluations is the cost of one optimisation step: the
generator's forward pass, the residual, the adjoint and the gradient (ONNX: the
stored VJP graph), plus the optimiser's own work. Each configuration runs
``--repeats`` times; the median is reported.

    python benchmarks/onnx_speed.py --weights weights/dcgan_faces.tar --cut 1
    python benchmarks/onnx_speed.py ... --device cuda   # onnxruntime's CUDA provider
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from cache import cache_path
from photos import faces

from gs.artifacts.onnx import load as load_onnx
from gs.artifacts.torchscript import load as load_torchscript
from gs.export import export_artifact
from gs.invert import invert
from gs.metrics import psnr
from gs.operators import GaussianCS
from gs.problems import simulate
from gs.seeding import Stream, problem_rng
from gs.settings import InversionSettings


def cached(weights: Path, cut: int, suffix: str) -> Path:
    """``benchmarks/.dcgan_c<cut>.<suffix>``, exported on first use."""
    path = cache_path(f"dcgan_c{cut}.{suffix}")
    if not path.exists():
        export_artifact(weights, path, cut=cut, model="dcgan")
    return path


def problems(count: int, ratio: float, seed: int):
    truths = [image for _, image in faces(count)]
    n = truths[0].size
    ops = [GaussianCS(round(ratio * n), t.shape, problem_rng(seed, i, Stream.OPERATOR))
           for i, t in enumerate(truths)]
    ys = [simulate(t, op, problem_rng(seed, i, Stream.NOISE)) for i, (t, op) in
          enumerate(zip(truths, ops))]
    return truths, ops, ys


def time_backend(art, ops, ys, settings, repeats: int) -> tuple[float, list]:
    """Median seconds per objective evaluation (per row) on ``art``'s backend, and the last
    results."""
    per_step = []
    for _ in range(repeats):
        start = time.perf_counter()
        results = invert(art, ops, ys, settings, seed=0)
        elapsed = time.perf_counter() - start
        evaluations = max(r.total_evaluations for r in results)
        per_step.append(elapsed / evaluations)
    return statistics.median(per_step), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--cut", type=int, default=1)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--inner-iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (both engines)")
    args = parser.parse_args()
    torch_art = load_torchscript(cached(args.weights, args.cut, "pt"), device=args.device)
    onnx_art = load_onnx(cached(args.weights, args.cut, "onnx"), device=args.device)
    settings = InversionSettings(steps=args.steps, inner_iterations=args.inner_iterations,
                                 restarts=1, tolerance=0.0)
    rows = []
    for batch in args.batches:
        truths, ops, ys = problems(batch, 0.1, seed=0)
        t_torch, r_torch = time_backend(torch_art, ops, ys, settings, args.repeats)
        t_onnx, r_onnx = time_backend(onnx_art, ops, ys, settings, args.repeats)
        rows.append({
            "batch": batch, "torch_ms": 1e3 * t_torch, "onnx_ms": 1e3 * t_onnx,
            "ratio": t_onnx / t_torch,
            "psnr_torch": float(np.mean([psnr(r.image, t) for r, t in zip(r_torch, truths)])),
            "psnr_onnx": float(np.mean([psnr(r.image, t) for r, t in zip(r_onnx, truths)])),
        })
        print(json.dumps(rows[-1]), flush=True)
    print(f"# {platform.processor() or platform.machine()}, device {args.device}, "
          f"DCGAN c={args.cut}")
    print("| batch | torch ms/step | ONNX ms/step | ONNX / torch | PSNR torch | PSNR ONNX |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['torch_ms']:.1f} | {r['onnx_ms']:.1f} | {r['ratio']:.2f} | "
              f"{r['psnr_torch']:.2f} | {r['psnr_onnx']:.2f} |")


if __name__ == "__main__":
    main()
