"""The request object of a job: everything that defines it, frozen and picklable."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from gs.errors import UserInputError
from gs.latent import InitSpec
from gs.params import Param, declared_params
from gs.problems import OperatorOptions
from gs.settings import InversionSettings


@dataclass(frozen=True)
class InversionJob:
    """Everything that defines an inversion job; frozen, picklable, JSON-describable.

    Attributes:
        artifact: the cut-generator file (``.pt`` or ``.onnx``) from ``gs-export`` that
            surgery runs; for another method, the file of its prior (artifact or
            weights), or None when it needs none.
        images: files and folders (see the module docstring); observation ``cs``
            jobs take ``.npz`` measurement files.
        output_dir: recovered images go to ``output_dir/<relative path>.png``.
        operator: task and forward-model options.
        settings: optimiser settings; ``None`` takes the artifact's recommendation
            for the task.
        init: overrides every input's initial distribution.
        seed: with each image's index, seeds operator, noise and initial latents (≥ 0).
        simulate: ``images`` are ground truth to degrade, recover and score.
        mask: inpainting observation: the mask image (white = kept pixel) for every
            image, or a folder with each image's own mask at its relative path
            (see :func:`gs.jobs.inputs.mask_path`).
        batch_size: images optimised together, each with all its restarts (≥ 1).
        report: JSON report path, rewritten after every image.
        overwrite: replace existing outputs; without it an existing file is an error.
        save_measurements: simulate: also write each observation (``<output>.npz`` for
            cs and mri, ``<output>_observed.png`` for tasks observed as an image).
        resume: continue a job whose ``report`` exists: skip the images it records
            as done (output present), redo the rest.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
    """

    artifact: Path | None
    images: tuple[Path, ...]
    output_dir: Path
    operator: OperatorOptions = field(default_factory=OperatorOptions)
    settings: InversionSettings | None = None
    init: InitSpec | None = None
    seed: Annotated[int, Param(
        "With each image's index, seeds the operator, the noise and the initial latents.",
        min=0)] = 0
    simulate: bool = False
    mask: Path | None = None
    batch_size: Annotated[int, Param("Images optimised together (each with all its "
                                     "restarts).", min=1)] = 16
    report: Path | None = None
    overwrite: bool = False
    save_measurements: bool = False
    resume: bool = False
    device: str = "auto"

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # normalise paths once; the object stays frozen
        if self.artifact is not None:
            set_(self, "artifact", Path(self.artifact))
        if isinstance(self.images, str | Path):
            set_(self, "images", (self.images,))
        set_(self, "images", tuple(Path(p) for p in self.images))
        set_(self, "output_dir", Path(self.output_dir))
        for name in ("mask", "report"):
            if getattr(self, name) is not None:
                set_(self, name, Path(getattr(self, name)))
        if not self.images:
            raise UserInputError("must name at least one image file or folder", field="images")
        for declared in declared_params(InversionJob).values():
            declared.check(getattr(self, declared.name))
        if self.simulate and self.mask is not None and self.mask.is_dir():
            raise UserInputError("is a folder of masks for observed images; {simulate} draws "
                                 "each image's mask itself, so leave one of the two out",
                                 field="mask", value=self.mask, refs=("simulate",))
        if self.resume and self.report is None:
            raise UserInputError("needs {report}: the report records which images are done",
                                 field="resume", refs=("report",))
        if self.resume and self.overwrite:
            raise UserInputError("cannot be combined with {overwrite}, which starts over",
                                 field="resume", refs=("overwrite",))

    def describe(self) -> dict[str, Any]:
        """What identifies the problems of this job (a resumed report must agree)."""
        return {"task": self.operator.task, "seed": self.seed, "simulate": self.simulate,
                "operator": self.operator.to_json(),
                "init": None if self.init is None else self.init.to_json(),
                "mask": None if self.mask is None else str(self.mask)}


#: The declarations of a job's own settings (``seed``, ``batch_size``): the flags of the
#: commands that run jobs read them.
JOB_PARAMS = declared_params(InversionJob)
