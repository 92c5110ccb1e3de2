"""The one protocol of everything that recovers images, and the pieces methods share.

A method receives problems (an operator ``A`` and an observation ``y`` per image,
:class:`gs.problems.Problem` as built by :mod:`gs.jobs` or the experiments) and returns
one :class:`gs.results.Recovery` per problem. Randomness comes from ``gs.seeding``
streams keyed by (seed, image index), so a method's result does not depend on which
other images share its call, and every method compared sees the same ``y``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from gs.operators import Operator
from gs.problems import Problem
from gs.results import Recovery, StepEvent, choose_restart

#: What a method needs besides the measurements.
PRIORS = ("none", "artifact", "generator")

StepCallback = Callable[[StepEvent], None]


@dataclass(frozen=True)
class MethodContext:
    """What :func:`gs.methods.build_method` hands a method's :meth:`Method.build`.

    Attributes:
        task: the task the problems come from (presets are chosen per task).
        artifact: a loaded artifact (``prior == "artifact"`` methods).
        generator: the whole pretrained generator, a ``gs.models`` StagedGenerator
            (``prior == "generator"`` methods).
        settings: the method's typed settings; None: its default for the task.
        device: torch device of the methods that own networks (``cpu``, ``cuda``...).
        image_side: side of the images, for presets chosen by size.
    """

    task: str = "cs"
    artifact: Any = None
    generator: Any = None
    settings: Any = None
    device: str = "cpu"
    image_side: int | None = None


class Method:
    """A recovery method: :meth:`solve` maps problems to recoveries, one each, in order.

    Subclasses set ``name`` (their registry name) and ``prior``, keep their typed
    settings in ``settings`` (a frozen dataclass with ``to_json``), and implement
    :meth:`solve_one` (one image at a time) or override :meth:`solve` (batched).
    A subclass whose ``solve_one`` reports its optimisation steps sets
    ``reports_steps = True`` and takes ``on_step`` as a third argument
    (:mod:`gs.methods.fitting` builds the events).
    """

    name: ClassVar[str]
    prior: ClassVar[str] = "none"
    #: Whether :meth:`solve_one` takes ``on_step`` (the iterative baselines).
    reports_steps: ClassVar[bool] = False
    settings: Any = None

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        """The method for ``context`` (the registry builds every method this way)."""
        return cls(context.settings)  # type: ignore[call-arg]

    def config(self) -> dict[str, Any]:
        """Everything that changes this method's results, JSON-able (cache keys, reports)."""
        return {"method": self.name,
                "settings": None if self.settings is None else self.settings.to_json()}

    def describe(self) -> dict[str, Any]:
        """The columns that name this method in tables: ``method``, ``cut``, ``init``."""
        return {"method": self.name, "cut": None, "init": None}

    def solve(self, problems: Sequence[Problem], *, seed: int = 0,
              on_step: StepCallback | None = None) -> list[Recovery]:
        """Recover every problem; ``seed`` with each problem's index keys its randomness.

        ``on_step`` receives progress where the method optimises in steps (surgery,
        the iterative baselines: a :class:`gs.results.StepEvent` per step); an
        exception raised there cancels the method. It never changes the results.
        """
        check_problems(problems)
        if self.reports_steps:
            return [self.solve_one(problem, seed, on_step) for problem in problems]
        return [self.solve_one(problem, seed) for problem in problems]

    def solve_one(self, problem: Problem, seed: int,
                  on_step: StepCallback | None = None) -> Recovery:
        """Recover one (already checked) problem; ``on_step`` only where
        ``reports_steps`` (others may define ``solve_one(problem, seed)``)."""
        raise NotImplementedError


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


def check_problems(problems: Sequence[Problem]) -> None:
    """Raise ``ValueError`` naming ``problems`` when it is empty or malformed."""
    if not problems:
        raise ValueError("problems must be a non-empty sequence")
    for problem in problems:
        if not all(hasattr(problem, name) for name in ("index", "operator", "y")):
            raise TypeError(f"problems must hold objects with index, operator and y, "
                            f"got {type(problem).__name__}")
        expected = tuple(problem.operator.measurement_shape)
        if tuple(np.shape(problem.y)) != expected:
            raise ValueError(f"problem {problem.index}: y has shape {np.shape(problem.y)}, "
                             f"its operator measures {expected}")


def restart_result(problem: Problem, image: np.ndarray, losses: Sequence[float],
                   seconds: float, steps: int, **details: Any) -> Recovery:
    """The record of a method run with ``len(losses)`` restarts of ``steps`` evaluations
    each, whose lowest-loss restart gave ``image`` (C, H, W) float32 in [0, 1]."""
    return Recovery(
        image=image, measurement_loss=measurement_loss(problem.operator, image, problem.y),
        seconds=seconds, restart=choose_restart(losses), restart_losses=list(losses),
        evaluations=steps, total_evaluations=steps * len(losses), details=details,
    )


def answer(problem: Problem, image: np.ndarray, seconds: float, **details: Any) -> Recovery:
    """The record of a method that computes one answer directly (no restarts)."""
    image = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    return Recovery(image=image, measurement_loss=measurement_loss(problem.operator, image,
                                                                   problem.y),
                    seconds=seconds, details=details)
