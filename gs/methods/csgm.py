"""CSGM (Bora et al. 2017): optimise the latent z of the uncut generator.

``min_z ‖A G(z) − y‖² + z_weight·‖z‖²`` with Adam; R restarts per image run as one
batch and the one with the lowest measurement loss wins. Any gs artifact serves:
its stored head blocks give the uncut generator ``G = G_0`` (a ``--cut 0`` export
is the plain one). Initial z are the artifact's cut-0 init drawn from the INIT
stream, i.e. exactly the starts of gs-invert's "no surgery" runs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from gs.artifacts import Artifact, at_cut
from gs.errors import UserInputError
from gs.methods.base import Method, MethodContext, StepCallback
from gs.methods.fitting import fit_batched_restarts, residual_losses, to_tensor
from gs.methods.presets import CSGMSettings, preset
from gs.methods.surgery import artifact_identity
from gs.problems import Problem
from gs.results import Recovery
from gs.seeding import Stream, problem_rng


class CSGM(Method):
    """CSGM on a loaded gs artifact (``gs.artifacts.load``); see the module docstring."""

    name: ClassVar[str] = "csgm"
    prior: ClassVar[str] = "artifact"
    reports_steps: ClassVar[bool] = True

    def __init__(self, artifact: Artifact, settings: CSGMSettings | None = None) -> None:
        if artifact.metadata.format != "torchscript":
            raise UserInputError("must be a TorchScript (.pt) artifact for csgm, which "
                                 "differentiates through torch", field="artifact",
                                 value=artifact.path)
        self.artifact = artifact
        self.settings = settings or preset(self.name)

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        return cls(at_cut(context.artifact, 0), context.settings)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "artifact": artifact_identity(self.artifact)}

    def solve_one(self, problem: Problem, seed: int,
                  on_step: StepCallback | None = None) -> Recovery:
        s, operator = self.settings, problem.operator
        device = torch.device(self.artifact.device)
        spec = self.artifact.metadata.spec_at(0)
        generator = self.artifact.generator_at(0)
        starts = spec.sample(problem_rng(seed, problem.index, Stream.INIT), s.restarts)
        latents = [to_tensor(a, device, requires_grad=True) for a in starts]
        y = to_tensor(problem.y, device)
        size = float(np.prod(operator.measurement_shape))

        def rows() -> torch.Tensor:
            return residual_losses(operator, generator(*latents), y)

        def objective(losses: torch.Tensor) -> torch.Tensor:
            # ‖A G(z) − y‖² (rows hold the mean) plus the Gaussian prior's ℓ2 term.
            penalty = sum(z.pow(2).flatten(1).sum(1) for z in latents)
            return (losses * size + s.z_weight * penalty).sum()

        def render(best: int) -> torch.Tensor:
            return generator(*[z[best : best + 1] for z in latents])[0]

        return fit_batched_restarts(problem, latents, rows, s.steps, s.lr, render, objective,
                                    on_step=on_step)
