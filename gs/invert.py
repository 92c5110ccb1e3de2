"""The inversion engine: find latents whose cut-generator image explains y.

B images × R restarts are optimised as one batch of B·R independent rows (see
:mod:`gs.solve`): per-row L-BFGS or Adam state, step and stopping, and a per-image
choice of the best restart by measurement loss (or held-out residual; never by ground
truth). The loss of a row is the mean squared measurement residual
``mean((A(G_c(h)) - y)²)``.

Progressive surgery (``settings.schedule``, e.g. ``(0, 1)``) solves at the first cut
with R restarts, keeps the best row per image, maps it through the blocks in front of
the next cut (``h_{c'} = B_{c'} ∘ … ∘ B_{c+1}(h_c)``) and continues from there with
that single warm start.

Written once for every artifact format: the artifact supplies the arrays (torch
tensors for TorchScript, numpy for ONNX), its forward pass and its vector–Jacobian
product; this module imports no torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gs.artifacts import Artifact
from gs.latent import InitSpec
from gs.operators import Operator
from gs.results import Recovery, StepEvent, best_restarts, step_event
from gs.settings import InversionSettings
from gs.solve.adam import BatchedAdam
from gs.solve.arrays import as_numpy
from gs.solve.lbfgs import BatchedLBFGS
from gs.solve.objective import MeasurementObjective
from gs.solve.options import ADAM_WINDOW
from gs.stages import StageTally, noise_floor, start_batch


def optimizer_for(settings: InversionSettings) -> BatchedLBFGS | BatchedAdam:
    """The batched optimiser ``settings`` ask for."""
    if settings.optimizer == "adam":
        return BatchedAdam(lr=settings.lr, rtol=settings.tolerance, patience=settings.patience,
                           keep_best=settings.keep_best, window=ADAM_WINDOW,
                           min_steps=settings.min_steps)
    return BatchedLBFGS(lr=settings.lr, max_iter=settings.inner_iterations,
                        history_size=settings.history_size, rtol=settings.tolerance,
                        patience=settings.patience, keep_best=settings.keep_best,
                        line_search=settings.line_search, min_steps=settings.min_steps)


def planned_steps(settings: InversionSettings) -> int:
    """Outer steps of one stage: L-BFGS steps, or Adam iterations in windows."""
    if settings.optimizer == "adam":
        return -(-settings.steps // ADAM_WINDOW)
    return settings.steps


def screen_restarts(after: int, rows_per_image: int, step: int, loss: np.ndarray) -> np.ndarray:
    """Rows (N,) bool to stop at outer step ``step``: after ``after`` steps, every row but
    its image's lowest loss (a loss that overflowed to NaN never leads); none otherwise."""
    if not after or step != after or rows_per_image == 1:
        return np.zeros(loss.shape, dtype=bool)
    best, _ = best_restarts(loss, rows_per_image)
    losing = np.ones((best.size, rows_per_image), dtype=bool)
    losing[np.arange(best.size), best] = False
    return losing.reshape(-1)


def _step_hook(objective: MeasurementObjective, stage: int, cut: int, settings: InversionSettings,
               n_images: int, rows_per_image: int,
               on_step: Callable[[StepEvent], None] | None):
    """The optimiser's step hook: restart screening, then the caller's progress report."""
    screened = np.zeros(n_images * rows_per_image, dtype=bool)
    steps = planned_steps(settings)

    def hook(step: int, loss: Any, score: Any, stopped: Any, points: Callable[[], Any]) -> Any:
        losses = as_numpy(loss)
        stop = screen_restarts(settings.keep_restarts_after, rows_per_image, step, losses)
        screened[:] |= stop
        if on_step is not None:

            def render(rows: np.ndarray) -> np.ndarray:
                chosen = points()[objective.artifact.asarray(rows)]
                return as_numpy(objective.xp.clip(objective.images(chosen), 0, 1))

            on_step(step_event(stage, cut, step, steps, losses, rows_per_image, render,
                               scores=as_numpy(score) if settings.holdout > 0 else None,
                               excluded=screened.copy()))
        return objective.artifact.asarray(stop)

    return hook


def invert(
    artifact: Artifact,
    operators: Sequence[Operator],
    observations: Sequence[np.ndarray],
    settings: InversionSettings,
    *,
    seed: int = 0,
    image_indices: Sequence[int] | None = None,
    init: InitSpec | None = None,
    initial: Sequence[Sequence[np.ndarray]] | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    penalty: float = 0.0,
    draw: int = 0,
) -> list[Recovery]:
    """Recover one image per (operator, observation) pair, all in one batch.

    Args:
        artifact: a loaded artifact of any format (``gs.artifacts.load``); its arrays
            and device are used.
        operators: one forward model per image.
        observations: y per image, arrays of ``operator.measurement_shape``.
        settings: optimiser, steps, restarts, schedule (see InversionSettings).
        seed: with the image index, selects the initial latents (Stream.INIT).
        image_indices: the index of each image in the job (default 0…B-1), so
            that a batch of a folder draws what a single-image run would.
        init: override of every input's initial distribution.
        initial: explicit starting latents instead of random ones: per image, one
            array per input at the first cut of the schedule (shapes without batch);
            every restart of that image starts there (a warm start, e.g. LassoInv).
        on_step: called with a :class:`StepEvent` after every outer step of every
            stage; an exception it raises propagates out of ``invert`` (cancel).
        penalty: λ of a term λ‖h‖² added to every row's loss (CSGM's Gaussian prior,
            in units of the mean squared residual); the steps and their events see the
            penalised loss, the choice of restart and the results the measurement loss.
        draw: which independent set of random starts (0: the usual one); every draw
            holds out the same entries (:func:`gs.stages.start_batch`).

    Returns:
        One :class:`Recovery` per image, in order, with the entries of its y held out of
        the fit (``held_out``, drawn once here from stream HOLDOUT) and the chosen
        solution's residual on them (``held_out_score``).

    Raises:
        UserInputError: a setting the artifact's backend cannot honour (``bf16`` on
            onnxruntime), or a schedule that does not end at the artifact's cut.
    """
    meta = artifact.metadata
    precision = artifact.precision_for(settings.precision)
    start = time.perf_counter()
    batch = start_batch(meta, operators, observations, settings, seed, image_indices, init,
                        initial, draw)
    x = artifact.asarray(batch.x0)
    rows_per_image = settings.restarts
    n_images = len(batch.indices)
    tally = StageTally(n_images)
    for stage_number, c in enumerate(batch.schedule):
        objective = MeasurementObjective(artifact, c, operators, observations, batch.held,
                                         rows_per_image, precision, penalty)
        rows = artifact.asarray(np.arange(x.shape[0]))
        _, _, first_loss, _ = objective.losses(x, rows)
        floor = noise_floor(operators, settings.discrepancy, rows_per_image)
        hook = _step_hook(objective, stage_number, c, settings, n_images, rows_per_image, on_step)
        result = optimizer_for(settings).minimize(
            objective, x, settings.steps, hook, None if floor is None else artifact.asarray(floor))
        _, final_score, final_loss, images = objective.losses(result.x, rows)
        choice = final_score if settings.holdout > 0 else final_loss
        chosen = tally.add_stage(stage_number, c, rows_per_image,
                                 *(as_numpy(a).astype(np.float64) for a in (
                                     choice, first_loss, final_loss)),
                                 as_numpy(result.evaluations))
        picked = artifact.asarray(chosen)
        x_best = result.x[picked]
        if stage_number + 1 < len(batch.schedule):
            state = artifact.carry(c, batch.schedule[stage_number + 1], objective.unflatten(x_best))
            x = artifact.xp.astype(objective.flatten(state), artifact.xp.float32)
            rows_per_image = 1
    final_images = as_numpy(artifact.xp.clip(images[picked], 0, 1))
    latents = [as_numpy(t) for t in objective.unflatten(x_best)]
    scores = as_numpy(final_score[picked]).astype(np.float64) if settings.holdout > 0 else None
    return tally.results(final_images, latents, (time.perf_counter() - start) / n_images,
                         batch.held, scores)
