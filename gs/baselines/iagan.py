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
from gs.baselines.presets import IAGANSettings, auto_preset
from gs.models.base import StagedGenerator
from gs.operators import Operator
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


class IAGAN:
    """IAGAN on a whole pretrained generator (``gs.models`` StagedGenerator)."""

    name: ClassVar[str] = "iagan"
    prior: ClassVar[str] = "generator"

    def __init__(self, generator: StagedGenerator, settings: IAGANSettings | None = None,
                 device: str = "cpu") -> None:
        self.generator = generator.to(device).eval()
        self.settings = settings or auto_preset(self.name, model=generator.model_name)
        self.device = device

    def solve(self, problems: Sequence[ProblemLike], *, seed: int = 0) -> list[BaselineResult]:
        check_problems(problems)
        return [self._solve_one(p, seed) for p in problems]

    def _solve_one(self, problem: ProblemLike, seed: int) -> BaselineResult:
        s, operator = self.settings, problem.operator
        spec = self.generator.cut_spec(0)
        starts = spec.sample(problem_rng(seed, problem.index, Stream.INIT), s.restarts)
        y = torch.as_tensor(np.asarray(problem.y, dtype=np.float32), device=self.device)
        images, losses = [], []
        with stopwatch() as elapsed:
            for r in range(s.restarts):
                model = copy.deepcopy(self.generator)  # pretrained weights for every restart
                latents = [torch.as_tensor(np.asarray(a[r : r + 1], dtype=np.float32),
                                           device=self.device).requires_grad_(True)
                           for a in starts]

                def rows(model: Any = model, latents: list = latents) -> torch.Tensor:
                    return residual_losses(operator, model.to_image(model(*latents)), y)

                adam_rows(latents, rows, s.stage1_steps, s.stage1_lr)
                weights = list(model.parameters())
                for weight in weights:
                    weight.requires_grad_(True)
                if s.stage2_steps:
                    adam_rows([{"params": latents, "lr": s.stage2_z_lr},
                               {"params": weights, "lr": s.stage2_weights_lr}],
                              rows, s.stage2_steps, s.stage2_z_lr)
                with torch.no_grad():
                    image = model.to_image(model(*latents))[0].cpu().numpy()
                if s.back_projection:
                    image = back_project(operator, image, problem.y)
                image = np.clip(image, 0, 1).astype(np.float32)
                images.append(image)
                losses.append(measurement_loss(operator, image, problem.y))
        best = choose_restart(losses)
        steps = s.stage1_steps + s.stage2_steps
        return BaselineResult(
            image=images[best], measurement_loss=losses[best], seconds=elapsed[0],
            restart=best, restart_losses=losses, evaluations=steps,
            total_evaluations=steps * s.restarts,
            details={"back_projection": s.back_projection},
        )
