"""Training hyperparameters: declared once in signatures, everything else derived.

A model's hyperparameters are the ``Annotated[..., Param(...)]`` arguments of its
generator's constructor (recorded under ``model_config``; ``nc`` and ``image_size``
come from the shared ``--channels`` and ``--image-size``) and of its training
module's ``__init__``. From them come the ``gs-train`` flags with their types,
ranges, help and defaults (:func:`hyperparameter_options`), and the values a run
uses, checked against a resumed checkpoint (:func:`resolve_hyperparameters`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from gs.errors import UserInputError
from gs.models import checkpoint as contract
from gs.params import Declared, declared_params

SHARED_GENERATOR_ARGUMENTS = {"nc": "channels", "image_size": "image_size"}
"""Generator arguments set by shared ``gs-train`` options (TrainConfig field names)."""


def flag(name: str) -> str:
    """The command-line flag of argument ``name``: ``lambda_k`` → ``--lambda-k``."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class Hyperparameter:
    """One declared argument and where it is recorded (``model_config`` or the module)."""

    declared: Declared
    of_generator: bool

    def recorded(self, hparams: Mapping[str, Any]) -> Any:
        """The value a checkpoint's ``hyper_parameters`` hold, or ``None``."""
        source = hparams.get(contract.MODEL_CONFIG, {}) if self.of_generator else hparams
        return source.get(self.declared.name)


def hyperparameters(module_class: type) -> dict[str, Hyperparameter]:
    """Generator then module hyperparameters of training module ``module_class``."""
    generator = declared_params(module_class.generator_class)
    out = {name: Hyperparameter(d, True) for name, d in generator.items()
           if name not in SHARED_GENERATOR_ARGUMENTS}
    out.update((name, Hyperparameter(d, False))
               for name, d in declared_params(module_class).items())
    return out


def click_option(declared: Declared, resumable: bool = False) -> Callable[[Any], Any]:
    """The click option of a declared argument: type and range from its declaration.

    ``resumable``: the option defaults to ``None`` (the declared default for a new
    run, the checkpoint's value when resuming) and its help names the default.
    """
    d, param = declared, declared.param
    custom = [extra for extra in d.extras if isinstance(extra, click.ParamType)]
    kwargs: dict[str, Any] = {"help": param.help}
    if resumable:
        kwargs.update(default=None, help=f"{param.help}  [default: {d.default}]")
    elif d.default is inspect.Parameter.empty:
        kwargs.update(required=True)
    else:
        kwargs.update(default=d.default, show_default=d.default is not None)
    if d.type is bool and not resumable:
        name = flag(d.name)
        if d.default:
            return click.option(f"{name}/--no-{name[2:]}", d.name, **kwargs)
        return click.option(name, d.name, is_flag=True, help=param.help)
    if custom:
        kwargs["type"] = custom[0]
    elif param.choices:
        kwargs.update(type=click.Choice([str(c) for c in param.choices]),
                      callback=lambda ctx, p, value: None if value is None else d.type(value))
    elif d.type in (int, float):
        ranged = click.IntRange if d.type is int else click.FloatRange
        kwargs["type"] = ranged(min=param.min, max=param.max, min_open=param.min_open,
                                max_open=param.max_open)
    elif d.type is Path:
        kwargs["type"] = click.Path(path_type=Path)
    return click.option(flag(d.name), d.name, **kwargs)


def declared_options(declared: Iterable[Declared], resumable: bool = False
                     ) -> Callable[[Any], Any]:
    """A decorator adding :func:`click_option` for each of ``declared``, in order."""

    def decorate(command: Any) -> Any:
        for d in reversed(list(declared)):
            command = click_option(d, resumable)(command)
        return command

    return decorate


def hyperparameter_options(module_class: type) -> Callable[[Any], Any]:
    """One resumable option per hyperparameter of ``module_class``."""
    return declared_options([hp.declared for hp in hyperparameters(module_class).values()],
                            resumable=True)


def resolve(field: str, given: Any, recorded: Any, default: Any) -> Any:
    """A setting that a resumed checkpoint fixes: ``given`` must agree with ``recorded``."""
    if recorded is None:
        return default if given is None else given
    if given is not None and given != recorded:
        raise UserInputError(
            f"differs from the resumed checkpoint's {recorded}; leave {{{field}}} out when "
            "resuming", field=field, value=given, refs=(field,))
    return recorded


def resolve_hyperparameters(
    module_class: type, given: Mapping[str, Any], resumed: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(generator arguments, module arguments) for a run, each validated.

    Raises:
        UserInputError: an unknown name, a value out of its declared range, or one
            that contradicts the resumed checkpoint; the error names the field.
    """
    declared = hyperparameters(module_class)
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise UserInputError(f"is not an option of {module_class.generator_class.model_name}",
                             field=unknown[0])
    generator: dict[str, Any] = {}
    module: dict[str, Any] = {}
    for name, hp in declared.items():
        value = resolve(name, given.get(name), hp.recorded(resumed or {}), hp.declared.default)
        (generator if hp.of_generator else module)[name] = hp.declared.check(value)
    return generator, module
