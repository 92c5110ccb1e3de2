"""Constructor arguments that declare their own range and help (no torch needed).

A hyperparameter is declared once, in a signature, as
``nz: Annotated[int, Param("Latent size.", min=1)] = 100``. Validation, the
``gs-train`` options, their help and defaults, and the resume checks all read
that one declaration through :func:`declared_params`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gs.errors import UserInputError

_FOREIGN = ("torch", "lightning")
"""Packages whose base classes declare nothing here (their hints need not resolve)."""


@dataclass(frozen=True)
class Param:
    """Help text and allowed range of one argument (``Annotated`` metadata).

    ``min``/``max`` bound numbers; ``min_open``/``max_open`` make a bound strict.
    ``choices`` restricts the value to a set.
    """

    help: str
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    choices: tuple[Any, ...] = ()

    def describe(self) -> str:
        """The allowed values in words: ``a positive integer``, ``in (0, 1]``, ..."""
        if self.choices:
            return f"one of {', '.join(map(str, self.choices))}"
        if self.min is not None and self.max is not None:
            left, right = "(" if self.min_open else "[", ")" if self.max_open else "]"
            return f"in {left}{_number(self.min)}, {_number(self.max)}{right}"
        if self.min is not None:
            return f"{'>' if self.min_open else '≥'} {_number(self.min)}"
        if self.max is not None:
            return f"{'<' if self.max_open else '≤'} {_number(self.max)}"
        return "any value"

    @property
    def bounded(self) -> bool:
        """Whether some values are refused (a range or a set of choices)."""
        return bool(self.choices) or self.min is not None or self.max is not None

    def allows(self, value: Any) -> bool:
        if self.choices:
            return value in self.choices
        try:
            if self.min is not None and (value < self.min or (self.min_open and value == self.min)):
                return False
            if self.max is not None and (value > self.max or (self.max_open and value == self.max)):
                return False
        except TypeError:
            return False
        return True


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Declared:
    """One declared argument: its name, Python type, default and :class:`Param`.

    ``extras`` holds the other ``Annotated`` metadata (e.g. a command-line type);
    ``default`` is ``inspect.Parameter.empty`` for a required argument.
    """

    name: str
    type: type
    default: Any
    param: Param
    extras: tuple[Any, ...] = ()

    def check(self, value: Any) -> Any:
        """``value`` converted to :attr:`type`.

        Raises:
            UserInputError: ``value`` is not allowed; the error names the field.
        """
        wrong = isinstance(value, bool) and self.type is not bool
        try:
            converted = self.type(value)
        except (TypeError, ValueError):
            wrong = True
        if wrong or (self.type is int and converted != value) or not self.param.allows(converted):
            kind = "" if self.param.choices else {int: "an integer ", float: "a number "}.get(
                self.type, "")
            raise UserInputError(f"must be {kind}{self.param.describe()}, got {value!r}",
                                 field=self.name)
        return converted


def declared_params(func: Callable[..., Any]) -> dict[str, Declared]:
    """The arguments of ``func`` annotated with a :class:`Param`.

    For a class: those of every ``__init__`` along its method resolution order, the
    most derived declaration of a name winning (a subclass may change a default).
    """
    if inspect.isclass(func):
        out: dict[str, Declared] = {}
        for cls in reversed(func.__mro__):
            init = inspect.unwrap(vars(cls).get("__init__", object.__init__))
            if inspect.isfunction(init) and init.__module__.split(".")[0] not in _FOREIGN:
                out.update(declared_params(init))
        return out
    target = inspect.unwrap(func)
    hints = typing.get_type_hints(target, include_extras=True)
    out = {}
    for name, parameter in inspect.signature(target).parameters.items():
        hint = hints.get(name)
        if typing.get_origin(hint) is not typing.Annotated:
            continue
        base, *extras = typing.get_args(hint)
        params = [e for e in extras if isinstance(e, Param)]
        if params:
            out[name] = Declared(name, _concrete(base), parameter.default, params[0],
                                 tuple(e for e in extras if e is not params[0]))
    return out


def _concrete(hint: Any) -> type:
    """``int`` from ``int``, ``int | None`` or ``Optional[int]``."""
    if isinstance(hint, type):
        return hint
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args and isinstance(args[0], type) else str


def check_params(func: Callable[..., Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the declared arguments among ``values``; return them converted.

    Raises:
        UserInputError: a value is outside its declared range; the error names the field.
    """
    declared = declared_params(func)
    return {name: declared[name].check(value) if name in declared else value
            for name, value in values.items()}
