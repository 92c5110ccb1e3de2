"""The interface every baseline implements, and the pieces they share.

A method receives problems (an operator ``A`` and an observation ``y`` per image,
:class:`gs.jobs.Problem` as built by :func:`gs.jobs.load_problems`) and returns
one :class:`BaselineResult` per problem: the recovery and a record whose fields
match the per-image entries of ``gs-invert``'s report. Randomness comes from
``gs.seeding`` streams keyed by (seed, image index), so a method's result does not
depend on which other images share its call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from gs.baselines.presets import auto_preset
from gs.operators import Operator

#: What a method needs besides the measurements.
PRIORS = ("none", "artifact", "generator")


@runtime_checkable
class ProblemLike(Protocol):
    """One image to recover: ``operator`` and ``y`` (``operator.measurement_shape``),
    ``index`` its position in the job (keys its random streams). gs.jobs.Problem is one."""

    index: int
    operator: Operator
    y: np.ndarray


@dataclass
class BaselineResult:
    """Recovery of one image and its record (the per-image fields of a gs-invert report).

    Attributes:
        image: (C, H, W) float32 in [0, 1].
        measurement_loss: mean squared residual ``mean((A(image) − y)²)``.
        seconds: wall time spent on this image.
        restart: index of the restart chosen by measurement loss (0 without restarts).
        restart_losses: final measurement loss of every restart.
        evaluations: forward-model evaluations (objective gradients) of the chosen restart.
        total_evaluations: evaluations over all restarts.
        stages: per-stage records (gs-invert's ``stages``; empty for one-stage methods).
        details: method-specific facts worth reporting (chosen solver, alpha…).
    """

    image: np.ndarray
    measurement_loss: float
    seconds: float
    restart: int = 0
    restart_losses: list[float] = field(default_factory=list)
    evaluations: int = 0
    total_evaluations: int = 0
    stages: list[Any] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class Method(Protocol):
    """A recovery method: ``solve`` maps problems to results, one per problem, in order.

    Attributes:
        name: registry name (``lasso-dct`` …).
        prior: what it needs besides measurements: ``none``, ``artifact`` (a loaded
            gs artifact) or ``generator`` (the whole pretrained generator).
        settings: its typed preset (``gs.baselines.presets``), recorded in reports.
    """

    name: ClassVar[str]
    prior: ClassVar[str]
    settings: Any

    def solve(self, problems: Sequence[ProblemLike], *, seed: int = 0) -> list[BaselineResult]:
        """Recover every problem; ``seed`` with each problem's index keys its randomness."""
        ...


class Baseline:
    """What the methods share: ``solve`` checks the problems and solves them one by one.

    A subclass sets ``name``, ``prior`` and ``settings`` and implements
    :meth:`solve_one`; each image is solved on its own, so its ``seconds`` are its own.
    """

    name: ClassVar[str]
    prior: ClassVar[str]
    settings: Any

    def solve(self, problems: Sequence[ProblemLike], *, seed: int = 0) -> list[BaselineResult]:
        """Recover every problem; ``seed`` with each problem's index keys its randomness."""
        check_problems(problems)
        return [self.solve_one(problem, seed) for problem in problems]

    def solve_one(self, problem: ProblemLike, seed: int) -> BaselineResult:
        """Recover one (already checked) problem."""
        raise NotImplementedError


class GeneratorBaseline(Baseline):
    """A method on the whole pretrained generator (a ``gs.models`` StagedGenerator).

    Settings default to the preset of the generator's model (Table 3's row).
    """

    prior: ClassVar[str] = "generator"

    def __init__(self, generator: Any, settings: Any = None, device: str = "cpu") -> None:
        self.generator = generator.to(device).eval()
        self.settings = settings or auto_preset(self.name, model=generator.model_name)
        self.device = device


def measurement_loss(operator: Operator, image: np.ndarray, y: np.ndarray) -> float:
    """``mean((A(image) − y)²)`` in float64 for a (C, H, W) image."""
    residual = operator.A(np.asarray(image, dtype=np.float64)[None])[0] - np.asarray(
        y, dtype=np.float64)
    return float(np.mean(residual**2))


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t:`` … ``t[0]`` holds the elapsed seconds afterwards."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start


def check_problems(problems: Sequence[ProblemLike]) -> None:
    """Raise ``ValueError`` naming ``problems`` when it is empty or malformed."""
    if not problems:
        raise ValueError("problems must be a non-empty sequence")
    for problem in problems:
        if not isinstance(problem, ProblemLike):
            raise TypeError(f"problems must hold objects with index, operator and y, "
                            f"got {type(problem).__name__}")
        expected = tuple(problem.operator.measurement_shape)
        if tuple(np.shape(problem.y)) != expected:
            raise ValueError(f"problem {problem.index}: y has shape {np.shape(problem.y)}, "
                             f"its operator measures {expected}")


def choose_restart(losses: Sequence[float]) -> int:
    """Index of the lowest finite loss (a diverged restart never wins)."""
    values = np.nan_to_num(np.asarray(losses, dtype=np.float64), nan=np.inf)
    return int(np.argmin(values))


def restart_result(problem: ProblemLike, image: np.ndarray, losses: Sequence[float],
                   seconds: float, steps: int, **details: Any) -> BaselineResult:
    """The record of a method run with ``len(losses)`` restarts of ``steps`` evaluations
    each, whose lowest-loss restart gave ``image`` (C, H, W) float32 in [0, 1]."""
    return BaselineResult(
        image=image, measurement_loss=measurement_loss(problem.operator, image, problem.y),
        seconds=seconds, restart=choose_restart(losses), restart_losses=list(losses),
        evaluations=steps, total_evaluations=steps * len(losses), details=details,
    )
