"""Peak memory per image of an inversion: DCGAN 64 px at c = 1, BEGAN 128 px at c = 2.

Each (model, batch) runs in a fresh process, so that the peak is its own:
on CPU the growth of the process's peak RSS during the solve, on CUDA
``torch.cuda.max_memory_allocated``. Compressed sensing at m = n/12 with 3
restarts and the preset's L-BFGS settings (25 steps of 20 iterations, history of 100
curvature pairs, allocated up front); a tolerance of 1 stops every row after its
first outer step, when every buffer has reached its full size. The memory of
an inversion does not depend on the weights' values, so BEGAN uses seeded random
weights at the paper's 128 px size (nz 64, n 128).

    python benchmarks/memory.py --weights weights/dcgan_faces.tar --device cpu
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from cache import cache_path, cached_artifact

from gs.artifacts import load
from gs.invert import invert
from gs.models.began import BEGANGenerator
from gs.models.checkpoint import generator_file
from gs.operators import GaussianCS
from gs.problems import simulate
from gs.seeding import Stream, problem_rng

CUTS = {"dcgan": 1, "began": 2}


def _artifact(model: str, weights: Path) -> Path:
    if model == "began":
        weights = cache_path("began128_random.pt")
        if not weights.exists():
            torch.manual_seed(0)
            generator = BEGANGenerator(nz=64, ngf=128, nc=3, image_size=128)
            torch.save(generator_file(generator), weights)
    return cached_artifact(weights, CUTS[model], model)


def measure(args: argparse.Namespace) -> dict:
    """One solve in this process; returns its peak memory."""
    torch.set_num_threads(args.threads)
    art = load(args.artifact, device=args.device)
    shape = tuple(art.metadata.image_shape)
    m = int(np.prod(shape)) // 12
    truths = [np.random.default_rng(i).uniform(0, 1, shape).astype(np.float32)
              for i in range(args.batch)]
    ops = [GaussianCS(m, shape, problem_rng(0, i, Stream.OPERATOR)) for i in range(args.batch)]
    ys = [simulate(t, op, problem_rng(0, i, Stream.NOISE)) for i, (t, op) in
          enumerate(zip(truths, ops))]
    operators_mib = sum(op.matrix.nbytes for op in ops) / 2**20 if hasattr(ops[0], "matrix") \
        else 0.0
    settings = art.metadata.settings_for("cs").override(tolerance=1.0, precision=args.precision)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        base_gpu = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    invert(art, ops, ys, settings, seed=0)
    peak_rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    peak_gpu = (torch.cuda.max_memory_allocated() - base_gpu) / 2**20 \
        if args.device.startswith("cuda") else None
    peak = peak_gpu if peak_gpu is not None else peak_rss
    return {"latent_size": art.spec.size, "batch": args.batch, "peak_mib": peak,
            "peak_mib_per_image": peak / args.batch, "operators_mib": operators_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--artifact", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.artifact is not None:
        print(json.dumps(measure(args)))
        return
    print(f"machine: {platform.processor() or platform.machine()}, device {args.device}, "
          f"{args.precision}, torch {torch.__version__}")
    # The sensing matrices exist before the solve starts: reported apart, not in the peak.
    print(f"{'model':<18} {'latent':>8} {'images':>7} {'solve peak MiB':>15} {'MiB/image':>10} "
          f"{'matrix A MiB/image':>19}")
    for model in CUTS:
        artifact = _artifact(model, args.weights)
        for batch in (int(b) for b in args.batches.split(",")):
            cmd = [sys.executable, __file__, "--artifact", str(artifact), "--batch", str(batch),
                   "--device", args.device, "--threads", str(args.threads),
                   "--precision", args.precision]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            label = f"{model} c={CUTS[model]}"
            print(f"{label:<18} {r['latent_size']:>8} {batch:>7} {r['peak_mib']:>15.0f} "
                  f"{r['peak_mib_per_image']:>10.0f} {r['operators_mib'] / batch:>19.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
