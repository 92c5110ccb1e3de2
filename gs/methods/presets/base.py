"""What every method's settings share: frozen dataclasses that copy themselves with
changes and write themselves as JSON, and the checks their fields run."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from gs.errors import UserInputError


class Settings:
    """Shared helpers of the frozen settings dataclasses of :mod:`gs.methods.presets`."""

    def override(self, **changes: Any):  # noqa: ANN201 - returns the subclass
        """A copy with every non-None value of ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[type-var]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


def positive(owner: str, **values: float) -> None:
    """Raise :class:`UserInputError` naming the first field of ``owner`` that is not > 0."""
    for name, value in values.items():
        if not value > 0:
            raise UserInputError(f"must be positive, got {value!r}", field=name)


def one_of(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise :class:`UserInputError` naming field ``name`` unless ``value`` is a choice."""
    if value not in choices:
        raise UserInputError(f"must be one of {', '.join(map(str, choices))}, got {value!r}",
                             field=name)
