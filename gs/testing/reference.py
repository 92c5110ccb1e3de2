"""The yardstick gs's engine is checked and timed against: ``torch.optim.LBFGS``, one
row at a time, as the paper's code runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from gs.seeding import Stream, problem_rng


def torch_lbfgs(loss: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor,
                steps: int, **options: Any) -> tuple[torch.Tensor, int]:
    """Minimise ``loss`` from ``start`` with ``torch.optim.LBFGS``.

    Args:
        loss: maps a tensor shaped like ``start`` to a scalar tensor.
        start: the first iterate (any shape; not modified).
        steps: outer ``optimizer.step`` calls.
        **options: ``torch.optim.LBFGS`` keywords (``lr``, ``max_iter``, ``history_size``,
            ``line_search_fn``...).

    Returns:
        The last iterate (detached, shaped like ``start``) and the objective
        evaluations torch counted.
    """
    p = start.detach().clone().requires_grad_(True)
    opt = torch.optim.LBFGS([p], **options)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = loss(p)
        value.backward()
        return value

    for _ in range(steps):
        opt.step(closure)
    return p.detach(), int(opt.state[p]["func_evals"])


def paper_protocol(artifact: Any, operator: Any, y: np.ndarray, settings: Any, seed: int,
                   index: int = 0) -> list[tuple[float, np.ndarray, int]]:
    """The paper's loop for one image: each restart alone, L-BFGS with fixed steps, the
    last iterate kept.

    Args:
        artifact: a TorchScript artifact (``gs.artifacts.load`` of a ``.pt``).
        operator: the measurement operator (torch-callable ``A``).
        y: the measurements, shaped as ``operator.A``'s output for one image.
        settings: ``InversionSettings`` (``restarts``, ``steps``, ``lr``,
            ``inner_iterations``, ``history_size`` are read).
        seed, index: pick the starts as ``gs.invert`` does for image ``index``.

    Returns:
        One ``(loss, image, evaluations)`` per restart: the mean squared residual of
        the last iterate, its image (C, H, W, float32 in the generator's range), and
        torch's evaluation count.
    """
    starts = artifact.spec.sample(problem_rng(seed, index, Stream.INIT), settings.restarts)[0]
    y_t = torch.as_tensor(y, device=artifact.device)

    def residual(z: torch.Tensor) -> torch.Tensor:
        return ((operator.A(artifact.generator(z)) - y_t) ** 2).mean()

    outcomes = []
    for start in starts:
        z, evaluations = torch_lbfgs(
            residual, torch.as_tensor(start[None], device=artifact.device), settings.steps,
            lr=settings.lr, max_iter=settings.inner_iterations,
            history_size=settings.history_size)
        with torch.no_grad():
            image = artifact.generator(z)
            loss = float(((operator.A(image) - y_t) ** 2).mean())
        outcomes.append((loss, image[0].cpu().numpy(), evaluations))
    return outcomes
