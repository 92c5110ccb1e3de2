"""``classical``: the classical answer of the problems' task, the first of its
preferences (:data:`gs.operators.registry.Task.classical`) whose library is installed,
so every comparison the product shows can put the classical answer beside surgery."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from gs.errors import UserInputError
from gs.methods.base import Method, MethodContext
from gs.operators import get_task
from gs.problems import Problem
from gs.results import Recovery


def classical_available(task: str) -> bool:
    """Whether ``task`` has a classical answer installed here."""
    try:
        classical_name(task)
    except UserInputError:
        return False
    return True


def classical_name(task: str) -> str:
    """The registered classical answer of ``task``: its first preference that is installed.

    Raises:
        UserInputError: the task has no classical answer (field ``task``).
    """
    from gs.methods import method_class

    preferences = get_task(task).classical
    for name in preferences:
        cls = method_class(name)
        if getattr(cls, "available", lambda: True)():
            return name
    raise UserInputError(f"{task} has no classical answer installed"
                         + (f" (it takes {', '.join(preferences)})" if preferences else ""),
                         field="task")


class Classical(Method):
    """The classical answer of the problems' task (see :func:`classical_name`)."""

    name: ClassVar[str] = "classical"
    prior: ClassVar[str] = "none"

    def __init__(self, task: str = "cs", settings: Any = None) -> None:
        from gs.methods import build_method

        self.inner = build_method(classical_name(task), task=task, settings=settings)
        self.settings = self.inner.settings

    @classmethod
    def build(cls, context: MethodContext) -> Method:
        return cls(context.task, context.settings)

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def solve(self, problems, *, seed=0, on_step=None) -> list[Recovery]:
        return self.inner.solve(problems, seed=seed)

    def answer_without(self, problem: Problem, held: np.ndarray,
                       start: np.ndarray | None = None) -> np.ndarray | None:
        """The classical answer computed without the ``held`` entries of y (see
        :meth:`ClassicalAnswer.answer_without`); None where it needs every entry."""
        return self.inner.answer_without(problem, held, start)

    def answer_from(self, problem: Problem, start: np.ndarray) -> np.ndarray:
        """The classical answer of every entry of y (:meth:`ClassicalAnswer.answer_from`)."""
        return self.inner.answer_from(problem, start)
