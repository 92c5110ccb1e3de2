"""``make demo`` and ``make demo-mnist``: the classical answer, no surgery and surgery, every task.

``make demo`` (``--weights``): the public DCGAN face weights exported at c = 1, on real
photos it has never seen (faces and other photos), for compressed sensing (m/n = 8 % and
33 %), inpainting (10 % of the pixels), super-resolution (×4) and denoising (σ = 0.1).
No surgery runs the same artifact's head (c = 0).

``make demo-mnist`` (``--pretrained mnist-dcgan --test-images DIR``): a generator on held-out
images of the domain it was trained on, the paper's setting. The pretrained generator is
exported at c = 0 and c = 1 (into ``--out``, once), and the first ``--n`` test images (sorted,
each fitted to the artifact's image shape as ``gs-invert`` fits a ground-truth image) are
recovered at the in-domain benchmark's points (:mod:`in_domain`): compressed sensing at
m = 100 and 200, inpainting 10 %, SR ×2 and denoising σ = 0.2. No surgery is the c = 0
artifact with its own recorded settings.

Every method recovers the same images from the same measurements (problems keyed by
(seed, image index)): the task's classical answer, no surgery, and surgery (the c = 1
artifact's defaults, which choose between the generator and the classical answer per
image). Prints a PSNR table (the best marked; seconds per image) and writes a captioned
image grid ``OUT/demo_grid.png``.

    python benchmarks/demo.py --weights weights/dcgan_faces.tar --out demo_out
    python benchmarks/demo.py --pretrained mnist-dcgan --test-images demo_out/mnist/data/test \\
        --out demo_out/mnist
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from cache import cached_artifact
from classical import POINTS as PHOTO_POINTS
from classifier import image_files, read_images
from in_domain import POINTS as IN_DOMAIN_POINTS
from photos import faces, non_faces

from gs.artifacts import Artifact, load
from gs.io import image_grid, write_image
from gs.methods import build_method
from gs.methods.classical import classical_name
from gs.metrics import psnr
from gs.problems import OperatorOptions, simulated_problem

#: One demo problem: (label, task, operator options).
Point = tuple[str, str, dict]
#: Real photos and a prior from another domain: some of the classical benchmark's points.
TASKS: list[Point] = [point for point in PHOTO_POINTS if point[0] in (
    "CS 8 %", "CS 33 %", "inpainting 10 %", "SR x4", "denoising 0.1")]
#: Held-out images of the generator's own domain: some of the in-domain benchmark's points.
IN_DOMAIN_TASKS: list[Point] = [point for point in IN_DOMAIN_POINTS if point[0] in (
    "CS m=100", "CS m=200", "inpainting 10 %", "SR x2", "denoising 0.2")]
#: The columns: the registry's method names, shown under these labels.
COLUMNS = {"classical": "classical", "no-surgery": "no surgery (c=0)", "surgery": "surgery"}
#: Side in pixels the grid enlarges each image to at least (captions stay legible).
GRID_SIDE = 128


def _answer(result, name: str) -> str:
    """Surgery's answer, as its report gives it (``: blend 0.75``), for the caption."""
    details = result.details
    if name != "surgery" or "answer" not in details:
        return ""
    weight = details.get("weight")
    return f": {details['answer']}" + (f" {weight:g}" if details["answer"] == "blend" else "")


def compare(artifact: Artifact, uncut: Artifact, images: Sequence[tuple[str, np.ndarray]],
            points: Sequence[Point], out: Path, seed: int, steps: int | None = None,
            tasks: Sequence[str] | None = None, grid_images: int | None = None
            ) -> dict[str, dict[str, list[float]]]:
    """Recover ``images`` ((name, (C, H, W) float32 in [0, 1]) at the artifact's shape) at
    every point with the classical answer, no surgery (``uncut``) and surgery
    (``artifact``); print the table, write ``out/demo_grid.png`` (the first
    ``grid_images`` images; all: None) and return PSNRs by task label and method.
    ``steps`` overrides the inversion's step cap (smoke runs); ``tasks`` keeps only
    those labels."""
    out.mkdir(parents=True, exist_ok=True)
    shown = slice(None, grid_images)
    names = [name for name, _ in images]
    rows, captions = [[img for _, img in images][shown]], [names[shown]]
    sources = {"classical": None, "no-surgery": uncut, "surgery": artifact}
    table: dict[str, dict[str, list[float]]] = {}
    labels = dict(COLUMNS, surgery=f"surgery (c={artifact.metadata.cut})")
    print(f"{'task':>16} | " + " | ".join(f"{label:>18}" for label in labels.values())
          + " | seconds/image")
    for label, task, options in points:
        if tasks is not None and label not in tasks:
            continue
        problems = [simulated_problem(Path(name), i, image, OperatorOptions(task, **options),
                                      seed) for i, (name, image) in enumerate(images)]
        scores, seconds = {}, {}
        for name, source in sources.items():
            settings = (None if source is None or steps is None
                        else source.metadata.settings_for(task).override(steps=steps))
            method = build_method(name, task=task, artifact=source or artifact,
                                  settings=settings)
            start = time.perf_counter()
            results = method.solve(problems, seed=seed)
            seconds[name] = (time.perf_counter() - start) / len(problems)
            scores[name] = [psnr(r.image, p.truth) for r, p in zip(results, problems)]
            rows.append([r.image for r in results][shown])
            caption = classical_name(task) if name == "classical" else name
            captions.append([
                f"{caption}{_answer(result, name)}\n{label}\n{value:.2f} dB"
                for value, result in zip(scores[name], results)][shown])
            for image, value, result in zip(names, scores[name], results):
                answer = result.details.get("answer", "")
                print(f"{'':>16}   {image:>16} {name:>10}: {value:.2f} dB {answer}")
        table[label] = scores
        best = max(scores, key=lambda name: np.mean(scores[name]))
        cells = [f"{np.mean(v):>7.2f} ± {np.std(v):.2f}{' *' if n == best else '  '}"
                 for n, v in scores.items()]
        print(f"{label:>16} | " + " | ".join(f"{c:>18}" for c in cells) + " | "
              + " / ".join(f"{seconds[n]:.2f}" for n in COLUMNS))
    side = int(artifact.metadata.image_shape[-1])
    grid = out / "demo_grid.png"
    write_image(grid, image_grid(rows, captions=captions, scale=max(3, -(-GRID_SIDE // side))),
                overwrite=True)
    print(f"grid (rows: truth, then per task the classical answer, no surgery, surgery): {grid}")
    return table


def run(weights: Path, out: Path, n_faces: int, n_other: int, seed: int,
        steps: int | None = None, tasks: list[str] | None = None
        ) -> dict[str, dict[str, list[float]]]:
    """``make demo``: the face weights on real photos; PSNRs by task label and method."""
    out.mkdir(parents=True, exist_ok=True)
    artifact = load(cached_artifact(weights, 1, path=out / "dcgan_c1.pt"), device="cpu")
    size = artifact.metadata.image_shape[1]
    photos = faces(n_faces, size) + non_faces(n_other, size)
    return compare(artifact, artifact, photos, TASKS, out, seed, steps, tasks)


def run_pretrained(name: str, test_folder: Path, out: Path, n: int, seed: int,
                   steps: int | None = None, tasks: list[str] | None = None,
                   grid_images: int | None = None) -> dict[str, dict[str, list[float]]]:
    """``make demo-mnist``: pretrained generator ``name`` on the first ``n`` images of
    ``test_folder`` (its own domain, held out); PSNRs by task label and method."""
    from gs.export.api import export_pretrained
    from gs.weights.catalog import get_pretrained

    out.mkdir(parents=True, exist_ok=True)
    artifact, uncut = (load(path, device="cpu") for path in
                       export_pretrained(name, out, (get_pretrained(name).cut, 0)))
    files = image_files(test_folder, n)
    images = list(zip((path.stem for path in files),
                      read_images(files, tuple(artifact.metadata.image_shape))))
    return compare(artifact, uncut, images, IN_DOMAIN_TASKS, out, seed, steps, tasks,
                   grid_images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--pretrained", metavar="NAME",
                        help="A pretrained generator (gs weights list) instead of --weights; "
                             "needs --test-images.")
    parser.add_argument("--test-images", type=Path,
                        help="--pretrained: held-out images of its domain (gs data fetch's "
                             "DIR/test).")
    parser.add_argument("--n", type=int, default=16, help="--pretrained: test images used.")
    parser.add_argument("--grid-images", type=int, default=None,
                        help="Images shown in the grid (default: all).")
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--faces", type=int, default=4)
    parser.add_argument("--others", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="Override (smoke runs).")
    parser.add_argument("--tasks", nargs="*", default=None,
                        help="Only these: " + ", ".join(label for label, _, _ in TASKS)
                        + " (photos); " + ", ".join(label for label, _, _ in IN_DOMAIN_TASKS)
                        + " (--pretrained).")
    args = parser.parse_args()
    if (args.pretrained is None) != (args.test_images is None):
        parser.error("--pretrained and --test-images go together")
    if args.pretrained is not None:
        run_pretrained(args.pretrained, args.test_images, args.out, args.n, args.seed,
                       args.steps, args.tasks, args.grid_images)
    else:
        run(args.weights, args.out, args.faces, args.others, args.seed, args.steps, args.tasks)


if __name__ == "__main__":
    main()
