"""What every classical answer shares: its settings, one image at a time on one BLAS
thread, and the answers without held-out entries that the answer rule scores."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from gs.devices import one_blas_thread
from gs.errors import UserInputError
from gs.methods.base import Method, MethodContext, answer, stopwatch
from gs.methods.presets import auto_preset
from gs.problems import Problem
from gs.results import Recovery


class ClassicalAnswer(Method):
    """A classical answer: settings default to the method's preset; one image at a time."""

    prior: ClassVar[str] = "none"
    #: The task this method answers (its operator's attributes are read).
    task: ClassVar[str]
    #: The Python package the method needs beyond gs's own dependencies, if any.
    requires: ClassVar[str | None] = None

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings or auto_preset(self.name)

    @classmethod
    def available(cls) -> bool:
        """Whether the library this method needs is installed."""
        return cls.requires is None or importlib.util.find_spec(cls.requires) is not None

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        if not cls.available():
            raise UserInputError(f"{cls.name} needs the {cls.requires} package; install it "
                                 f"with pip install 'gs[{cls.requires}]'", field="method")
        return cls(context.settings)

    def solve_one(self, problem: Problem, seed: int) -> Recovery:
        if problem.operator.task != self.task:
            raise UserInputError(f"{self.name} answers {self.task} problems, not "
                                 f"{problem.operator.task}", field="method")
        with stopwatch() as elapsed, one_blas_thread():
            image = self.recover(problem)
        return answer(problem, image, elapsed[0], answer=self.name)

    def recover(self, problem: Problem) -> np.ndarray:
        """The (C, H, W) answer to one problem (clipped to [0, 1] by the caller)."""
        raise NotImplementedError

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray | None:
        """The answer from the entries of y not ``held`` (bool, flattened y), clipped to
        [0, 1]; None where the method needs every entry (the denoisers). ``start``, an
        image (C, H, W) in [0, 1] near the answer, is where an iterative method may start
        (others ignore it)."""
        return None

    def answer_from(self, problem: Problem, start: np.ndarray) -> np.ndarray:
        """The answer from every entry of y, (C, H, W) float32 in [0, 1]; an iterative
        method may start at ``start``, the answer of nearly the same problem (its answer
        without a few held-out entries)."""
        return self.solve([problem])[0].image


def recover_filled(recover: Any, problem: Problem, held: np.ndarray) -> np.ndarray:
    """``recover`` (an image-observed task's classical answer) of ``problem`` whose
    ``held`` entries (flat bool over y) are filled from their neighbours first
    (biharmonic), so that the answer does not see them; (C, H, W) float32 in [0, 1]."""
    from skimage.restoration import inpaint_biharmonic

    y = np.asarray(problem.y, dtype=np.float64)
    missing = held.reshape(y.shape).any(axis=0)
    filled = inpaint_biharmonic(y.transpose(1, 2, 0), missing, channel_axis=-1)
    with one_blas_thread():
        image = recover(replace(problem, y=filled.transpose(2, 0, 1)))
    return np.clip(image, 0.0, 1.0).astype(np.float32)
