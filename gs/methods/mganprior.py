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

import torch
from torch import Tensor

from gs.methods.base import StepCallback
from gs.methods.fitting import fit_batched_restarts, residual_losses, to_tensor
from gs.methods.generators import GeneratorMethod
from gs.methods.presets import MGANPriorSettings
from gs.models.base import StagedGenerator
from gs.problems import Problem
from gs.results import Recovery
from gs.seeding import Stream, problem_rng


class MGANPrior(GeneratorMethod):
    """mGANprior on a whole pretrained generator (``gs.models`` StagedGenerator)."""

    name: ClassVar[str] = "mganprior"
    settings: MGANPriorSettings
    reports_steps: ClassVar[bool] = True

    def __init__(self, generator: StagedGenerator, settings: MGANPriorSettings | None = None,
                 device: str = "cpu") -> None:
        super().__init__(generator, settings, device)
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

    def solve_one(self, problem: Problem, seed: int,
                  on_step: StepCallback | None = None) -> Recovery:
        s, operator, g = self.settings, problem.operator, self.generator
        rows_total = s.restarts * s.codes
        starts = g.cut_spec(0).sample(problem_rng(seed, problem.index, Stream.INIT), rows_total)
        latents = [to_tensor(a, self.device, requires_grad=True) for a in starts]
        with torch.no_grad():
            shapes = [f.shape[1:] for f in g.run_from(0, tuple(z[:1] for z in latents),
                                                      until=s.layer)]
        weights = [torch.full((s.restarts, s.codes, shape[0]), 1.0 / s.codes,
                              device=self.device, requires_grad=True) for shape in shapes]
        y = to_tensor(problem.y, self.device)

        def rows() -> Tensor:
            return residual_losses(operator, self.compose(latents, weights), y)

        def render(best: int) -> Tensor:
            pick = slice(best * s.codes, (best + 1) * s.codes)
            return self.compose([z[pick] for z in latents],
                                [a[best : best + 1] for a in weights])[0]

        return fit_batched_restarts(problem, [*latents, *weights], rows, s.steps, s.lr, render,
                                    on_step=on_step, codes=s.codes, layer=s.layer)
