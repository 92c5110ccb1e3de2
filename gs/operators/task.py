"""What a task is: the factory options operators take (:data:`OPTIONS`) and a task's
record (:class:`Task`: its operators, options, how it is observed, its classical answer).
Which tasks there are is :mod:`gs.operators.registry`'s."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gs.operators.base import Operator
from gs.operators.mri import MRI_ACCELERATIONS, MRI_PATTERNS
from gs.operators.superres import SR_METHODS, SR_SCALES
from gs.operators.validation import field_error


@dataclass(frozen=True)
class Option:
    """A factory option: its name (also the spec key and the ``--flag`` stem), type, help."""

    name: str
    type: type
    help: str
    choices: tuple[Any, ...] | None = None


#: Every option an operator factory takes, by name; tasks list the ones they read.
OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        Option("measurements", int, "number of measurements m"),
        Option("ratio", float, "measurement ratio m/n instead of measurements"),
        Option("rounds", int, "sign-and-transform rounds of the structured operator"),
        Option("keep", float, "fraction of pixels kept"),
        Option("scale", int, "downsampling factor", SR_SCALES),
        Option("method", str, "downsampling kernel", SR_METHODS),
        Option("acceleration", int, "MRI undersampling factor: W / sampled k-space lines",
               MRI_ACCELERATIONS),
        Option("center_fraction", float, "fraction of fully sampled centre k-space lines "
               "(default: 0.08 at x4, 0.04 at x8, as fastMRI)"),
        Option("pattern", str, "how the other k-space lines are drawn", MRI_PATTERNS),
        Option("sigma", float, "Gaussian blur std in pixels (default 1.5)"),
        Option("length", float, "motion blur length in pixels"),
        Option("angle", float, "motion blur direction in degrees"),
        Option("kernel", str, "blur kernel file: .png (normalised to sum 1) or .npy"),
        Option("noise_std", float, "noise std per measurement"),
    )
}


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
