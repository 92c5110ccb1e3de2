"""The model registry: name → generator class, filled by :func:`register_model` and by
the ``gs.models`` entry points of installed plug-ins (:mod:`gs.discovery`).

Everything that handles "some model" (export, training, loading, the CLIs, the
conformance tests) asks this registry and the class it returns; nothing tests
for a particular class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from gs.discovery import Registry

if TYPE_CHECKING:
    from gs.models.base import StagedGenerator

G = TypeVar("G", bound="type[StagedGenerator]")

MODELS_GROUP = "gs.models"
"""The entry-point group of model plug-ins."""


def register_model(cls: G) -> G:
    """Class decorator: make ``cls`` known under ``cls.model_name``.

    Raises:
        ValueError: the name is empty or already taken by another class.
    """
    name = getattr(cls, "model_name", "")
    if not name:
        raise ValueError(f"{cls.__name__} needs a model_name to be registered")
    MODELS.claim(name, cls)
    return cls


MODELS: Registry = Registry(MODELS_GROUP, "model", "gs.models.base:StagedGenerator",
                            register_model, "is not known")
"""Registered generator classes by ``model_name`` (read-only for callers); reading it
loads the installed plug-ins first."""


def unregister_model(name: str) -> None:
    """Forget model ``name`` (tests that register a model of their own clean up with this)."""
    MODELS.pop(name, None)


def model_class(name: str) -> type[StagedGenerator]:
    """Return the generator class registered under ``name``.

    Raises:
        ValueError: ``name`` is not a known model; the message lists the known ones, or
            says why the plug-in that declares it was left out.
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"model {name!r} {MODELS.unknown(name)}") from None


def build_model(name: str, config: dict[str, Any]) -> StagedGenerator:
    """Instantiate model ``name`` from its recorded constructor arguments ``config``."""
    return model_class(name).from_config(config)


def models_with_option(option: str) -> list[str]:
    """Names of the models that take export option ``option`` (e.g. ``truncation``)."""
    return sorted(name for name, cls in MODELS.items() if option in cls.export_options)
