"""What every method's settings share: frozen dataclasses that check their fields against
their declarations, copy themselves with changes and write themselves as JSON.

A field is declared once, with its type, allowed values, default and help
(``steps: Annotated[int, Param("Adam steps.", min=1)] = 1000``, :mod:`gs.params`); rules
that tie fields together stay in the class's own ``__post_init__``, after
``super().__post_init__()``.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from gs.params import Param, declared_params

#: Declarations several methods' settings share.
ADAM_LR = Param("Adam learning rate.", min=0, min_open=True)
ADAM_STEPS = Param("Adam steps.", min=1)
RESTARTS = Param("Random restarts; the best by measurement loss wins.", min=1)


class Settings:
    """Shared helpers of the frozen settings dataclasses of :mod:`gs.methods.presets`."""

    def __post_init__(self) -> None:
        """Check each declared field (the :class:`~gs.errors.UserInputError` names it).

        Values are kept as given, so that settings written as JSON read back the same.
        """
        for declared in declared_params(type(self)).values():
            declared.check(getattr(self, declared.name))

    def override(self, **changes: Any):  # noqa: ANN201 - returns the subclass
        """A copy with every non-None value of ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[type-var]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]
