"""One page job: the photo as truth, the chosen task, surgery and no surgery.

Everything goes through :func:`gs.jobs.run_job` (the same path as ``gs-invert``),
once with the chosen artifact and, when the server also holds the c = 0
artifact of the same weights, once with that one ("no surgery"). A painted
inpainting mask makes the job an observation-mode inpainting job (the masked
photo plus its mask, as ``gs-invert --mask`` reads them); every other task
simulates the measurements from the photo with the job's seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gs.compare import column_label, comparison_picture
from gs.errors import UserInputError
from gs.io import read_image, resize_image, write_image, write_json
from gs.jobs import InversionJob, OperatorOptions, list_inputs, load_problems, run_job
from gs.metrics import psnr, ssim
from gs.operators import SR_SCALES, get_task
from gs.serve.catalog import Catalog, ServedArtifact

#: The tasks the page offers (the registry's ``raw`` identity task has nothing to show).
PAGE_TASKS = ("cs", "inpaint", "sr", "denoise")
#: Upper bounds a request may ask for (a public page must not book the CPU for hours).
MAX_STEPS = 500
MAX_RESTARTS = 8


@dataclass(frozen=True)
class PageRequest:
    """What a client asks for; field names are the API's form fields.

    Attributes:
        artifact: id of a served artifact (``GET /api/artifacts``).
        task: ``cs``, ``inpaint``, ``sr`` or ``denoise``.
        ratio: CS measurement ratio m/n in (0, 1].
        keep: inpainting without a painted mask: fraction of random pixels kept.
        scale: super-resolution factor 2, 4 or 8.
        noise_std: measurement noise std (None: the task's default).
        seed: draws the operator, the noise and the initial latents.
        steps, restarts: overrides of the artifact's recommended settings.
        compare: also run the no-surgery (c = 0) artifact when one is served.
    """

    artifact: str
    task: str = "cs"
    ratio: float = 0.1
    keep: float = 0.1
    scale: int = 4
    noise_std: float | None = None
    seed: int = 0
    steps: int | None = None
    restarts: int | None = None
    compare: bool = True

    def __post_init__(self) -> None:
        if self.task not in PAGE_TASKS:
            raise UserInputError(f"task must be one of {', '.join(PAGE_TASKS)}, "
                                 f"got {self.task!r}")
        if self.seed < 0:
            raise UserInputError(f"seed must be non-negative, got {self.seed}")
        for name in ("ratio", "keep"):
            if not 0 < getattr(self, name) <= 1:
                raise UserInputError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.scale not in SR_SCALES:
            raise UserInputError(f"scale must be one of {', '.join(map(str, SR_SCALES))}, "
                                 f"got {self.scale}")
        if self.noise_std is not None and not 0 <= self.noise_std <= 1:
            raise UserInputError(f"noise_std must be in [0, 1], got {self.noise_std}")
        for name, top in (("steps", MAX_STEPS), ("restarts", MAX_RESTARTS)):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= top:
                raise UserInputError(f"{name} must be between 1 and {top}, got {value}")

    def options(self) -> OperatorOptions:
        """The forward model's options, as ``gs-invert`` flags would give them."""
        given = {"ratio": self.ratio, "keep": self.keep, "scale": self.scale,
                 "noise_std": self.noise_std}
        reads = get_task(self.task).options
        return OperatorOptions(task=self.task, **{k: v for k, v in given.items() if k in reads})


@dataclass
class Column:
    """One recovery of a job: which artifact, its label, where its image is."""

    key: str
    label: str
    served: ServedArtifact


def columns(request: PageRequest, catalog: Catalog) -> list[Column]:
    """No surgery first (when asked and available), then the chosen artifact."""
    chosen = catalog.get(request.artifact)
    out = []
    partner = catalog.no_surgery_partner(chosen) if request.compare else None
    if partner is not None:
        out.append(Column("no_surgery", column_label(0), partner))
    out.append(Column("surgery", column_label(chosen.metadata.cut), chosen))
    return out


def prepare_inputs(folder: Path, upload: Path, mask_upload: Path | None,
                   image_shape: tuple[int, int, int]) -> tuple[Path, Path | None]:
    """Write the job's truth (center crop resized to the artifact) and its mask.

    Returns the image ``run_job`` reads (the truth, or the masked photo when a
    mask was painted) and the mask file (white = kept) or None.
    """
    c, h, w = image_shape
    truth = resize_image(read_image(upload, "image", channels=c), (h, w))
    write_image(folder / "truth.png", truth)
    if mask_upload is None:
        return folder / "truth.png", None
    keep = resize_image(read_image(mask_upload, "mask", channels=1), (h, w))[0] > 0.5
    if not keep.any():
        raise UserInputError("mask hides every pixel; leave some of the photo unpainted")
    write_image(folder / "mask.png", keep[None].astype(np.float32))
    truth = read_image(folder / "truth.png", "image", channels=c)
    write_image(folder / "observed.png", truth * keep[None])
    return folder / "observed.png", folder / "mask.png"


def run_page_job(
    folder: Path,
    request: PageRequest,
    catalog: Catalog,
    upload: Path,
    mask_upload: Path | None,
    on_step: Callable[[str, Any], None],
    on_column: Callable[[str], None] = lambda key: None,
) -> dict[str, Any]:
    """Run a page job inside ``folder``; return its report (also ``report.json``).

    ``on_step(column_key, StepEvent)`` sees every optimisation step (raising in
    it cancels the job); ``on_column(key)`` is called when a column starts.
    Writes ``truth.png``, ``<column>/…png``, ``compare.png`` and ``report.json``.
    """
    cols = columns(request, catalog)
    image_shape = tuple(cols[-1].served.metadata.image_shape)
    source, mask = prepare_inputs(folder, upload, mask_upload, image_shape)
    if get_task(request.task).observation == "masked" and mask is not None:
        options = OperatorOptions(task=request.task, noise_std=request.noise_std)
        simulate_mode = False
    else:
        options, simulate_mode = request.options(), True
    truth = read_image(folder / "truth.png", "image", channels=image_shape[0])
    results = []
    job = None
    for col in cols:
        on_column(col.key)
        artifact = col.served.artifact
        settings = artifact.metadata.settings_for(request.task).override(
            steps=request.steps, restarts=request.restarts)
        job = InversionJob(artifact=artifact.path, images=(source,),
                           output_dir=folder / col.key, operator=options, settings=settings,
                           seed=request.seed, simulate=simulate_mode, mask=mask,
                           report=folder / f"{col.key}.json")
        report = run_job(job, artifact, on_step=lambda event, key=col.key: on_step(key, event))
        entry = report.images[0]
        if entry.get("failure"):
            raise UserInputError(f"{col.label} could not recover this image: {entry['failure']}")
        image = read_image(entry["output"], "output", channels=image_shape[0])
        score = ((entry["psnr"], entry["ssim"]) if entry["psnr"] is not None
                 else (psnr(image, truth), ssim(image, truth)))
        results.append((col, image, score, report.to_json()))
    problem = load_problems(job, image_shape, list_inputs(job))[0]
    picture = comparison_picture(truth, problem.operator, problem.y,
                                 [(col.label, image, score) for col, image, score, _ in results])
    write_image(folder / "compare.png", picture)
    write_image(folder / "observation.png", problem.operator.preview(problem.y))
    summary = {
        "request": asdict(request),
        "observation": problem.operator.describe(),
        "mask": "painted" if mask is not None else None,
        "image_shape": list(image_shape),
        "columns": [
            {"key": col.key, "label": col.label, "artifact": col.served.id,
             "cut": col.served.metadata.cut, "psnr": score[0], "ssim": score[1],
             "job": job_report}
            for col, _, score, job_report in results
        ],
    }
    write_json(folder / "report.json", summary)
    return summary
