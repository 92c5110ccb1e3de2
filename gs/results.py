"""The one result type of every recovery method, progress events, the choice of the best
restart and the held-out mask (no torch)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StepEvent:
    """Progress after one outer step of one stage, passed to ``invert(on_step=...)`` and
    ``Method.solve(on_step=...)``.

    Attributes:
        stage: index of the current stage in the schedule (0-based).
        cut: cut of the current stage.
        step: outer steps done in this stage (1-based).
        steps: planned outer steps of this stage (an upper bound: rows may stop early).
        losses: (B,) float64, each image's lowest measurement loss (of the fitted
            entries; plus the latent penalty where one is added, CSGM's) among its live
            rows (restarts not screened away).
        scores: (B,) float64, each image's lowest held-out residual so far among its
            live rows (what the held-out stop judges), or None when nothing is held out.
        current: returns (B, C, H, W) float32 in [0, 1], the image of each image's
            best row now; costs one generator forward, so call it only if needed.
        image: the problem index of the one image the event is about, for methods that
            solve images one at a time (the iterative baselines; ``B`` is then 1);
            None: the event covers every image of the call (surgery).
        restart: the restart being fitted where restarts run one after another (Deep
            Decoder, DIP, IAGAN); None: all restarts at once (surgery, CSGM, mGANprior).
        restarts: restarts per image, where the method says (the baselines).
        stages: stages of the fit, where the method says (IAGAN: 2 per restart; the
            other baselines: 1). The baselines report cut 0.
    """

    stage: int
    cut: int
    step: int
    steps: int
    losses: np.ndarray
    current: Callable[[], np.ndarray]
    scores: np.ndarray | None = None
    image: int | None = None
    restart: int | None = None
    restarts: int | None = None
    stages: int | None = None


def best_restarts(values: Any, rows_per_image: int | None = None, *,
                  excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each image's best row: the lowest of its ``rows_per_image`` consecutive values.

    Args:
        values: (images · rows_per_image,) losses or scores, any real dtype.
        rows_per_image: restarts per image; None: all values are one image's.
        excluded: (images · rows_per_image,) bool, rows that may not win (screened away).

    Returns:
        ``(best, lowest)``: (images,) int64, the index of each image's best row among its
        own, and (images,) float64, its value. A NaN (a restart whose loss overflowed)
        never wins over a number, infinite or not, and an excluded row wins only where
        every row of its image is excluded or NaN; its value is then reported as ``inf``.
    """
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    per_image = flat.reshape(-1, flat.size if rows_per_image is None else rows_per_image)
    # nan -> inf and inf -> the largest float: numbers < inf < NaN, as "never wins" says
    rank = np.nan_to_num(per_image, nan=np.inf)
    if excluded is not None:
        rank = np.where(np.asarray(excluded).reshape(per_image.shape), np.inf, rank)
    best = rank.argmin(axis=1)
    at = np.arange(per_image.shape[0]), best
    return best, np.where(np.isinf(rank[at]), np.inf, per_image[at])


def choose_restart(losses: Any) -> int:
    """Index of the restart with the lowest loss of one image (NaN never wins)."""
    return int(best_restarts(losses)[0][0])


def step_event(stage: int, cut: int, step: int, steps: int, losses: Any, rows_per_image: int,
               render: Callable[[np.ndarray], np.ndarray], *, scores: Any = None,
               excluded: np.ndarray | None = None, **about: Any) -> StepEvent:
    """The :class:`StepEvent` after a step whose rows (images · rows_per_image) had
    ``losses`` (and held-out ``scores``, or None).

    Each image reports its best row's loss and its lowest score among the rows not
    ``excluded`` (:func:`best_restarts`); ``current`` calls ``render(rows)`` with those
    rows' indices (images,) for their images (images, C, H, W) float32 in [0, 1], only
    when asked. ``about``: the other fields of :class:`StepEvent` (``image``,
    ``restart``, ``restarts``, ``stages``).
    """
    best, lowest = best_restarts(losses, rows_per_image, excluded=excluded)
    rows = np.arange(best.size) * rows_per_image + best
    score = None if scores is None else best_restarts(scores, rows_per_image,
                                                      excluded=excluded)[1]
    return StepEvent(stage, cut, step, steps, lowest, lambda: render(rows), score, **about)


@dataclass
class StageRecord:
    """One cut of a (possibly progressive) solve, for the chosen row of an image."""

    cut: int
    first_loss: float
    final_loss: float
    evaluations: int


@dataclass
class Recovery:
    """Recovery of one image by any method (surgery, a classical answer, a baseline).

    Attributes:
        image: (C, H, W) float32 in [0, 1].
        measurement_loss: mean squared residual ``mean((A(image) − y)²)`` of the answer
            (for surgery: of the chosen restart at its solution, fitted entries).
        seconds: wall time spent on this image (a batch's time divided by its images).
        restart: index of the chosen restart (at the first stage; 0 without restarts).
        restart_losses: final measurement loss of every restart (first stage).
        evaluations: objective evaluations spent on the chosen row, all stages.
        total_evaluations: evaluations spent on this image, all restarts and stages.
        stages: per-cut record, one entry per stage of a surgery schedule.
        latents: the chosen solution, one array (*shape) per artifact input, for
            methods that optimise a generator's inputs; else None.
        failure: why no usable answer came out (every restart ended with a NaN or
            infinite loss), else ``None``; ``image`` must then not be used.
        details: method-specific facts worth reporting (chosen solver, the answer a
            hybrid returned and the score that chose it, ...), JSON-able.
        held_out: the entries of y (bool, flattened) the fit never saw, for methods that
            hold measurements out (surgery with ``holdout > 0``), else None.
        held_out_score: the mean squared residual of the chosen solution on those
            entries (what chose its restart and stopped it), else None.
        stage_seconds: where ``seconds`` went, by stage (surgery: ``fit``, the
            generator's inversion, and ``answer``, the answer rule's classical fits and
            choice); empty for methods of one stage.
    """

    image: np.ndarray
    measurement_loss: float
    seconds: float
    restart: int = 0
    restart_losses: list[float] = field(default_factory=list)
    evaluations: int = 0
    total_evaluations: int = 0
    stages: list[StageRecord] = field(default_factory=list)
    latents: list[np.ndarray] | None = None
    failure: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    held_out: np.ndarray | None = None
    held_out_score: float | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)


def holdout_mask(groups: np.ndarray | int, fraction: float,
                 rng: np.random.Generator) -> np.ndarray:
    """(m,) bool over the flattened y: True on every entry of ``round(fraction·G)`` of its
    G groups (at least one, never all), drawn by ``rng``.

    ``groups`` is the operator's :meth:`~gs.operators.Operator.measurement_groups` (an
    int ``m`` means m entries each on its own); entries of group -1 are never held out.
    """
    groups = np.arange(groups) if isinstance(groups, int) else np.asarray(groups)
    ids = np.unique(groups[groups >= 0])
    count = min(ids.size - 1, max(1, round(fraction * ids.size)))
    chosen = ids[rng.choice(ids.size, size=count, replace=False)] if count > 0 else ids[:0]
    return np.isin(groups, chosen)


def failure_of(loss: float, image: np.ndarray) -> str | None:
    """Why an answer cannot be returned (NaN/Inf in its loss or image), or None."""
    if np.isfinite(loss) and np.isfinite(image).all():
        return None
    return "every restart's measurement loss became NaN or infinite"


def result_failure(result: Recovery) -> str | None:
    """Why ``result`` cannot be used: its own ``failure``, or a non-finite loss or image."""
    return result.failure or failure_of(result.measurement_loss, result.image)


def collect_results(
    images: np.ndarray,
    latents: list[np.ndarray],
    records: list[list[StageRecord]],
    restart_choice: np.ndarray,
    restart_losses: list[list[float]],
    evaluations: np.ndarray,
    total_evaluations: np.ndarray,
    seconds: float,
    held: Sequence[np.ndarray | None] | None = None,
    scores: np.ndarray | None = None,
) -> list[Recovery]:
    """One :class:`Recovery` per image from the engine's per-image arrays.

    ``images`` (B, C, H, W) in [0, 1] and each of ``latents`` (B, *shape) hold the chosen
    row of every image; the other arguments are indexed by image (``held``: the held-out
    mask of each image or None, ``scores``: its held-out residual, read where it has a
    mask).
    """
    held = [None] * len(records) if held is None else list(held)
    return [
        Recovery(
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
            held_out=held[i],
            held_out_score=None if held[i] is None or scores is None else float(scores[i]),
        )
        for i in range(len(records))
    ]
