"""The defaults against the classical answer, on every task (the product as users run it).

For each task point, the same real photos and measurements (problems from
``gs.problems.simulated_problem`` keyed by (seed, image index)) are recovered by the
task's classical answer (``classical``: TV least squares, biharmonic interpolation,
bicubic, BM3D, TV deconvolution), by no surgery (the c = 0 generator alone) and by
surgery with the artifact's recorded defaults (``surgery``: per task the answer of
``gs.settings.MEASURED_DEFAULTS``). Prints, per photo group, the mean ± sd PSNR of each,
surgery's gap to the classical answer on the mean and on its worst photo, which answers
surgery returned, and the seconds per image.

Points marked "file" take the observation as a user has it, not as an array: ``y`` is
written as an 8-bit PNG (with the mask as a PNG for inpainting) and read back by
``gs.jobs.inputs.observed_problem``, the path ``gs-invert`` takes without ``--simulate``.
The brush point paints strokes over the photo (``brush_mask``), the page's use. With
``--dip N`` Deep Image Prior at its paper budget also runs on the first N photos of each
group for the points in ``DIP_POINTS`` (minutes per image on a CPU), and a second table
sets it beside the others on those photos.

    python benchmarks/classical.py --weights weights/dcgan_faces.tar --split test
    python benchmarks/classical.py --split val     # the photos the defaults were chosen on
    python benchmarks/classical.py --points "CS 8 %" "SR x4" --dip 2
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from cache import cached_artifact

from gs.artifacts import load
from gs.experiments.evalset import faces, non_faces
from gs.io import write_image
from gs.jobs.inputs import observed_problem
from gs.jobs.request import InversionJob
from gs.methods import build_method
from gs.metrics import psnr
from gs.problems import OperatorOptions, Problem, build_operator, simulated_problem

#: (label, task, options) of every task point measured; ``"file"`` in options makes the
#: observation a PNG read back as ``gs-invert`` reads a user's file, ``"brush"`` paints
#: the mask (both are benchmark keys, not operator options).
POINTS = [
    ("CS 2 %", "cs", {"ratio": 0.02}),
    ("CS 8 %", "cs", {"ratio": 0.08}),
    ("CS 33 %", "cs", {"ratio": 0.33}),
    ("inpainting 10 %", "inpaint", {"keep": 0.10}),
    ("inpainting 5 %", "inpaint", {"keep": 0.05}),
    ("SR x4", "sr", {"scale": 4}),
    ("SR x8", "sr", {"scale": 8}),
    ("denoising 0.05", "denoise", {"noise_std": 0.05}),
    ("denoising 0.1", "denoise", {"noise_std": 0.1}),
    ("denoising 0.2", "denoise", {"noise_std": 0.2}),
    ("inpainting brush, file", "inpaint", {"brush": True, "file": True}),
    ("inpainting 10 %, file", "inpaint", {"keep": 0.10, "file": True}),
    ("SR x4, file", "sr", {"scale": 4, "file": True}),
    ("denoising 0.1, file", "denoise", {"noise_std": 0.1, "file": True}),
    ("deblur Gaussian 1.5", "deblur", {"sigma": 1.5, "noise_std": 0.01}),
    ("deblur motion 9", "deblur", {"length": 9.0, "angle": 30.0, "noise_std": 0.01}),
]
METHODS = ("classical", "no-surgery", "surgery")
#: The points where Deep Image Prior runs beside the others with ``--dip``.
DIP_POINTS = ("CS 8 %", "SR x4")


def brush_mask(side: int, index: int, seed: int) -> np.ndarray:
    """(side, side) bools, False under five thick random strokes (13–21 % of the
    pixels), as a user paints over what should be regenerated; keyed by (seed, index)."""
    from skimage.draw import disk, line

    rng = np.random.default_rng([seed, index, 7])
    painted = np.zeros((side, side), dtype=bool)
    radius = max(1, side // 24)
    for _ in range(5):
        points = [rng.integers(0, side, 2)]
        for _ in range(3):  # a stroke of three segments, each turning a little
            points.append(np.clip(points[-1] + rng.integers(-side // 3, side // 3 + 1, 2),
                                  0, side - 1))
        for start, stop in zip(points, points[1:]):
            for r, c in zip(*line(*start, *stop)):
                painted[disk((r, c), radius, shape=painted.shape)] = True
    return ~painted


def file_problem(folder: Path, index: int, image: np.ndarray, task: str, options: dict,
                 seed: int) -> Problem:
    """The problem ``gs-invert`` reads from a user's PNG (and mask PNG) of the simulated
    observation; the truth kept for scoring."""
    values = {k: v for k, v in options.items() if k not in ("file", "brush")}
    mask = None
    if task == "inpaint":  # the user has the photo with holes and the mask of kept pixels
        if options.get("brush"):
            keep = brush_mask(image.shape[-1], index, seed)
        else:  # the pixels the simulated operator keeps
            operator = build_operator(OperatorOptions(task, **values), image.shape, seed, index)
            keep = operator.A(np.ones((1, *image.shape), np.float32))[0, 0] > 0
        values.pop("keep", None)
        observed = image * keep
        mask = write_image(folder / f"mask_{index}.png", keep[None].astype(np.float32),
                           overwrite=True)
    else:
        observed = simulated_problem(Path("x"), index, image, OperatorOptions(task, **values),
                                     seed).y
    path = write_image(folder / f"y_{index}.png", np.clip(observed, 0, 1), overwrite=True)
    job = InversionJob(artifact=None, images=(path,), output_dir=folder, mask=mask,
                       operator=OperatorOptions(task, **values), seed=seed)
    problem = observed_problem(path, index, job, image.shape)
    return Problem(problem.path, index, problem.operator, problem.y, truth=image)


def problems_for(task: str, options: dict, photos, seed: int) -> list[Problem]:
    """Each photo's problem of one task point, simulated or read from files."""
    if "file" not in options and "brush" not in options:
        return [simulated_problem(Path(name), i, image, OperatorOptions(task, **options), seed)
                for i, (name, image, _) in enumerate(photos)]
    with tempfile.TemporaryDirectory() as folder:
        return [file_problem(Path(folder), i, image, task, options, seed)
                for i, (_, image, _) in enumerate(photos)]


def measure(artifact, label: str, task: str, options: dict, photos, seed: int,
            methods=METHODS) -> dict:
    """PSNR per photo and seconds per image of every method on one task point."""
    problems = problems_for(task, options, photos, seed)
    row: dict = {"label": label, "groups": [group for _, _, group in photos]}
    for name in methods:
        method = build_method(name, task=task, artifact=artifact)
        start = time.perf_counter()
        results = method.solve(problems, seed=seed)
        row[name] = {"psnr": [psnr(r.image, p.truth) for r, p in zip(results, problems)],
                     "seconds": (time.perf_counter() - start) / len(problems),
                     "answers": [r.details.get("answer") for r in results]}
    return row


def print_row(row: dict, methods=METHODS) -> None:
    for group in ("faces", "other"):
        idx = [i for i, g in enumerate(row["groups"]) if g == group]
        if not idx:
            continue
        values = {name: np.array(row[name]["psnr"])[idx] for name in methods}
        gap = values["surgery"] - values["classical"]
        answers = collections.Counter(row["surgery"]["answers"][i] for i in idx)
        cells = " | ".join(f"{values[n].mean():.2f} ± {values[n].std():.2f}" for n in methods)
        print(f"| {row['label']} | {group} | {cells} | {gap.mean():+.2f} ({gap.min():+.2f}) | "
              f"{', '.join(f'{a} {k}' for a, k in sorted(answers.items()))} | "
              + " / ".join(f"{row[n]['seconds']:.1f}" for n in methods) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights/dcgan_faces.tar"))
    parser.add_argument("--split", choices=("test", "val"), default="test")
    parser.add_argument("--faces", type=int, default=8)
    parser.add_argument("--others", type=int, default=None, help="default: all of the split")
    parser.add_argument("--points", nargs="*", default=[label for label, _, _ in POINTS])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--dip", type=int, default=0,
                        help="also Deep Image Prior on the first N photos of each group")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    artifact = load(cached_artifact(args.weights, 1), device="cpu")
    others = args.others if args.others is not None else (7 if args.split == "test" else 5)
    photos = ([(n, im, "faces") for n, im in faces(args.faces, split=args.split)]
              + [(n, im, "other") for n, im in non_faces(others, split=args.split)])
    print("| task | photos | classical | no surgery (c=0) | surgery (c=1), defaults | "
          "surgery − classical: mean (worst photo) | surgery's answers | s/img |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for label, task, options in POINTS:
        if label in args.points:
            rows.append(measure(artifact, label, task, options, photos, args.seed))
            print_row(rows[-1])
    if args.dip:
        subset = ([p for p in photos if p[2] == "faces"][:args.dip]
                  + [p for p in photos if p[2] == "other"][:args.dip])
        with_dip = (*METHODS, "dip")
        print("\n| task | photos | classical | no surgery (c=0) | surgery (c=1), defaults | "
              "Deep Image Prior | surgery − classical | surgery's answers | s/img |")
        print("|---|---|---|---|---|---|---|---|---|")
        for label, task, options in POINTS:
            if label in args.points and label in DIP_POINTS:
                rows.append(measure(artifact, label, task, options, subset, args.seed,
                                    with_dip))
                print_row(rows[-1], with_dip)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
