"""CSGM (Bora et al. 2017): optimise the latent z of the uncut generator.

``min_z ‖A G(z) − y‖² + z_weight·‖z‖²`` with Adam; R restarts per image run as one
batch and the one with the lowest measurement loss wins. Any gs artifact serves:
its stored head blocks give the uncut generator ``G = G_0`` (a ``--cut 0`` export
is the plain one). Initial z are the artifact's cut-0 init drawn from the INIT
stream, i.e. exactly the starts of gs-invert's "no surgery" runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from gs.baselines.base import (
    BaselineResult,
    ProblemLike,
    adam_rows,
    check_problems,
    choose_restart,
    measurement_loss,
    residual_losses,
    stopwatch,
)
from gs.baselines.presets import CSGMSettings, preset
from gs.seeding import Stream, problem_rng


class CSGM:
    """CSGM on a loaded gs artifact (``gs.artifact.load``); see the module docstring."""

    name: ClassVar[str] = "csgm"
    prior: ClassVar[str] = "artifact"

    def __init__(self, artifact: Any, settings: CSGMSettings | None = None) -> None:
        self.artifact = artifact
        self.settings = settings or preset(self.name)

    def solve(self, problems: Sequence[ProblemLike], *, seed: int = 0) -> list[BaselineResult]:
        check_problems(problems)
        return [self._solve_one(p, seed) for p in problems]

    def _solve_one(self, problem: ProblemLike, seed: int) -> BaselineResult:
        s, operator = self.settings, problem.operator
        device = torch.device(self.artifact.device)
        spec = self.artifact.metadata.spec_at(0)
        generator = self.artifact.generator_at(0)
        starts = spec.sample(problem_rng(seed, problem.index, Stream.INIT), s.restarts)
        latents = [torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)
                   .requires_grad_(True) for a in starts]
        y = torch.as_tensor(np.asarray(problem.y, dtype=np.float32), device=device)
        size = float(np.prod(operator.measurement_shape))

        def rows() -> torch.Tensor:
            return residual_losses(operator, generator(*latents), y)

        def objective(losses: torch.Tensor) -> torch.Tensor:
            # ‖A G(z) − y‖² (rows hold the mean) plus the Gaussian prior's ℓ2 term.
            penalty = sum(z.pow(2).flatten(1).sum(1) for z in latents)
            return (losses * size + s.z_weight * penalty).sum()

        with stopwatch() as elapsed:
            losses = adam_rows(latents, rows, s.steps, s.lr, objective).cpu().tolist()
            best = choose_restart(losses)
            with torch.no_grad():
                image = generator(*[z[best : best + 1] for z in latents])[0]
            image = image.clamp(0, 1).cpu().numpy().astype(np.float32)
        return BaselineResult(
            image=image, measurement_loss=measurement_loss(operator, image, problem.y),
            seconds=elapsed[0], restart=best, restart_losses=losses, evaluations=s.steps,
            total_evaluations=s.steps * s.restarts,
        )
