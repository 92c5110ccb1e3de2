"""Argument checks shared by every operator; errors name the operator's own fields."""

from __future__ import annotations

from typing import Any

from gs.errors import UserInputError


def field_error(field: str, problem: str) -> UserInputError:
    """A :class:`UserInputError` about ``field``: ``"<field> <problem>"``, one sentence.

    Fields are the constructor/factory argument names (``measurements``, ``keep``,
    ``noise_std``, ``operator``...); a command-line tool shows its flag of that name.
    """
    return UserInputError(problem, field=field)


def as_image_shape(image_shape: Any) -> tuple[int, int, int]:
    """Validate and normalise ``(C, H, W)`` (three positive integers)."""
    try:
        shape = tuple(int(s) for s in image_shape)
        ok = len(shape) == 3 and all(
            s > 0 and s == v for s, v in zip(shape, image_shape, strict=True)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise field_error(
            "image_shape", f"must be three positive integers (C, H, W), got {image_shape!r}"
        )
    return shape  # type: ignore[return-value]


def as_int(value: Any) -> int | None:
    """``value`` as an int if it is an integer (not a bool), else None."""
    if isinstance(value, bool):
        return None
    try:
        as_integer = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return as_integer if as_integer == value else None


def as_float(value: Any) -> float:
    """``value`` as a float, NaN when it is not a number (callers then reject it)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def as_measurements(measurements: Any, size: int) -> int:
    """``m`` as an int in ``[1, size]``."""
    m = as_int(measurements)
    if m is None or not 1 <= m <= size:
        raise field_error("measurements", f"must be between 1 and {size}, got {measurements!r}")
    return m
