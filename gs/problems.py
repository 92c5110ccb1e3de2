"""One image to recover: its forward model, its observation and, when simulated, its truth.

Every method and every app builds problems here, from the image's index and the user's
seed, so the same problem arises for every method compared and for both backends: the
operator's random parts come from stream ``OPERATOR`` and the noise from ``NOISE`` of
(seed, image index).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from gs.errors import UserInputError
from gs.operators import OPTIONS, Operator, get_task, make_operator
from gs.seeding import Stream, problem_rng


class OperatorOptions:
    """The forward model of a job: a registered task, its operator and factory options.

    ``OperatorOptions(task="cs", ratio=0.1)``: ``task`` and ``operator`` name an entry
    of the task registry (:mod:`gs.operators.registry`; ``operator=None`` lets the task
    choose), the keywords are its factory options (:data:`gs.operators.OPTIONS`:
    ``measurements``, ``ratio``, ``rounds``, ``keep``, ``scale``, ``method``,
    ``noise_std``). An option left out or ``None`` takes the task's default. Reading an
    option as an attribute gives its value or ``None``. Immutable and picklable.
    """

    __slots__ = ("task", "operator", "values")

    def __init__(self, task: str = "cs", operator: str | None = None, **values: Any) -> None:
        get_task(task)  # refuses an unknown task, naming the field
        unknown = sorted(set(values) - set(OPTIONS))
        if unknown:
            raise UserInputError(f"is not an operator option; expected one of "
                                 f"{', '.join(OPTIONS)}", field=unknown[0])
        object.__setattr__(self, "task", task)
        object.__setattr__(self, "operator", operator)
        object.__setattr__(self, "values",
                           MappingProxyType({k: v for k, v in values.items() if v is not None}))

    def __getattr__(self, name: str) -> Any:
        if name in OPTIONS:
            return self.values.get(name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("OperatorOptions is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OperatorOptions) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))

    def __repr__(self) -> str:
        values = "".join(f", {k}={v!r}" for k, v in self.values.items())
        return f"OperatorOptions(task={self.task!r}, operator={self.operator!r}{values})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_operator_options, (self.task, self.operator, dict(self.values)))

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "operator": self.operator, **self.values}


def _operator_options(task: str, operator: str | None, values: dict[str, Any]) -> OperatorOptions:
    return OperatorOptions(task, operator, **values)


@dataclass
class Problem:
    """One image to recover.

    Attributes:
        path: the file it came from (for reports; any name for arrays in memory).
        index: its position in the job, which keys its random streams.
        operator: the forward model A.
        y: the observation, ``operator.measurement_shape`` float32.
        truth: (C, H, W) float32 in [0, 1] when known (simulated), else None.
    """

    path: Path
    index: int
    operator: Operator
    y: np.ndarray
    truth: np.ndarray | None = None


def simulate(image: np.ndarray, operator: Operator, rng: np.random.Generator) -> np.ndarray:
    """Measurements y = A x + noise of a ground-truth (C, H, W) image in [0, 1]."""
    return operator.measure(image[None].astype(np.float32), rng)[0]


def build_operator(options: OperatorOptions, image_shape: tuple[int, int, int], seed: int,
                   index: int) -> Operator:
    """The operator of image ``index``: random parts drawn from (seed, index, OPERATOR)."""
    return make_operator(options.task, image_shape, problem_rng(seed, index, Stream.OPERATOR),
                         operator=options.operator, **options.values)


def simulated_problem(path: Path, index: int, image: np.ndarray, options: OperatorOptions,
                      seed: int) -> Problem:
    """Degrade a ground-truth (C, H, W) image with its seeded operator and noise."""
    operator = build_operator(options, image.shape, seed, index)
    y = simulate(image, operator, problem_rng(seed, index, Stream.NOISE))
    return Problem(path, index, operator, y, truth=image)


def masked_problem(path: Path, index: int, observed: np.ndarray, keep: np.ndarray,
                   options: OperatorOptions) -> Problem:
    """An image observed through a mask (inpainting): the kept pixels ``keep`` (H, W) bool
    of the observed (C, H, W) image in [0, 1]; the operator is the task's masked operator
    built from ``keep`` (noise std ``options.noise_std``, 0 when None)."""
    noise = 0.0 if options.noise_std is None else options.noise_std
    masked = get_task(options.task).operator_class(options.operator)  # has from_mask
    operator = masked.from_mask(keep, tuple(observed.shape), noise_std=noise)
    return Problem(path, index, operator, operator.A(np.asarray(observed)[None])[0])
