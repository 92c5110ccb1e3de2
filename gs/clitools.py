"""What every gs command-line tool shares: field → flag names and exit codes.

Library code raises :class:`gs.errors.UserInputError` naming its own fields.
A command decorated with :func:`user_errors` turns exactly those errors into
one ``Error: …`` line and exit code 2, naming each field as the command's own
parameter of that name (``measurements`` → ``--measurements``, ``images`` →
``IMAGES``) or as its ``aliases`` table says. Any other exception is a bug and
keeps its traceback (exit code 1).

Exit codes of every gs command:
    0  success.
    1  a bug (an unexpected exception, with its traceback).
    2  user input refused (one sentence naming the file or flag); nothing written.
    3  the run finished but some images failed (see the report's ``failure``).
    130 / 143  interrupted by SIGINT / SIGTERM; finished work is kept.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from gs.devices import DEVICE_NAMES
from gs.errors import UserInputError
from gs.params import Declared

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 2
EXIT_SOME_FAILED = 3


class CliError(click.ClickException):
    """A user-caused error: printed as one ``Error: …`` line, exit code 2."""

    exit_code = EXIT_USER_ERROR


def flag_names(command: click.Command, aliases: Mapping[str, str] | None = None,
               ctx: click.Context | None = None) -> dict[str, str]:
    """Field → how ``command`` names it: ``--long-flag`` or ``ARGUMENT``.

    Every parameter of the command names the field of its Python name; ``aliases``
    maps further library fields to a parameter name (``{"out_dir": "output_dir"}``)
    or, when no parameter has that name, to the text itself (``"--last-iterate"``).
    With ``ctx`` the command is asked for its parameters in that context (for a command
    whose parameters are computed when it runs, such as gs-export's export options).
    """
    names: dict[str, str] = {}
    for param in command.params if ctx is None else command.get_params(ctx):
        if param.name is None:
            continue
        if isinstance(param, click.Argument):
            names[param.name] = param.human_readable_name
        else:
            longest = max(param.opts, key=len)
            names[param.name] = longest
    for field, target in (aliases or {}).items():
        names[field] = names.get(target, target)
    return names


def user_errors(func: F | None = None, *, aliases: Mapping[str, str] | None = None) -> Any:
    """Decorate a click command body: :class:`UserInputError` → exit 2, one sentence.

    Use bare (``@user_errors``) or with ``aliases`` for library fields that
    differ from the command's parameter names; place it below the click
    decorators.
    """

    def decorate(body: F) -> F:
        @functools.wraps(body)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return body(*args, **kwargs)
            except UserInputError as exc:
                context = click.get_current_context(silent=True)
                names = (flag_names(context.command, aliases, context) if context
                         else dict(aliases or {}))
                raise CliError(exc.describe(names)) from None

        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) arrived; raised where the program was, like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def interruptible(on_interrupt: Callable[[], str] | None = None) -> Iterator[None]:
    """Run the body so that SIGINT and SIGTERM end it promptly and cleanly.

    The signal is raised as :class:`Interrupted` where the program is, so
    ``finally`` blocks run (temporary files are removed) and what was finished
    stays. The command then exits with 128 + the signal number (130, 143) after
    printing ``on_interrupt()``.
    """
    installed = threading.current_thread() is threading.main_thread()

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    previous = {}
    if installed:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        for other, old in previous.items():  # a second signal now kills at once
            signal.signal(other, old)
        previous.clear()
        click.echo(f"Interrupted by {signal.Signals(signum).name}"
                   + (f"; {on_interrupt()}" if on_interrupt else ""), err=True)
        raise SystemExit(128 + int(signum)) from None
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def flag(name: str) -> str:
    """The command-line flag of field ``name``: ``lambda_k`` → ``--lambda-k``."""
    return "--" + name.replace("_", "-")


class CommaList(click.ParamType):
    """A ``tuple[T, ...]`` setting written ``0,1,2``. Items that ``T`` cannot read leave
    the text as it was, so that the declaration's check refuses it in its own words."""

    name = "list"

    def __init__(self, item: type) -> None:
        self.item = item

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return tuple(self.item(part) for part in value.split(","))
        except ValueError:
            return value


def _option_spec(declared: Declared, optional: bool, help: str | None, show_default: bool = True
                 ) -> tuple[list[str], dict[str, Any]]:
    """The parameter declarations and keywords of :func:`declared_parameter`."""
    d, name = declared, flag(declared.name)
    kwargs: dict[str, Any] = {"help": help or d.param.help}
    if d.param.choices and d.type is str and not d.many:
        kwargs["metavar"] = f"[{'|'.join(d.param.choices)}]"  # click.Choice's, checked later
    elif d.param.bounded:
        kwargs["help"] += f"  Allowed: {d.param.describe()}."
    if optional:
        shown = show_default and d.default not in (None, inspect.Parameter.empty)
        kwargs.update(default=None, help=kwargs["help"] + (f"  [default: {d.default}]" if shown
                                                           else ""))
    elif d.default is inspect.Parameter.empty:
        kwargs.update(required=True)
    else:
        kwargs.update(default=d.default, show_default=d.default is not None)
    if d.type is bool and not optional:
        if d.default:
            return [f"{name}/--no-{name[2:]}", d.name], kwargs
        return [name, d.name], {"is_flag": True, "help": kwargs["help"]}
    custom = [extra for extra in d.extras if isinstance(extra, click.ParamType)]
    if custom:
        kwargs["type"] = custom[0]
    elif d.many:
        kwargs.update(type=CommaList(d.type), metavar="A,B,...")
    else:
        kwargs["type"] = click.Path(path_type=Path) if d.type is Path else d.type
    return [name, d.name], kwargs


def declared_parameter(declared: Declared, optional: bool = False,
                       help: str | None = None, show_default: bool = True) -> click.Option:
    """The click option of a declared argument (:mod:`gs.params`), typed by its declaration.

    The range and the choices are not checked here: the library checks the value
    against the same declaration and its error names the field, which
    :func:`user_errors` shows as this flag. ``optional``: the option defaults to
    ``None`` (the declared default, or a value recorded elsewhere, such as in a resumed
    checkpoint or an artifact) and, unless ``show_default`` is False (the value recorded
    elsewhere differs from the declared one), its help names the declared default.
    ``help`` replaces the declared help text.
    """
    decls, kwargs = _option_spec(declared, optional, help, show_default)
    return click.Option(decls, **kwargs)


def declared_option(declared: Declared, optional: bool = False,
                    help: str | None = None, show_default: bool = True) -> Callable[[F], F]:
    """:func:`declared_parameter` as a decorator of a click command function."""
    decls, kwargs = _option_spec(declared, optional, help, show_default)
    return click.option(*decls, **kwargs)


def declared_options(declared: Iterable[Declared], optional: bool = False,
                     show_default: bool = True) -> Callable[[F], F]:
    """A decorator adding :func:`declared_option` for each of ``declared``, in order."""

    def decorate(command: F) -> F:
        for d in reversed(list(declared)):
            command = declared_option(d, optional, show_default=show_default)(command)
        return command

    return decorate


def task_options(func: F) -> F:
    """The flags that define the forward model and the mode (gs.jobs.OperatorOptions).

    ``--task``, ``--operator``, ``--simulate``, ``--mask`` and one flag per factory
    option of the task registry (:data:`gs.operators.OPTIONS`: ``noise_std`` →
    ``--noise-std``, typed and described by its declaration), each None unless given,
    i.e. the task's default. The command
    receives them as keywords of the same names; the factory options go straight to
    ``OperatorOptions(task, operator, **options)``.
    """
    from gs.operators import OPTIONS, get_task, operator_names, tasks

    names = tasks()  # gs's and the installed plug-ins'
    options = [
        click.option("--task", type=click.Choice(names), default="cs", show_default=True,
                     help="; ".join(get_task(name).summary for name in names) + "."),
        click.option("--operator", type=click.Choice(operator_names()),
                     help="Operator of the task (default: the task's choice for the image "
                          "size)."),
        click.option("--simulate", is_flag=True,
                     help="IMAGES are ground truth: degrade them, recover, report PSNR/SSIM."),
        click.option("--mask", type=click.Path(),
                     help="inpaint observation: mask image, white = kept; or a folder "
                          "of masks, IMAGES/a/b.png paired with MASK/a/b.* (any image "
                          "suffix)."),
    ]
    for option in OPTIONS.values():
        readers = ", ".join(name for name in names if option.name in get_task(name).options)
        options.append(declared_option(option.declared, optional=True, show_default=False,
                                       help=f"{option.help[0].upper()}{option.help[1:]} "
                                            f"({readers})."))
    for option in reversed(options):
        func = option(func)
    return func


def device_option(default: str = "auto") -> Callable[[F], F]:
    """``--device``: where torch runs (:data:`gs.devices.DEVICE_NAMES`, checked by
    :func:`gs.devices.resolve_device`)."""
    return click.option("--device", default=default, show_default=True,
                        help=f"Where torch runs: {DEVICE_NAMES}.")
