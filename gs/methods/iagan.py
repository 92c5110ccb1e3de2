"""IAGAN (Hussein, Tirer & Giryes 2020): image-adaptive fine-tuning of the generator.

Stage 1 optimises z alone; stage 2 jointly fine-tunes z and every weight of the
generator, both with Adam on ‖A G(z) − y‖². Each restart starts from a fresh copy
of the pretrained weights, so restarts are independent (the authors' code keeps
fine-tuning one generator across restarts). The restart with the lowest
measurement loss wins. Optionally the result is back-projected onto the
measurements, x ← x + Aᵀ(AAᵀ)⁻¹(y − Ax), with (AAᵀ)⁻¹ applied by conjugate
gradients so no matrix is formed.
"""

from __future__ import annotations

import copy
from typing import ClassVar

import numpy as np
import torch

from gs.methods.base import StepCallback, measurement_loss
from gs.methods.fitting import (
    Progress,
    adam_rows,
    fit_each_restart,
    residual_losses,
    to_tensor,
)
from gs.methods.generators import GeneratorMethod
from gs.methods.presets import IAGANSettings
from gs.operators import Operator
from gs.problems import Problem
from gs.results import Recovery
from gs.seeding import Stream, problem_rng


def back_project(operator: Operator, image: np.ndarray, y: np.ndarray,
                 iterations: int = 100, tol: float = 1e-10) -> np.ndarray:
    """``x + Aᵀ(AAᵀ)⁻¹(y − Ax)`` for a (C, H, W) image, float64 conjugate gradients.

    The smallest change of ``x`` that makes ``Ax = y`` hold (for A of full row rank;
    rows of A that are zero are simply left unmatched).
    """
    x = np.asarray(image, dtype=np.float64)[None]
    r = np.asarray(y, dtype=np.float64)[None] - operator.A(x)
    u = np.zeros_like(r)
    p = r.copy()
    rr = float(np.vdot(r, r))
    start = rr
    for _ in range(iterations):
        if rr <= tol * max(start, 1e-300):
            break
        q = operator.A(operator.A_adjoint(p))
        pq = float(np.vdot(p, q))
        if pq <= 0:
            break
        step = rr / pq
        u += step * p
        r -= step * q
        rr_next = float(np.vdot(r, r))
        p = r + (rr_next / rr) * p
        rr = rr_next
    return (x + operator.A_adjoint(u))[0]


class IAGAN(GeneratorMethod):
    """IAGAN on a whole pretrained generator (``gs.models`` StagedGenerator)."""

    name: ClassVar[str] = "iagan"
    settings: IAGANSettings
    reports_steps: ClassVar[bool] = True

    def solve_one(self, problem: Problem, seed: int,
                  on_step: StepCallback | None = None) -> Recovery:
        s, operator = self.settings, problem.operator
        spec = self.generator.cut_spec(0)
        starts = spec.sample(problem_rng(seed, problem.index, Stream.INIT), s.restarts)
        y = to_tensor(problem.y, self.device)

        def fit(r: int, progress: Progress) -> tuple[np.ndarray, float]:
            model = copy.deepcopy(self.generator)  # pretrained weights for every restart
            latents = [to_tensor(a[r : r + 1], self.device, requires_grad=True) for a in starts]

            def rows() -> torch.Tensor:
                return residual_losses(operator, model.to_image(model(*latents)), y)

            def render(_: int) -> torch.Tensor:
                return model.to_image(model(*latents))[0]

            progress = progress.at(stages=2 if s.stage2_steps else 1)
            adam_rows(latents, rows, s.stage1_steps, s.stage1_lr, progress=progress,
                      render=render)
            weights = list(model.parameters())
            for weight in weights:
                weight.requires_grad_(True)
            if s.stage2_steps:
                adam_rows([{"params": latents, "lr": s.stage2_z_lr},
                           {"params": weights, "lr": s.stage2_weights_lr}],
                          rows, s.stage2_steps, s.stage2_z_lr, progress=progress.at(stage=1),
                          render=render)
            with torch.no_grad():
                image = model.to_image(model(*latents))[0].cpu().numpy()
            if s.back_projection:
                image = back_project(operator, image, problem.y)
            image = np.clip(image, 0, 1).astype(np.float32)
            return image, measurement_loss(operator, image, problem.y)

        return fit_each_restart(problem, s.restarts, fit, s.stage1_steps + s.stage2_steps,
                                on_step=on_step, back_projection=s.back_projection)
