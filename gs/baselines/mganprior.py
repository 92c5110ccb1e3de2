"""mGANprior (Gu, Shen & Zhou 2020): several latent codes composed at a middle layer.

N codes z_1…z_N each run through the first ``layer`` blocks; their states are
combined as Σ_n α_n ⊙ F_n with per-channel importance weights α_n (initialised
1/N, one per channel of each state tensor) and the sum goes through the remaining
blocks. Adam optimises codes and weights on ‖A G(…) − y‖²; R restarts run as one
batch and the lowest measurement loss wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

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
from gs.baselines.presets import MGANPriorSettings, auto_preset
from gs.models.base import StagedGenerator
from gs.seeding import Stream, problem_rng


class MGANPrior:
    """mGANprior on a whole pretrained generator (``gs.models`` StagedGenerator)."""

    name: ClassVar[str] = "mganprior"
    prior: ClassVar[str] = "generator"

    def __init__(self, generator: StagedGenerator, settings: MGANPriorSettings | None = None,
                 device: str = "cpu") -> None:
        self.generator = generator.to(device).eval()
        self.settings = settings or auto_preset(self.name, model=generator.model_name)
        self.device = device
        generator.check_cut(self.settings.layer, field="layer")

    def compose(self, latents: Sequence[Tensor], weights: Sequence[Tensor]) -> Tensor:
        """Images (R, C, H, W) in [0, 1] from latents (R·N, *shape) and weights (R, N, ch)."""
        g, s = self.generator, self.settings
        features = g.run_from(0, tuple(latents), until=s.layer)
        mixed = []
        for feature, alpha in zip(features, weights):
            per_code = feature.reshape(-1, s.codes, *feature.shape[1:])
            scale = alpha.reshape(*alpha.shape, *([1] * (feature.dim() - 2)))
            mixed.append((per_code * scale).sum(dim=1))
        return g.to_image(g.run_from(s.layer, tuple(mixed))[0])

    def solve(self, problems: Sequence[ProblemLike], *, seed: int = 0) -> list[BaselineResult]:
        check_problems(problems)
        return [self._solve_one(p, seed) for p in problems]

    def _solve_one(self, problem: ProblemLike, seed: int) -> BaselineResult:
        s, operator, g = self.settings, problem.operator, self.generator
        rows_total = s.restarts * s.codes
        starts = g.cut_spec(0).sample(problem_rng(seed, problem.index, Stream.INIT), rows_total)
        latents = [torch.as_tensor(np.asarray(a, dtype=np.float32), device=self.device)
                   .requires_grad_(True) for a in starts]
        with torch.no_grad():
            shapes = [f.shape[1:] for f in g.run_from(0, tuple(z[:1] for z in latents),
                                                      until=s.layer)]
        weights = [torch.full((s.restarts, s.codes, shape[0]), 1.0 / s.codes,
                              device=self.device, requires_grad=True) for shape in shapes]
        y = torch.as_tensor(np.asarray(problem.y, dtype=np.float32), device=self.device)

        def rows() -> Tensor:
            return residual_losses(operator, self.compose(latents, weights), y)

        with stopwatch() as elapsed:
            losses = adam_rows([*latents, *weights], rows, s.steps, s.lr).cpu().tolist()
            best = choose_restart(losses)
            pick = slice(best * s.codes, (best + 1) * s.codes)
            with torch.no_grad():
                image = self.compose([z[pick] for z in latents],
                                     [a[best : best + 1] for a in weights])[0]
            image = image.clamp(0, 1).cpu().numpy().astype(np.float32)
        return BaselineResult(
            image=image, measurement_loss=measurement_loss(operator, image, problem.y),
            seconds=elapsed[0], restart=best, restart_losses=losses, evaluations=s.steps,
            total_evaluations=s.steps * s.restarts,
            details={"codes": s.codes, "layer": s.layer},
        )
