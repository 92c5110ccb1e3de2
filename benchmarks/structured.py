"""Structured (matrix-free) vs dense Gaussian compressed sensing, and CS at 512 px.

Quality, on the DCGAN face weights and real 64 px photos:

    nice -n 19 python benchmarks/structured.py quality --weights weights/dcgan_faces.tar

solves every photo with both operators at each ratio (same seeds, noise level, settings)
and prints PSNR per operator and the per-image difference structured − Gaussian
(mean ± sd and the worst image).

Speed of ``A`` then ``Aᵀ`` on a batch of 8 (median of 15), both operators, numpy and
torch, same run: ``nice -n 19 python benchmarks/structured.py speed``.

Scale, CS of one 512×512 RGB image at m = n/10 with the biggan-deep-512 architecture
(random weights) cut at c = 7:

    nice -n 19 python benchmarks/structured.py scale --steps 2

prints the operator's own memory (numpy state and the peak RSS growth of building it
and applying A and Aᵀ), the whole run's peak RSS, and what a dense A would need.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from pathlib import Path

import numpy as np
from cache import cache_path

from gs.invert import invert
from gs.metrics import psnr
from gs.operators import GaussianCS, make_operator
from gs.problems import simulate
from gs.seeding import Stream, problem_rng


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality(args: argparse.Namespace) -> None:
    from cache import cached_artifact
    from photos import faces, non_faces

    from gs.artifacts import load

    art = load(cached_artifact(args.weights, args.cut))
    photos = faces(args.faces) + non_faces(args.others)
    names = [name for name, _ in photos]
    truths = [img for _, img in photos]
    settings = art.metadata.settings_for("cs").override(
        keep_restarts_after=args.keep_restarts_after, restarts=args.restarts, steps=args.steps)
    table = []
    print(f"{'m/n':>5} {'gaussian dB':>14} {'structured dB':>14} {'diff mean ± sd':>16} "
          f"{'worst':>7} {'s/img G/S':>11}", flush=True)
    for ratio in (float(r) for r in args.ratios.split(",")):
        row: dict = {"ratio": ratio, "images": names}
        for operator in ("gaussian", "structured"):
            ops = [make_operator("cs", t.shape, problem_rng(args.seed, i, Stream.OPERATOR),
                                 ratio=ratio, operator=operator) for i, t in enumerate(truths)]
            ys = [simulate(t, op, problem_rng(args.seed, i, Stream.NOISE))
                  for i, (t, op) in enumerate(zip(truths, ops))]
            start = time.perf_counter()
            results = invert(art, ops, ys, settings, seed=args.seed)
            row[f"{operator}_seconds_per_image"] = (time.perf_counter() - start) / len(truths)
            row[operator] = [psnr(r.image, t) for r, t in zip(results, truths)]
            row["measurements"] = ops[0].measurements
        diff = np.array(row["structured"]) - np.array(row["gaussian"])
        row["difference"] = diff.tolist()
        table.append(row)
        print(f"{ratio:>5.2f} {np.mean(row['gaussian']):>8.2f} ± {np.std(row['gaussian']):<4.2f}"
              f"{np.mean(row['structured']):>8.2f} ± {np.std(row['structured']):<4.2f} "
              f"{diff.mean():>+7.2f} ± {diff.std():<5.2f} {diff.min():>+7.2f} "
              f"{row['gaussian_seconds_per_image']:>5.1f}/{row['structured_seconds_per_image']:<5.1f}",
              flush=True)
        if args.json:
            args.json.write_text(json.dumps(table, indent=2))


def _random_biggan_folder(folder: Path) -> Path:
    """A biggan-deep-512 release folder with random weights (made once, then reused)."""
    from gs.models.biggan import BIGGAN_DEEP_512
    from gs.testing.biggan import random_biggan, write_release_folder

    if (folder / "pytorch_model.bin").exists():
        return folder
    return write_release_folder(folder, random_biggan(BIGGAN_DEEP_512, power_iterations=20))


def _max_rss_mib(time_output: str) -> float:
    for line in time_output.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1]) / 1024
    raise RuntimeError("GNU time printed no maximum resident set size")


def scale(args: argparse.Namespace) -> None:
    shape = (3, 512, 512)
    n = math.prod(shape)
    m = n // 10
    x = np.random.default_rng(0).random((1, *shape), dtype=np.float32)
    before = peak_rss_mib()
    start = time.perf_counter()
    op = make_operator("cs", shape, problem_rng(0, 0, Stream.OPERATOR), measurements=m,
                       operator="structured")
    op.A_adjoint(op.A(x))
    report = {
        "image_shape": shape, "n": n, "m": m, "operator": op.spec(),
        "operator_state_mib": op.nbytes / 2**20,
        "operator_peak_rss_growth_mib": peak_rss_mib() - before,
        "operator_build_and_apply_seconds": time.perf_counter() - start,
        "dense_matrix_gib": GaussianCS.matrix_bytes(m, n) / 2**30,
    }
    print(json.dumps(report), flush=True)

    import subprocess
    import sys
    import tempfile

    from skimage import data
    from skimage.io import imsave

    from gs.export import export_artifact

    folder = _random_biggan_folder(cache_path("biggan512_random"))
    artifact = cache_path(f"biggan512_random_c{args.cut}.pt")
    if not artifact.exists():
        export_artifact(folder, artifact, cut=args.cut, model="biggan")
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "astronaut.png"
        imsave(photo, data.astronaut())  # 512 x 512 RGB
        command = ["/usr/bin/time", "-v", str(Path(sys.executable).with_name("gs-invert")),
                   str(artifact), str(photo), "--task", "cs", "--ratio", "0.1", "--simulate",
                   "--steps", str(args.steps), "--inner-iterations", str(args.inner),
                   "--restarts", "1", "--device", "cpu", "-o", str(Path(tmp) / "out"),
                   "--report", str(Path(tmp) / "report.json")]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        run = json.loads((Path(tmp) / "report.json").read_text())
    report.update({
        "cut": args.cut, "steps": args.steps, "inner_iterations": args.inner,
        "whole_run_seconds": time.perf_counter() - start,
        "whole_run_peak_rss_mib": _max_rss_mib(done.stderr),
        "run_report": run,
    })
    print(json.dumps(report), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def speed(args: argparse.Namespace) -> None:
    """Median seconds of A followed by Aᵀ on a batch, Gaussian vs structured, same run."""
    import statistics

    import torch

    rows = []
    for side in args.sides:
        shape = (3, side, side)
        n = math.prod(shape)
        m = n // 10
        x = np.random.default_rng(0).random((args.batch, *shape), dtype=np.float32)
        timings = {}
        for operator in ("gaussian", "structured"):
            op = make_operator("cs", shape, problem_rng(0, 0, Stream.OPERATOR),
                               measurements=m, operator=operator)
            for backend, array in (("numpy", x), ("torch", torch.from_numpy(x))):
                op.A_adjoint(op.A(array))  # warm-up: constants uploaded, BLAS started
                times = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    op.A_adjoint(op.A(array))
                    times.append(time.perf_counter() - start)
                timings[(operator, backend)] = statistics.median(times)
        for backend in ("numpy", "torch"):
            g, s = timings[("gaussian", backend)], timings[("structured", backend)]
            rows.append({"side": side, "n": n, "m": m, "backend": backend,
                         "gaussian_s": g, "structured_s": s, "speedup": g / s})
            print(f"{side:>4} px  n={n:<7} m={m:<6} {backend:<6} gaussian {g * 1e3:8.2f} ms  "
                  f"structured {s * 1e3:8.2f} ms  ×{g / s:.1f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    q.add_argument("--cut", type=int, default=1)
    q.add_argument("--faces", type=int, default=2)
    q.add_argument("--others", type=int, default=2)
    q.add_argument("--ratios", default="0.02,0.1,0.5")
    q.add_argument("--keep-restarts-after", type=int, default=1)
    q.add_argument("--restarts", type=int, help="default: the artifact's recommended")
    q.add_argument("--steps", type=int, help="default: the artifact's recommended")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--json", type=Path)
    s = sub.add_parser("scale")
    s.add_argument("--cut", type=int, default=7)
    s.add_argument("--steps", type=int, default=2)
    s.add_argument("--inner", type=int, default=2)
    s.add_argument("--json", type=Path)
    t = sub.add_parser("speed")
    t.add_argument("--sides", type=int, nargs="+", default=[64, 128])
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--repeats", type=int, default=15)
    t.add_argument("--json", type=Path)
    args = parser.parse_args()
    {"quality": quality, "scale": scale, "speed": speed}[args.command](args)


if __name__ == "__main__":
    main()
