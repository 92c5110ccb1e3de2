"""Generator Surgery itself behind the baselines' interface, so a comparison is one loop.

A thin adapter over :func:`gs.invert.invert`: the artifact's cut decides between
surgery (c ≥ 1) and "no surgery" (a c = 0 artifact).
"""

from __future__ import annotations

from typing import ClassVar

from gs.artifacts import Artifact
from gs.baselines.base import Baseline, BaselineResult, ProblemLike
from gs.invert import invert
from gs.settings import InversionSettings


class Surgery(Baseline):
    """gs-invert on a loaded artifact with ``settings`` (default: the artifact's own)."""

    name: ClassVar[str] = "surgery"
    prior: ClassVar[str] = "artifact"

    def __init__(self, artifact: Artifact, settings: InversionSettings | None = None) -> None:
        self.artifact = artifact
        self.settings = settings

    def settings_for(self, task: str) -> InversionSettings:
        return self.settings or self.artifact.metadata.settings_for(task)

    def solve_one(self, problem: ProblemLike, seed: int) -> BaselineResult:
        (inv,) = invert(self.artifact, [problem.operator], [problem.y],
                        self.settings_for(problem.operator.task), seed=seed,
                        image_indices=[problem.index])
        return BaselineResult(
            image=inv.image, measurement_loss=inv.measurement_loss, seconds=inv.seconds,
            restart=inv.restart, restart_losses=inv.restart_losses,
            evaluations=inv.evaluations, total_evaluations=inv.total_evaluations,
            stages=inv.stages, details={"cut": self.artifact.metadata.cut},
        )
