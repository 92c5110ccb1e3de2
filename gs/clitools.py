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


def task_options(func: F) -> F:
    """The flags that define the forward model and the mode (gs.jobs.OperatorOptions)."""
    from gs.settings import TASKS

    options = [
        click.option("--task", type=click.Choice(TASKS), default="cs", show_default=True),
        click.option("--simulate", is_flag=True,
                     help="IMAGES are ground truth: degrade them, recover, report PSNR/SSIM."),
        click.option("--measurements", type=int, help="CS: number of measurements m."),
        click.option("--ratio", type=float,
                     help="CS: measurement ratio m/n instead of --measurements."),
        click.option("--keep", type=float,
                     help="inpaint: fraction of pixels kept (default 0.1)."),
        click.option("--mask", type=click.Path(),
                     help="inpaint observation: mask image, white = kept."),
        click.option("--scale", type=int, help="sr: downsampling factor 2, 4 or 8 (default 4)."),
        click.option("--method", type=click.Choice(["bilinear", "area"]), default="bilinear",
                     show_default=True, help="sr: downsampling kernel."),
        click.option("--noise-std", type=float, help="Noise std per measurement (task default)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
