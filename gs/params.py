"""Constructor arguments that declare their own range and help (no torch needed).

A setting is declared once, in a signature or a dataclass field, as
``nz: Annotated[int, Param("Latent size.", min=1)] = 100``: its name, type, allowed
values, default and help. Validation, the command-line options (``gs-train``,
``gs-export``, ``gs-invert``), the page's form and the resume checks all read that one
declaration through :func:`declared_params`. Models, trainers, inversion settings
(:mod:`gs.settings`), method presets (:mod:`gs.methods.presets`) and the page's request
(:mod:`gs.serve.page_request`) declare their settings this way.
"""

from __future__ import annotations

import functools
import inspect
import math
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
    ``finite`` refuses infinities. ``choices`` restricts the value to a set. A bounded
    number is never NaN. On a ``tuple[T, ...]`` setting the range applies to each item.
    """

    help: str
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    choices: tuple[Any, ...] = ()
    finite: bool = False

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
        return "a finite number" if self.finite else "any value"

    @property
    def ranged(self) -> bool:
        """Whether a range or a set of choices limits the value (beyond finiteness)."""
        return bool(self.choices) or self.min is not None or self.max is not None

    @property
    def bounded(self) -> bool:
        """Whether some values are refused (a range, finiteness or a set of choices)."""
        return self.ranged or self.finite

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is among the choices or in the range."""
        if self.choices:
            return value in self.choices
        try:
            if value != value or (self.finite and not math.isfinite(value)):  # NaN, ±inf
                return False
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
    ``default`` is ``inspect.Parameter.empty`` for a required argument. For a
    ``tuple[T, ...]`` argument :attr:`type` is ``T`` and :attr:`many` is True.
    """

    name: str
    type: type
    default: Any
    param: Param
    extras: tuple[Any, ...] = ()
    many: bool = False

    def check(self, value: Any) -> Any:
        """``value`` converted to :attr:`type` (a tuple of them when :attr:`many`).

        Raises:
            UserInputError: ``value`` is not allowed; the error names the field.
        """
        if not self.many:
            converted = self._item(value)
            if converted is _REFUSED:
                allowed = self.param.describe() if self.param.ranged else ""
                raise UserInputError(f"must be {(self._kind() + allowed).rstrip()}, got "
                                     f"{value!r}", field=self.name)
            return converted
        items = [self._item(v) for v in value] if isinstance(value, tuple | list) else [_REFUSED]
        if any(item is _REFUSED for item in items):
            kinds = {int: "integers ", float: "numbers "}.get(self.type, "values ")
            allowed = (f"among {', '.join(map(str, self.param.choices))}" if self.param.choices
                       else self.param.describe())
            raise UserInputError(f"must list {kinds}{allowed}, got {value!r}", field=self.name)
        return tuple(items)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of one value (OpenAPI 3.1): its type, help, default, choices
        and range, e.g. ``{"type": "integer", "minimum": 1, ...}``."""
        types = {str: "string", int: "integer", float: "number", bool: "boolean"}
        schema: dict[str, Any] = {"type": types.get(self.type, "string"),
                                  "description": self.param.help}
        if self.default not in (None, inspect.Parameter.empty):
            schema["default"] = self.default
        if self.param.choices:
            schema["enum"] = list(self.param.choices)
        if self.param.min is not None:
            schema["exclusiveMinimum" if self.param.min_open else "minimum"] = self.param.min
        if self.param.max is not None:
            schema["exclusiveMaximum" if self.param.max_open else "maximum"] = self.param.max
        if self.many:
            schema = {"type": "array", "items": schema}
        return schema

    def _kind(self) -> str:
        """``an integer ``, ``a finite number ``... (nothing before a list of choices)."""
        if self.param.choices:
            return ""
        finite = "finite " if self.param.finite else ""
        return {int: f"a {finite}integer " if finite else "an integer ",
                float: f"a {finite}number "}.get(self.type, "")

    def _item(self, value: Any) -> Any:
        """One value converted to :attr:`type`, or :data:`_REFUSED`."""
        if isinstance(value, bool) and self.type is not bool:
            return _REFUSED
        try:
            converted = self.type(value)
        except (TypeError, ValueError, OverflowError):
            return _REFUSED
        if (self.type is int and converted != value) or not self.param.allows(converted):
            return _REFUSED
        return converted


_REFUSED = object()
"""What :meth:`Declared._item` returns for a value it refuses."""


def declared_params(func: Callable[..., Any]) -> dict[str, Declared]:
    """The arguments of ``func`` annotated with a :class:`Param`.

    For a class: those of every ``__init__`` along its method resolution order, the
    most derived declaration of a name winning (a subclass may change a default).
    Declarations do not change, so each callable is read once (settings validate
    through this on every construction).
    """
    return dict(_declared(func))


@functools.cache
def _declared(func: Callable[..., Any]) -> dict[str, Declared]:
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
            kind, many = _concrete(base)
            out[name] = Declared(name, kind, parameter.default, params[0],
                                 tuple(e for e in extras if e is not params[0]), many)
    return out


def _concrete(hint: Any) -> tuple[type, bool]:
    """``(int, False)`` from ``int``, ``int | None`` or ``Optional[int]``; ``(int, True)``
    from ``tuple[int, ...]``."""
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis and isinstance(args[0], type):
            return args[0], True
        return tuple, False
    if isinstance(hint, type):
        return hint, False
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return (args[0] if args and isinstance(args[0], type) else str), False


def check_params(func: Callable[..., Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the declared arguments among ``values``; return them converted.

    Raises:
        UserInputError: a value is outside its declared range; the error names the field.
    """
    declared = declared_params(func)
    return {name: declared[name].check(value) if name in declared else value
            for name, value in values.items()}
