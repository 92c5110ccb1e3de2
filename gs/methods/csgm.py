"""CSGM (Bora et al. 2017): optimise the latent z of the uncut generator.

``min_z ‖A G(z) − y‖² + z_weight·‖z‖²`` with Adam; R restarts per image run as one
batch and the one with the lowest measurement loss wins. This is the inversion engine
(:func:`gs.invert.invert`) at cut 0 with Adam, no held-out entries, no early stop, the
last iterate, and the ℓ2 term as its latent penalty (divided by the number of
measurements: the engine's loss is their mean), so CSGM runs on every artifact format.
Any gs artifact serves: its stored head blocks give the uncut generator ``G = G_0`` (a
``--cut 0`` export is the plain one). Initial z are the artifact's cut-0 init drawn from
the INIT stream, i.e. exactly the starts of gs-invert's "no surgery" runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from gs.artifacts import Artifact, at_cut
from gs.invert import invert
from gs.methods.base import Method, MethodContext, StepCallback, restart_result, stopwatch
from gs.methods.presets import CSGMSettings, preset
from gs.methods.surgery import artifact_identity
from gs.problems import Problem
from gs.results import Recovery, StepEvent
from gs.settings import InversionSettings


class CSGM(Method):
    """CSGM on a loaded gs artifact (``gs.artifacts.load``); see the module docstring."""

    name: ClassVar[str] = "csgm"
    prior: ClassVar[str] = "artifact"
    reports_steps: ClassVar[bool] = True

    def __init__(self, artifact: Artifact, settings: CSGMSettings | None = None) -> None:
        self.artifact = artifact
        self.settings = settings or preset(self.name)

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        return cls(at_cut(context.artifact, 0), context.settings)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "artifact": artifact_identity(self.artifact)}

    def inversion_settings(self) -> InversionSettings:
        """The engine's settings of this CSGM: Adam at cut 0, every step, last iterate."""
        s = self.settings
        return InversionSettings(optimizer="adam", lr=s.lr, steps=s.steps, restarts=s.restarts,
                                 tolerance=0.0, keep_best=False, holdout=0.0,
                                 schedule=(self.artifact.metadata.cut,))

    def solve_one(self, problem: Problem, seed: int,
                  on_step: StepCallback | None = None) -> Recovery:
        s = self.settings
        report = None
        if on_step is not None:

            def report(event: StepEvent) -> None:
                on_step(replace(event, image=problem.index, restarts=s.restarts, stages=1))

        size = float(np.prod(problem.operator.measurement_shape))
        with stopwatch() as elapsed:
            (result,) = invert(self.artifact, [problem.operator], [problem.y],
                               self.inversion_settings(), seed=seed,
                               image_indices=[problem.index], on_step=report,
                               penalty=s.z_weight / size)
        return restart_result(problem, result.image, result.restart_losses, elapsed[0], s.steps)
