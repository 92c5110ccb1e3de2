"""Adam fitting with restarts, shared by the baselines that optimise torch tensors.

Two shapes of restart: CSGM and mGANprior hold their R restarts as rows of one
batch (:func:`fit_batched_restarts`); IAGAN, Deep Decoder and DIP fit one network
per restart (:func:`fit_each_restart`). Either way the restart with the lowest
measurement loss wins (:func:`gs.methods.base.choose_restart`) and the record is
built by :func:`gs.methods.base.restart_result`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gs.methods.base import choose_restart, restart_result, stopwatch
from gs.operators import Operator
from gs.problems import Problem
from gs.results import Recovery
from gs.seeding import Stream, problem_rng


def to_tensor(array: Any, device: Any, *, requires_grad: bool = False) -> Tensor:
    """``array`` as a float32 tensor on ``device`` (a leaf that needs a gradient if asked)."""
    return torch.as_tensor(np.asarray(array, dtype=np.float32), device=device).requires_grad_(
        requires_grad)


def torch_generator(seed: int, index: int) -> torch.Generator:
    """A ``torch.Generator`` seeded from the BASELINE stream of (seed, image index)."""
    value = int(problem_rng(seed, index, Stream.BASELINE).integers(0, 2**62))
    return torch.Generator().manual_seed(value)


def residual_losses(operator: Operator, images: Tensor, y: Tensor) -> Tensor:
    """Per-row mean squared residual (R,) of torch images (R, C, H, W) against y."""
    residual = operator.A(images) - y
    return residual.pow(2).flatten(1).mean(dim=1)


def adam_rows(
    params: Sequence[Any] | Sequence[dict[str, Any]],
    row_losses: Callable[[], Tensor],
    steps: int,
    lr: float,
    objective: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Run ``steps`` Adam steps on the sum of per-row losses; return final per-row losses.

    ``row_losses()`` returns the measurement losses (R,) of R independent rows
    (restarts); ``objective(losses)`` may add penalties (default: their sum). Rows
    are independent, so summing them gives each its own gradient.
    """
    optimizer = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        losses = row_losses()
        total = losses.sum() if objective is None else objective(losses)
        total.backward()
        optimizer.step()
    with torch.no_grad():
        return row_losses().detach()


def to_image(image: Tensor) -> np.ndarray:
    """A torch image (C, H, W) as float32 numpy clamped to [0, 1]."""
    return image.clamp(0, 1).cpu().numpy().astype(np.float32)


def fit_batched_restarts(
    problem: Problem,
    params: Sequence[Any],
    row_losses: Callable[[], Tensor],
    steps: int,
    lr: float,
    render: Callable[[int], Tensor],
    objective: Callable[[Tensor], Tensor] | None = None,
    **details: Any,
) -> Recovery:
    """Adam on restarts held as the rows of one batch; the lowest-loss row wins.

    ``row_losses()`` gives the (R,) measurement losses of the R restarts and
    ``render(r)`` the (C, H, W) image of restart r; timing covers fitting and rendering.
    """
    with stopwatch() as elapsed:
        losses = adam_rows(params, row_losses, steps, lr, objective).cpu().tolist()
        best = choose_restart(losses)
        with torch.no_grad():
            image = to_image(render(best))
    return restart_result(problem, image, losses, elapsed[0], steps, **details)


def fit_each_restart(
    problem: Problem,
    restarts: int,
    fit: Callable[[int], tuple[np.ndarray, float]],
    steps: int,
    **details: Any,
) -> Recovery:
    """Run ``fit(r) -> (image, loss)`` for every restart r; the lowest loss wins."""
    images, losses = [], []
    with stopwatch() as elapsed:
        for r in range(restarts):
            image, loss = fit(r)
            images.append(image)
            losses.append(loss)
    return restart_result(problem, images[choose_restart(losses)], losses, elapsed[0], steps,
                          **details)
