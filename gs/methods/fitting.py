"""Adam fitting with restarts, shared by the baselines that optimise torch networks.

These baselines fit a network's weights (Deep Decoder, DIP, IAGAN) or a whole
generator's composition weights (mGANprior), which torch holds as parameters; CSGM,
which fits an artifact's inputs only, runs on the inversion engine's Adam instead
(:mod:`gs.methods.csgm`). Two shapes of restart: mGANprior holds its R restarts as rows
of one batch (:func:`fit_batched_restarts`); IAGAN, Deep Decoder and DIP fit one network
per restart (:func:`fit_each_restart`). Either way the restart with the lowest
measurement loss wins (:func:`gs.results.choose_restart`) and the record is
built by :func:`gs.methods.base.restart_result`.

Progress: given the caller's ``on_step``, :func:`adam_rows` (the one Adam loop of
every baseline) reports a :class:`gs.results.StepEvent` after every step, where
:class:`Progress` says which image, restart and stage it is; the events only read
the losses the step computed anyway (and render an image if the callback asks), so
results are the same with or without a callback. An exception raised in ``on_step``
propagates, which cancels the method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gs.methods.base import StepCallback, restart_result, stopwatch
from gs.operators import Operator
from gs.problems import Problem
from gs.results import Recovery, choose_restart, step_event
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


@dataclass(frozen=True)
class Progress:
    """Where an Adam loop reports its steps: the caller's ``on_step`` (None: nowhere) and
    what its events say besides the step (fields of :class:`gs.results.StepEvent`).

    Attributes:
        on_step: the callback of ``Method.solve``, or None.
        image: the problem's index.
        restart: the restart fitted, where restarts run one after another; None: the
            loop's rows are the restarts.
        restarts: restarts per image; None: as many as the loop has rows.
        stage: the loop's stage within one restart's fit (0-based), of ``stages``.
    """

    on_step: StepCallback | None
    image: int
    restart: int | None = None
    restarts: int | None = None
    stage: int = 0
    stages: int = 1

    def at(self, **changes: Any) -> Progress:
        """This progress with some fields changed (``stage=1``, ``restart=r``...)."""
        return replace(self, **changes)

    def report(self, step: int, steps: int, losses: Tensor,
               render: Callable[[int], Tensor]) -> None:
        """Call ``on_step`` (if any) after step ``step`` of ``steps``, whose rows had the
        measurement ``losses`` (R,); ``render(r)`` draws row r's (C, H, W) image now."""
        if self.on_step is None:
            return
        values = losses.detach().to(torch.float64).cpu().numpy().reshape(-1)

        def current(rows: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return to_image(render(int(rows[0])))[None]

        self.on_step(step_event(
            self.stage, 0, step, steps, values, values.size, current, image=self.image,
            restart=self.restart, restarts=values.size if self.restarts is None else self.restarts,
            stages=self.stages))


def adam_rows(
    params: Sequence[Any] | Sequence[dict[str, Any]],
    row_losses: Callable[[], Tensor],
    steps: int,
    lr: float,
    objective: Callable[[Tensor], Tensor] | None = None,
    *,
    progress: Progress | None = None,
    render: Callable[[int], Tensor] | None = None,
    stop: Callable[[int, Tensor], bool] | None = None,
    fused: bool = False,
) -> Tensor:
    """Run ``steps`` Adam steps on the sum of per-row losses; return final per-row losses.

    ``row_losses()`` returns the measurement losses (R,) of R independent rows
    (restarts); ``objective(losses)`` may add penalties (default: their sum). Rows
    are independent, so summing them gives each its own gradient. After every step
    ``progress`` reports the losses that step computed (1-based step of ``steps``);
    ``render(r)`` gives row r's (C, H, W) image, for the event's ``current``.
    ``stop(step, losses)``, if given, is asked after every step (after ``progress``);
    True ends the loop there (a held-out or time stop). ``fused``: torch's fused Adam
    kernel (the same update in one pass over all parameters: faster for networks of many
    small tensors, equal to the default up to float32 rounding).
    """
    reporting = progress is not None and progress.on_step is not None
    if reporting and render is None:
        raise ValueError("adam_rows reports progress only with render")
    optimizer = torch.optim.Adam(params, lr=lr, fused=fused or None)
    for step in range(1, steps + 1):
        optimizer.zero_grad(set_to_none=True)
        losses = row_losses()
        total = losses.sum() if objective is None else objective(losses)
        total.backward()
        optimizer.step()
        if reporting:
            progress.report(step, steps, losses, render)  # type: ignore[union-attr,arg-type]
        if stop is not None and stop(step, losses.detach()):
            break
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
    *,
    on_step: StepCallback | None = None,
    **details: Any,
) -> Recovery:
    """Adam on restarts held as the rows of one batch; the lowest-loss row wins.

    ``row_losses()`` gives the (R,) measurement losses of the R restarts and
    ``render(r)`` the (C, H, W) image of restart r; timing covers fitting and rendering.
    ``on_step`` sees every step (``restart`` None: all restarts at once).
    """
    progress = Progress(on_step, problem.index)
    with stopwatch() as elapsed:
        losses = adam_rows(params, row_losses, steps, lr, objective, progress=progress,
                           render=render).cpu().tolist()
        best = choose_restart(losses)
        with torch.no_grad():
            image = to_image(render(best))
    return restart_result(problem, image, losses, elapsed[0], steps, **details)


def fit_each_restart(
    problem: Problem,
    restarts: int,
    fit: Callable[[int, Progress], tuple[np.ndarray, float]],
    steps: int,
    *,
    on_step: StepCallback | None = None,
    **details: Any,
) -> Recovery:
    """Run ``fit(r, progress) -> (image, loss)`` for every restart r; the lowest loss wins.

    ``progress`` (restart r of ``restarts``, reporting to ``on_step``) is for the
    :func:`adam_rows` loops of ``fit``.
    """
    images, losses = [], []
    with stopwatch() as elapsed:
        for r in range(restarts):
            image, loss = fit(r, Progress(on_step, problem.index, restart=r, restarts=restarts))
            images.append(image)
            losses.append(loss)
    return restart_result(problem, images[choose_restart(losses)], losses, elapsed[0], steps,
                          **details)
