"""Per-image inversion results, progress events and the held-out mask, shared by both
engines (no torch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StepEvent:
    """Progress after one outer step of one stage, passed to ``invert(on_step=...)``.

    Attributes:
        stage: index of the current stage in the schedule (0-based).
        cut: cut of the current stage.
        step: outer steps done in this stage (1-based).
        steps: planned outer steps of this stage (an upper bound: rows may stop early).
        losses: (B,) float64, each image's lowest measurement loss (of the fitted
            entries) among its live rows (restarts not screened away).
        scores: (B,) float64, each image's lowest held-out residual so far among its
            live rows (what the held-out stop judges), or None when nothing is held out.
        current: returns (B, C, H, W) float32 in [0, 1], the image of each image's
            best row now; costs one generator forward, so call it only if needed.
    """

    stage: int
    cut: int
    step: int
    steps: int
    losses: np.ndarray
    current: Callable[[], np.ndarray]
    scores: np.ndarray | None = None


@dataclass
class StageRecord:
    """One cut of a (possibly progressive) solve, for the chosen row of an image."""

    cut: int
    first_loss: float
    final_loss: float
    evaluations: int


@dataclass
class InversionResult:
    """Recovery of one image.

    Attributes:
        image: (C, H, W) float32 in [0, 1], the generator's output at the solution.
        latents: the chosen solution, one array (*shape) per artifact input.
        measurement_loss: mean squared residual of the chosen restart.
        restart: index of the chosen restart (at the first stage).
        restart_losses: final measurement loss of every restart (first stage).
        evaluations: objective evaluations spent on the chosen row, all stages.
        total_evaluations: evaluations spent on this image, all restarts and stages.
        seconds: wall time of the batch divided by its number of images.
        stages: per-cut record, one entry per stage of the schedule.
        failure: why no restart of this image could be used (every one ended with a
            NaN or infinite loss), else ``None``; ``image`` must then not be used.
    """

    image: np.ndarray
    latents: list[np.ndarray]
    measurement_loss: float
    restart: int
    restart_losses: list[float]
    evaluations: int
    total_evaluations: int
    seconds: float
    stages: list[StageRecord] = field(default_factory=list)
    failure: str | None = None


def holdout_mask(size: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """(size,) bool, True on ``round(fraction·size)`` entries (at least one) drawn by ``rng``.

    The mask covers the flattened measurement residual, whatever the operator;
    both engines draw it here, so they hold out the same entries.
    """
    count = min(size - 1, max(1, round(fraction * size)))
    mask = np.zeros(size, dtype=bool)
    mask[rng.choice(size, size=count, replace=False)] = True
    return mask


def failure_of(loss: float, image: np.ndarray) -> str | None:
    """Why a chosen row cannot be returned (NaN/Inf in its loss or image), or None."""
    if np.isfinite(loss) and np.isfinite(image).all():
        return None
    return "every restart's measurement loss became NaN or infinite"


def collect_results(
    images: np.ndarray,
    latents: list[np.ndarray],
    records: list[list[StageRecord]],
    restart_choice: np.ndarray,
    restart_losses: list[list[float]],
    evaluations: np.ndarray,
    total_evaluations: np.ndarray,
    seconds: float,
) -> list[InversionResult]:
    """One :class:`InversionResult` per image from an engine's per-image arrays.

    ``images`` (B, C, H, W) in [0, 1] and each of ``latents`` (B, *shape) hold the chosen
    row of every image; the other arguments are indexed by image.
    """
    return [
        InversionResult(
            image=images[i],
            latents=[lat[i] for lat in latents],
            measurement_loss=records[i][-1].final_loss,
            restart=int(restart_choice[i]),
            restart_losses=restart_losses[i],
            evaluations=int(evaluations[i]),
            total_evaluations=int(total_evaluations[i]),
            seconds=seconds,
            stages=records[i],
            failure=failure_of(records[i][-1].final_loss, images[i]),
        )
        for i in range(len(records))
    ]
