"""Training hyperparameters: declared once in signatures, everything else derived.

A model's hyperparameters are the ``Annotated[..., Param(...)]`` arguments of its
generator's constructor (recorded under ``model_config``; ``nc`` and ``image_size``
come from the shared ``--channels`` and ``--image-size``) and of its training
module's ``__init__``. From them come the ``gs-train`` flags
(:func:`gs.clitools.declared_options`) and the values a run uses, checked against
their declarations and a resumed checkpoint (:func:`resolve_hyperparameters`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gs.errors import UserInputError
from gs.models import checkpoint as contract
from gs.params import Declared, declared_params

SHARED_GENERATOR_ARGUMENTS = {"nc": "channels", "image_size": "image_size"}
"""Generator arguments set by shared ``gs-train`` options (TrainConfig field names)."""


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
