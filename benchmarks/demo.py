"""``make demo``: the classical answer, no surgery and surgery on real photos, every task.

Exports c=0 and c=1 artifacts of the public DCGAN face weights, then for compressed
sensing (m/n = 8 % and 33 %), inpainting (10 % of the pixels), super-resolution (×4) and
denoising (σ = 0.1) recovers the same photos, from the same measurements, with the
task's classical answer (Lasso-DCT, biharmonic interpolation, bicubic, BM3D), no surgery
(c = 0) and surgery (the c = 1 artifact's defaults, which choose between the generator
and the classical answer per image). Prints a PSNR table (the best marked) and writes a
captioned image grid.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from cache import cached_artifact
from classical import POINTS
from photos import faces, non_faces

from gs.artifacts import load
from gs.io import image_grid, write_image
from gs.methods import build_method
from gs.methods.classical import classical_name
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem

#: (label, task, operator options) of the demo's problems: some of the benchmark's.
TASKS = [point for point in POINTS if point[0] in (
    "CS 8 %", "CS 33 %", "inpainting 10 %", "SR x4", "denoising 0.1")]
#: The columns: the registry's method names, shown under these labels.
COLUMNS = {"classical": "classical", "no-surgery": "no surgery (c=0)", "surgery": "surgery (c=1)"}


def _answer(result, name: str) -> str:
    """Surgery's answer, as its report gives it (``: blend 0.75``), for the caption."""
    details = result.details
    if name != "surgery" or "answer" not in details:
        return ""
    weight = details.get("weight")
    return f": {details['answer']}" + (f" {weight:g}" if details["answer"] == "blend" else "")


def run(weights: Path, out: Path, n_faces: int, n_other: int, seed: int,
        steps: int | None = None, tasks: list[str] | None = None
        ) -> dict[str, dict[str, list[float]]]:
    """Run the demo; return PSNRs by task label and method. ``steps`` overrides the
    inversion's step cap (smoke runs); ``tasks`` keeps only those labels."""
    out.mkdir(parents=True, exist_ok=True)
    artifact = load(cached_artifact(weights, 1, path=out / "dcgan_c1.pt"), device="cpu")
    size = artifact.metadata.image_shape[1]
    photos = faces(n_faces, size) + non_faces(n_other, size)
    names = [name for name, _ in photos]
    rows, captions = [[img for _, img in photos]], [list(names)]
    table: dict[str, dict[str, list[float]]] = {}
    print(f"{'task':>16} | " + " | ".join(f"{label:>18}" for label in COLUMNS.values())
          + " | seconds/image")
    for label, task, options in TASKS:
        if tasks is not None and label not in tasks:
            continue
        problems = [simulated_problem(Path(name), i, image, OperatorOptions(task, **options),
                                      seed) for i, (name, image) in enumerate(photos)]
        scores, seconds = {}, {}
        for name in COLUMNS:
            settings = (None if name == "classical" or steps is None
                        else artifact.metadata.settings_for(task).override(steps=steps))
            method = build_method(name, task=task, artifact=artifact, settings=settings)
            start = time.perf_counter()
            results = method.solve(problems, seed=seed)
            seconds[name] = (time.perf_counter() - start) / len(problems)
            scores[name] = [psnr(r.image, p.truth) for r, p in zip(results, problems)]
            rows.append([r.image for r in results])
            caption = classical_name(task) if name == "classical" else name
            captions.append([
                f"{caption}{_answer(result, name)}\n{label}\n{value:.2f} dB"
                for value, result in zip(scores[name], results)])
            for photo, value, result in zip(names, scores[name], results):
                answer = result.details.get("answer", "")
                print(f"{'':>16}   {photo:>16} {name:>10}: {value:.2f} dB {answer}")
        table[label] = scores
        best = max(scores, key=lambda name: np.mean(scores[name]))
        cells = [f"{np.mean(v):>7.2f} ± {np.std(v):.2f}{' *' if n == best else '  '}"
                 for n, v in scores.items()]
        print(f"{label:>16} | " + " | ".join(f"{c:>18}" for c in cells) + " | "
              + " / ".join(f"{seconds[n]:.1f}" for n in COLUMNS))
    grid = out / "demo_grid.png"
    write_image(grid, image_grid(rows, captions=captions, scale=3), overwrite=True)
    print(f"grid (rows: truth, then per task the classical answer, no surgery, surgery): {grid}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--faces", type=int, default=4)
    parser.add_argument("--others", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="Override (smoke runs).")
    parser.add_argument("--tasks", nargs="*", default=None,
                        help=f"Only these ({', '.join(label for label, _, _ in TASKS)}).")
    args = parser.parse_args()
    run(args.weights, args.out, args.faces, args.others, args.seed, args.steps, args.tasks)


if __name__ == "__main__":
    main()
