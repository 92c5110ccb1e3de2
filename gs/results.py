"""Per-image inversion results and the held-out mask, shared by both engines (no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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


def holdout_mask(size: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """(size,) bool, True on ``round(fraction·size)`` entries (at least one) drawn by ``rng``.

    The mask covers the flattened measurement residual, whatever the operator;
    the same draw as the torch engine's (``gs.invert.holdout_mask``).
    """
    count = min(size - 1, max(1, round(fraction * size)))
    mask = np.zeros(size, dtype=bool)
    mask[rng.choice(size, size=count, replace=False)] = True
    return mask
