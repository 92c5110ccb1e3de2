"""Soak: many inversion jobs back to back in one process, with stable memory.

Each iteration runs a whole one-image job through :func:`gs.jobs.run_job` (read a
real photo, simulate compressed sensing at m/n = 3 %, invert with the DCGAN face
generator cut at c = 1, write the image and the report atomically), as an app
serving requests would. The peak RSS of the process is sampled after a warm-up and
at the end; a leak of even a few hundred KiB per job shows as growth.

    nice -n 19 python benchmarks/soak.py --weights weights/dcgan_faces.tar --runs 200
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from cache import cached_artifact
from photos import faces, non_faces

from gs.artifacts import load
from gs.io import write_image
from gs.jobs import InversionJob, OperatorOptions, run_job


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def soak(artifact: Path, runs: int, warmup: int, steps: int, threads: int,
         ratio: float = 0.03) -> dict:
    """Run ``runs`` one-image jobs; return RSS after ``warmup`` jobs and at the end."""
    torch.set_num_threads(threads)
    art = load(artifact, device="cpu")
    settings = art.metadata.settings_for("cs").override(steps=steps, inner_iterations=5,
                                                        restarts=2)
    with tempfile.TemporaryDirectory(prefix="gs-soak-") as tmp:
        folder = Path(tmp)
        photos = []
        for name, image in faces(3) + non_faces(2):
            photos.append(write_image(folder / f"{name}.png", image))
        samples, seconds = [], []
        for run in range(runs):
            job = InversionJob(
                artifact=artifact, images=(photos[run % len(photos)],),
                output_dir=folder / "out", operator=OperatorOptions(task="cs", ratio=ratio),
                settings=settings, seed=run, simulate=True, report=folder / "report.json",
                overwrite=True,
            )
            start = time.perf_counter()
            report = run_job(job, art)
            seconds.append(time.perf_counter() - start)
            if report.failed or report.images[0]["psnr"] is None:
                raise RuntimeError(f"run {run} failed: {report.images}")
            samples.append((run + 1, current_rss_mib(), peak_rss_mib()))
            if (run + 1) % 20 == 0:
                print(f"{run + 1} jobs: RSS {samples[-1][1]:.1f} MiB, peak {samples[-1][2]:.1f} "
                      f"MiB", file=sys.stderr, flush=True)
    after_warmup = samples[warmup - 1]
    end = samples[-1]
    return {
        "runs": runs, "warmup": warmup, "steps": steps, "threads": threads, "ratio": ratio,
        "peak_rss_after_warmup_mib": after_warmup[2], "peak_rss_end_mib": end[2],
        "peak_growth_percent": 100 * (end[2] - after_warmup[2]) / after_warmup[2],
        "rss_after_warmup_mib": after_warmup[1], "rss_end_mib": end[1],
        "median_seconds_per_job": float(np.median(seconds)),
        "machine": platform.processor() or platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ratio", type=float, default=0.03, help="CS measurement ratio m/n.")
    args = parser.parse_args()
    result = soak(cached_artifact(args.weights, 1), args.runs, args.warmup, args.steps,
                  args.threads, args.ratio)
    json.dump(result, sys.stdout, indent=2)
    print()
    if result["peak_growth_percent"] >= 10:
        raise SystemExit(f"peak RSS grew {result['peak_growth_percent']:.1f} % after warm-up")


if __name__ == "__main__":
    main()
