"""Shared pieces of the command-line tools: user errors become exit code 2."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gs.errors import UserInputError

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """A user-caused error: printed as one ``Error: …`` line, exit code 2."""

    exit_code = 2


def user_errors(func: F) -> F:
    """Turn :class:`UserInputError` raised inside a command into :class:`CliError`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserInputError as exc:
            raise CliError(str(exc)) from None

    return wrapper  # type: ignore[return-value]
