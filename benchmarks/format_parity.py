"""One recovery from either format: the same artifact as TorchScript and as ONNX, through
the one-call API (``gs.Surgery``, what gs-invert gives), on the bundled test faces.

Each photo is measured by the seeded CS operator (m measurements, seed 0, the photo's
index) and recovered with the artifact's recorded defaults through both formats. With
``--perturb eps`` every observation is multiplied by ``1 + eps`` first (eps = 2.4e-7 is
about two float32 roundings): the recovery's own sensitivity to rounding, on one format,
to set against the gap between the two formats.

    python benchmarks/format_parity.py --weights weights/dcgan_faces.tar --cut 1
    python benchmarks/format_parity.py ... --perturb 2.4e-7
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from cache import cached_artifact
from photos import faces

import gs
from gs.metrics import psnr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--cut", type=int, default=1)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--measurements", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perturb", type=float, default=0.0)
    parser.add_argument("--formats", nargs="+", default=["pt", "onnx"])
    args = parser.parse_args()
    photos = faces(args.images)
    for suffix in args.formats:
        art = gs.load(cached_artifact(args.weights, args.cut,
                                      path=Path(f"benchmarks/.dcgan_c{args.cut}.{suffix}")))
        surgery = gs.Surgery(art)
        values = []
        for index, (name, truth) in enumerate(photos):
            op = gs.operator("cs", art.metadata.image_shape, measurements=args.measurements,
                             seed=args.seed, index=index)
            y = np.asarray(op(truth)) * np.float32(1 + args.perturb)
            start = time.perf_counter()
            rec = surgery(y, op)
            values.append(psnr(rec.image, truth))
            print(f"{suffix:5s} {name:15s} {values[-1]:6.2f} dB  answer {rec.details.get('answer')}"
                  f" weight {rec.details.get('weight')}  loss {rec.measurement_loss:.3e}  "
                  f"{rec.evaluations} evaluations  {time.perf_counter() - start:.0f} s",
                  flush=True)
        print(f"{suffix:5s} mean {np.mean(values):.2f} dB", flush=True)


if __name__ == "__main__":
    main()
