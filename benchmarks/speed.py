"""Inversion speed: the paper's protocol against the batched engine, same run.

Paper protocol: one image at a time, batch 1, R restarts in sequence, each
``torch.optim.LBFGS(lr, max_iter=20)`` for 25 steps (25×20 iterations), the
best restart by measurement loss. Ours: ``gs.invert.invert`` on all images at
once (B×R rows), per-row early stop. Both start from the same seeded latents
and solve the same seeded problems. Each mode runs in its own process so that
its peak memory can be read.

    python benchmarks/speed.py --weights weights/dcgan_faces.tar --images 16
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from cache import cached_artifact
from photos import faces, non_faces
from torch.utils.flop_counter import FlopCounterMode

from gs.artifact import load
from gs.invert import invert, simulate
from gs.metrics import psnr
from gs.operators import GaussianCS
from gs.seeding import Stream, problem_rng


def _problems(art, count: int, m: int, seed: int):
    photos = faces(count // 2) + non_faces(min(7, count - count // 2))
    while len(photos) < count:
        photos += faces(count - len(photos) + 1)[1:]
    truths = [img for _, img in photos[:count]]
    ops = [GaussianCS(m, t.shape, problem_rng(seed, i, Stream.OPERATOR)) for i, t in
           enumerate(truths)]
    ys = [simulate(t, op, problem_rng(seed, i, Stream.NOISE)) for i, (t, op) in
          enumerate(zip(truths, ops))]
    return truths, ops, ys


def paper_protocol(art, ops, ys, settings, seed: int) -> tuple[list[np.ndarray], int]:
    """Sequential, batch 1, fixed steps × inner iterations; best restart by loss.

    Returns the recovered images and the number of objective evaluations spent.
    """
    device = art.device
    images, evaluations = [], 0
    for i, (op, y) in enumerate(zip(ops, ys)):
        starts = art.spec.sample(problem_rng(seed, i, Stream.INIT), settings.restarts)[0]
        y_t = torch.as_tensor(y, device=device)
        best_loss, best_image = float("inf"), None
        for r in range(settings.restarts):
            z = torch.as_tensor(starts[r : r + 1], device=device).requires_grad_(True)
            opt = torch.optim.LBFGS([z], lr=settings.lr, max_iter=settings.inner_iterations)

            def closure(z=z, opt=opt, op=op, y_t=y_t):
                opt.zero_grad()
                loss = ((op.A(art.generator(z)) - y_t) ** 2).mean()
                loss.backward()
                return loss

            for _ in range(settings.steps):
                opt.step(closure)
            evaluations += opt.state[z]["func_evals"]
            with torch.no_grad():
                image = art.generator(z)
                loss = float(((op.A(image) - y_t) ** 2).mean())
            if loss < best_loss:
                best_loss, best_image = loss, image[0].clamp(0, 1).cpu().numpy()
        images.append(best_image)
    return images, evaluations


def flops_per_evaluation(art, op, y: np.ndarray) -> int:
    """Floating-point operations of one row's objective: generator, A, and their backward."""
    x = torch.as_tensor(art.spec.sample(problem_rng(0, 0, Stream.INIT), 1)[0],
                        device=art.device).requires_grad_(True)
    y_t = torch.as_tensor(y, device=art.device)
    with FlopCounterMode(display=False) as counter:
        ((op.A(art.generator(x)) - y_t) ** 2).mean().backward()
    return int(counter.get_total_flops())


def run_mode(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    art = load(args.artifact, device=args.device)
    truths, ops, ys = _problems(art, args.images, args.measurements, args.seed)
    settings = art.metadata.settings_for("cs")
    if args.mode == "paper":
        settings = settings.override(tolerance=0.0)
    else:
        settings = settings.override(precision=args.precision, tolerance=args.tolerance,
                                     keep_restarts_after=args.keep_restarts_after)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    start = time.perf_counter()
    if args.mode == "paper":
        images, evaluations = paper_protocol(art, ops, ys, settings, args.seed)
    else:
        results = invert(art, ops, ys, settings, seed=args.seed)
        images = [r.image for r in results]
        evaluations = sum(r.total_evaluations for r in results)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss
    gpu_peak = torch.cuda.max_memory_allocated() if args.device.startswith("cuda") else None
    batch = 1 if args.mode == "paper" else args.images
    return {
        "mode": args.mode, "images": args.images, "seconds": seconds,
        "seconds_per_image": seconds / args.images, "images_per_second": args.images / seconds,
        "psnr": [psnr(im, t) for im, t in zip(images, truths)],
        "peak_rss_mib_per_image": peak / 1024 / batch,
        "peak_gpu_mib_per_image": None if gpu_peak is None else gpu_peak / 2**20 / batch,
        "evaluations": evaluations,
        "flops_per_evaluation": flops_per_evaluation(art, ops[0], ys[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--artifact", type=Path, default=None)
    parser.add_argument("--cut", type=int, default=1)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--measurements", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--mode", choices=["paper", "ours", "both"], default="both")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="Generator precision of the batched engine.")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="Early-stop tolerance of the batched engine (default: preset).")
    parser.add_argument("--keep-restarts-after", type=int, default=None,
                        help="Batched engine: only the best restart continues after N steps.")
    parser.add_argument("--paper-json", type=Path, default=None,
                        help="Reuse a paper-protocol result from an earlier --json run.")
    parser.add_argument("--json", type=Path, default=None, help="Also write results here.")
    parser.add_argument("--peak-gflops", type=float, default=None,
                        help="The device's peak rate, to print the fraction reached.")
    args = parser.parse_args()
    if args.mode != "both":
        print(json.dumps(run_mode(args)))
        return
    if args.artifact is None:
        args.artifact = cached_artifact(args.weights, args.cut)
    rows = {}
    if args.paper_json is not None:
        rows["paper"] = json.loads(args.paper_json.read_text())["paper"]
    for mode in ("ours", "paper"):
        if mode in rows:
            continue
        cmd = [sys.executable, __file__, "--mode", mode, "--artifact", str(args.artifact),
               "--images", str(args.images), "--measurements", str(args.measurements),
               "--seed", str(args.seed), "--device", args.device, "--threads", str(args.threads),
               "--precision", args.precision]
        if args.tolerance is not None:
            cmd += ["--tolerance", str(args.tolerance)]
        if args.keep_restarts_after is not None:
            cmd += ["--keep-restarts-after", str(args.keep_restarts_after)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows[mode] = json.loads(out.strip().splitlines()[-1])
    print(f"machine: {platform.processor() or platform.machine()}, {args.threads} threads, "
          f"device {args.device}, torch {torch.__version__}")
    print(f"{'protocol':<32} {'img/s':>8} {'s/img':>8} {'PSNR':>7} {'peak MiB/img':>13} "
          f"{'evaluations':>12} {'GFLOP/s':>8} {'of peak':>8}")
    labels = {"paper": "paper (seq., batch 1, 25x20)",
              "ours": f"gs batched, {args.precision}, keep {args.keep_restarts_after}"}
    for mode, label in labels.items():
        r = rows[mode]
        peak = r["peak_gpu_mib_per_image"] or r["peak_rss_mib_per_image"]
        # Both modes solve the same problems: one row's evaluation costs the same.
        flops = r.get("flops_per_evaluation") or rows["ours"]["flops_per_evaluation"]
        rate = flops * r["evaluations"] / r["seconds"] / 1e9
        share = f"{rate / args.peak_gflops:>8.1%}" if args.peak_gflops else f"{'-':>8}"
        print(f"{label:<32} {r['images_per_second']:>8.4f} {r['seconds_per_image']:>8.2f} "
              f"{np.mean(r['psnr']):>7.2f} {peak:>13.1f} {r['evaluations']:>12} "
              f"{rate:>8.1f} {share}")
    speedup = rows["ours"]["images_per_second"] / rows["paper"]["images_per_second"]
    delta = np.mean(rows["ours"]["psnr"]) - np.mean(rows["paper"]["psnr"])
    print(f"speed-up {speedup:.1f}x, PSNR difference {delta:+.2f} dB")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
