"""What a batch starts from and the record of its stages, in numpy (no torch).

:func:`gs.invert.invert` (the stage driver) draws a batch's start here (schedule of
cuts, held-out masks, initial rows, noise floors) and, after each stage, records the
choice of every image's restart and the per-image record that
:func:`gs.results.collect_results` turns into results. Everything is drawn from the
image's own seeded streams, so an image starts from the same point whatever batch it is
in and whatever backend solves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gs.errors import UserInputError
from gs.latent import InitSpec, LatentSpec
from gs.operators import Operator
from gs.results import Recovery, StageRecord, best_restarts, collect_results, holdout_mask
from gs.seeding import Stream, problem_rng
from gs.settings import InversionSettings


def schedule_of(settings: InversionSettings, cut: int) -> tuple[int, ...]:
    """The cuts the stages run at: ``settings.schedule``, or just the artifact's ``cut``.

    Raises:
        UserInputError: the schedule does not end at ``cut`` (field ``schedule``).
    """
    schedule = tuple(settings.schedule) or (cut,)
    if schedule[-1] != cut:
        raise UserInputError(f"{schedule} must end at the artifact's cut {cut}", field="schedule")
    return schedule


def warm_starts(spec: LatentSpec, initial: Sequence[Sequence[np.ndarray]], images: int,
                restarts: int) -> np.ndarray:
    """Rows (images · restarts, size) of flattened given latents, each repeated per restart."""
    if len(initial) != images:
        raise ValueError(f"initial must hold latents for {images} images, got {len(initial)}")
    rows = []
    for latents in initial:
        if [tuple(np.shape(a)) for a in latents] != [tuple(s) for s in spec.shapes]:
            raise ValueError(f"initial latents must have shapes {list(spec.shapes)}, got "
                             f"{[tuple(np.shape(a)) for a in latents]}")
        flat = np.concatenate([np.asarray(a, dtype=np.float32).reshape(-1) for a in latents])
        rows.append(np.repeat(flat[None], restarts, axis=0))
    return np.concatenate(rows)


@dataclass
class BatchStart:
    """A batch of images before the first stage.

    Attributes:
        indices: each image's index in the job (keys its random streams).
        schedule: the cuts of the stages, the artifact's cut last.
        held: per image, its held-out measurement mask (bool, flattened y), or None
            when ``settings.holdout`` is 0.
        x0: initial rows (images · restarts, D) float32: the flattened latents at the
            first cut, ``restarts`` consecutive rows per image.
    """

    indices: list[int]
    schedule: tuple[int, ...]
    held: list[np.ndarray | None]
    x0: np.ndarray


def start_batch(metadata: Any, operators: Sequence[Operator], observations: Sequence[np.ndarray],
               settings: InversionSettings, seed: int, image_indices: Sequence[int] | None,
               init: InitSpec | None,
               initial: Sequence[Sequence[np.ndarray]] | None = None,
               draw: int = 0) -> BatchStart:
    """Check the batch and draw what it starts from (see :func:`gs.invert.invert`'s args).

    The initial latents of image i come from stream ``Stream.INIT`` of (seed, i) and
    its held-out mask from ``Stream.HOLDOUT``, so an image draws the same whatever
    batch it is in; ``initial`` replaces the random draws (a warm start). Draw k > 0
    (another independent fit of the same image, :attr:`InversionSettings.ensemble`)
    starts from the restarts k·R … (k + 1)·R − 1 of that stream, with the same
    held-out mask.
    """
    if len(operators) != len(observations) or not operators:
        raise ValueError("operators and observations must be non-empty lists of equal length")
    indices = list(range(len(operators))) if image_indices is None else list(image_indices)
    schedule = schedule_of(settings, metadata.cut)
    held = [held_out(op, settings.holdout, seed, i) for i, op in zip(indices, operators)]
    spec0 = metadata.spec_at(schedule[0])
    if init is not None:
        spec0 = spec0.with_init(init)
    restarts = settings.restarts
    if draw < 0:
        raise ValueError(f"draw must be non-negative, got {draw}")
    if initial is not None:
        x0 = warm_starts(spec0, initial, len(indices), restarts)
    else:
        x0 = np.concatenate([
            np.concatenate([a.reshape(restarts * (draw + 1), -1)[draw * restarts:]
                            for a in spec0.sample(problem_rng(seed, i, Stream.INIT),
                                                  restarts * (draw + 1))], axis=1)
            for i in indices
        ])
    return BatchStart(indices, schedule, held, x0.astype(np.float32, copy=False))


def held_out(operator: Operator, fraction: float, seed: int, index: int) -> np.ndarray | None:
    """The entries of image ``index``'s y held out of its fit (bool, flattened), or None:
    nothing held out (``fraction`` 0, or too few groups to spare one). Drawn from stream
    HOLDOUT of (seed, index): the engine and the choice of the answer hold out the same."""
    if fraction <= 0:
        return None
    mask = holdout_mask(operator.measurement_groups(), fraction,
                        problem_rng(seed, index, Stream.HOLDOUT))
    return mask if mask.any() else None


def noise_floor(operators: Sequence[Operator], discrepancy: float,
                rows_per_image: int) -> np.ndarray | None:
    """Per-row loss (N,) float32 at which the discrepancy principle stops a row, or None.

    A row whose mean squared residual is at or below ``discrepancy · σ²`` fits noise.
    """
    if discrepancy <= 0 or not any(op.noise_std > 0 for op in operators):
        return None
    # A noise-free image has floor 0: the rule never fires for it (mean squares > 0).
    per_image = np.array([discrepancy * op.noise_std**2 for op in operators], dtype=np.float32)
    return np.repeat(per_image, rows_per_image)


@dataclass
class StageTally:
    """Per-image record over the stages: chosen restart, evaluations, stage records."""

    images: int
    records: list[list[StageRecord]] = field(init=False)
    evaluations: np.ndarray = field(init=False)
    total_evaluations: np.ndarray = field(init=False)
    restart_choice: np.ndarray = field(init=False)
    restart_losses: list[list[float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.records = [[] for _ in range(self.images)]
        self.evaluations = np.zeros(self.images, dtype=np.int64)
        self.total_evaluations = np.zeros(self.images, dtype=np.int64)
        self.restart_choice = np.zeros(self.images, dtype=np.int64)

    def add_stage(self, stage_number: int, cut: int, rows_per_image: int, choice: np.ndarray,
                  first_loss: np.ndarray, final_loss: np.ndarray,
                  evaluations: np.ndarray) -> np.ndarray:
        """Record one stage and return each image's chosen row (images,).

        ``choice`` (N,) ranks the rows of an image (held-out score or loss; the lowest
        wins, and a row that overflowed to NaN never does); ``first_loss``,
        ``final_loss`` and ``evaluations`` (N,) are per row. The restart choice and
        its losses are those of the first stage, where the restarts run.
        """
        n = self.images
        per_image = np.asarray(final_loss).reshape(n, rows_per_image)
        best, _ = best_restarts(choice, rows_per_image)
        chosen = np.arange(n) * rows_per_image + best
        if stage_number == 0:
            self.restart_choice = best
            self.restart_losses = per_image.astype(np.float64).tolist()
        self.evaluations += evaluations[chosen]
        self.total_evaluations += evaluations.reshape(n, -1).sum(axis=1)
        for i, row in enumerate(chosen.tolist()):
            self.records[i].append(StageRecord(cut, float(first_loss[row]),
                                               float(final_loss[row]), int(evaluations[row])))
        return chosen

    def results(self, images: np.ndarray, latents: list[np.ndarray], seconds: float,
                held: Sequence[np.ndarray | None] | None = None,
                scores: np.ndarray | None = None) -> list[Recovery]:
        """The results of the batch from its final images and latents (chosen rows), each
        with its held-out mask (``held``) and held-out residual (``scores``, per image)."""
        return collect_results(images, latents, self.records, self.restart_choice,
                               self.restart_losses, self.evaluations, self.total_evaluations,
                               seconds, held, scores)
