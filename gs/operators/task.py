"""What a task is: the factory options it reads (:data:`gs.operators.options.OPTIONS`) and
its record (:class:`Task`: its operators, options, how it is observed, its classical answer).
Which tasks there are is :mod:`gs.operators.registry`'s."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gs.operators.base import Operator
from gs.operators.options import OPTIONS, Option  # noqa: F401 - re-exported
from gs.operators.validation import field_error


@dataclass(frozen=True)
class Task:
    """One task: the operators that solve it (the first is the default) and its options.

    Attributes:
        name: the task's name (``--task``).
        summary: one line for help texts.
        operators: operator classes by name, default first.
        options: names of the factory options it reads (keys of :data:`OPTIONS`).
        choose: picks the operator name for an image shape when none is given (None:
            always the first).
        observation: how a real (not simulated) observation arrives: ``image`` (an
            image of the operator's measurement shape), ``masked`` (the full image plus
            a mask of the kept pixels, which the operator class builds from with
            ``from_mask``) or ``measurements`` (a file holding ``y``, which is also what
            a simulated run can save).
        from_ratio: the options of a point at "ratio" on a study's axis (m/n, kept
            fraction, 1/scale); None: the task has no such axis.
        identity: ``A = I``, so the paper's "raw reconstruction" settings apply.
        classical: the registered methods (:mod:`gs.methods`) that give the task's
            classical answer, in order of preference (the first installed is used).
    """

    name: str
    summary: str
    operators: Mapping[str, type[Operator]]
    options: tuple[str, ...]
    choose: Callable[[tuple[int, int, int]], str] | None = field(default=None, compare=False)
    observation: str = "image"
    from_ratio: Callable[[float], dict[str, Any]] | None = field(default=None, compare=False)
    identity: bool = False
    classical: tuple[str, ...] = ()

    @property
    def default_operator(self) -> str:
        return next(iter(self.operators))

    def operator_class(self, operator: str | None = None,
                       image_shape: tuple[int, int, int] | None = None) -> type[Operator]:
        """The class of ``operator``, or of the default for ``image_shape`` when None."""
        if operator is None:
            if self.choose is not None and image_shape is not None:
                operator = self.choose(image_shape)
            else:
                operator = self.default_operator
        if operator not in self.operators:
            raise field_error(
                "operator",
                f"must be one of {', '.join(self.operators)} for task {self.name}, "
                f"got {operator!r}",
            )
        return self.operators[operator]

    @property
    def defaults(self) -> dict[str, Any]:
        """Default of each option (None: required or computed by the operator)."""
        merged: dict[str, Any] = dict.fromkeys(self.options)
        for cls in reversed(tuple(self.operators.values())):
            merged.update({k: v for k, v in cls.defaults.items() if k in merged})
        return merged


#: How a task's real observations can arrive (:attr:`Task.observation`).
OBSERVATIONS = ("image", "masked", "measurements")
