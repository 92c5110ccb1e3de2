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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from gs.operators import Operator
from gs.seeding import Stream, problem_rng

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


def measurement_loss(operator: Operator, image: np.ndarray, y: np.ndarray) -> float:
    """``mean((A(image) − y)²)`` in float64 for a (C, H, W) image."""
    residual = operator.A(np.asarray(image, dtype=np.float64)[None])[0] - np.asarray(
        y, dtype=np.float64)
    return float(np.mean(residual**2))


def torch_generator(seed: int, index: int) -> Any:
    """A ``torch.Generator`` seeded from the BASELINE stream of (seed, image index)."""
    import torch

    value = int(problem_rng(seed, index, Stream.BASELINE).integers(0, 2**62))
    return torch.Generator().manual_seed(value)


def seeded_reset(module: Any, generator: Any) -> None:
    """Re-initialise every conv/linear layer of ``module`` from ``generator``.

    The draw is torch's default (Kaiming-uniform with a = √5 for weights, uniform
    ±1/√fan_in for biases), taken from an explicit generator instead of global state.
    """
    import math

    import torch
    from torch import nn

    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                fan_in = layer.weight[0].numel()
                bound = 1 / math.sqrt(fan_in)
                with torch.no_grad():
                    layer.bias.uniform_(-bound, bound, generator=generator)


def residual_losses(operator: Operator, images: Any, y: Any) -> Any:
    """Per-row mean squared residual (R,) of torch images (R, C, H, W) against y."""
    residual = operator.A(images) - y
    return residual.pow(2).flatten(1).mean(dim=1)


def adam_rows(
    params: Sequence[Any] | Sequence[dict[str, Any]],
    row_losses: Callable[[], Any],
    steps: int,
    lr: float,
    objective: Callable[[Any], Any] | None = None,
) -> Any:
    """Run ``steps`` Adam steps on the sum of per-row losses; return final per-row losses.

    ``row_losses()`` returns the measurement losses (R,) of R independent rows
    (restarts); ``objective(losses)`` may add penalties (default: their sum). Rows
    are independent, so summing them gives each its own gradient.
    """
    import torch

    optimizer = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        losses = row_losses()
        total = losses.sum() if objective is None else objective(losses)
        total.backward()
        optimizer.step()
    with torch.no_grad():
        return row_losses().detach()


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
