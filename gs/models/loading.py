"""Load a whole generator from what users bring: a gs checkpoint, a state dict, a folder.

The library's entry point for "weights + model name → generator"; ``gs-export``
and the baselines use it. Which layouts a model reads is the model's own
declaration (``from_state_dict``, ``from_folder``; gs checkpoints always).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gs.errors import UserInputError
from gs.io import sha256_file
from gs.models.base import StagedGenerator
from gs.models.checkpoint import GeneratorRecord
from gs.models.registry import MODELS, build_model, model_class, models_with_option
from gs.params import declared_params

WRAPPER_KEYS = ("netG_state_dict", "state_dict", "generator", "model", "netG")
"""Keys under which third-party checkpoints keep a generator's state dict."""


@dataclass(frozen=True)
class LoadedGenerator:
    """A generator in eval mode with frozen weights, and where it came from."""

    model: StagedGenerator
    source_name: str
    source_sha256: str

    @property
    def options(self) -> dict[str, Any]:
        """The model's export options as loaded (e.g. ``{"truncation": 0.4}``)."""
        return self.model.options()


def load_generator(weights: str | Path, model: str | None = None,
                   **options: Any) -> LoadedGenerator:
    """Build the generator stored at ``weights``.

    Args:
        weights: a Lightning ``.ckpt`` or generator file from ``gs-train`` (records
            its model), a plain state dict of a model that reads one (DCGAN's
            pytorch-examples layout), or a folder of a model that reads one
            (BigGAN-deep's ``config.json`` + ``pytorch_model.bin``).
        model: the model name; required where the layout does not say it (a plain
            state dict defaults to the one model that reads those with the options
            given), checked against the checkpoint's record otherwise.
        options: export options the model declares (``truncation=0.5``); default:
            the recorded value, else the model's default. A model's required options
            (the sequential wrapper's ``module`` and ``blocks``) are always given: gs
            imports code only from what its caller names, never from a file.

    Raises:
        UserInputError: unreadable file, unknown model, mismatching weights, an
            option the model does not take or out of range.
    """
    path = Path(weights)
    if model is not None and model not in MODELS:
        raise UserInputError(MODELS.unknown(model), field="model", value=repr(model))
    _check_options(options, model)
    if not path.exists():
        raise UserInputError("does not exist", field="weights", value=path)
    if path.is_dir():
        generator, source = _from_folder(path, model, options)
    else:
        generator, source = _from_file(path, model, options), path
    return LoadedGenerator(_freeze(generator), path.name, sha256_file(source))


def _check_options(options: Mapping[str, Any], model: str | None) -> None:
    for name, value in options.items():
        takers = models_with_option(name)
        if not takers:
            raise UserInputError("is not an export option of any model", field=name)
        declared_params(model_class(takers[0]))[name].check(value)
        if model is not None and model not in takers:
            raise UserInputError(f"applies to {', '.join(takers)} only, not to {model}",
                                 field=name)


def _from_file(path: Path, model: str | None, options: dict[str, Any]) -> StagedGenerator:
    checkpoint = _torch_load(path)
    try:
        record = GeneratorRecord.read(checkpoint)
    except ValueError as exc:
        raise UserInputError(f"is {exc}", field="weights", value=path) from None
    if record is None:
        generator = _from_state_dict(checkpoint, path, model, options)
    else:
        generator = _from_record(record, path, model, options)
    extra = sorted(set(options) - set(generator.export_options))
    if extra:
        raise UserInputError(
            f"applies to {', '.join(models_with_option(extra[0]))} only; {{weights}} {path} "
            f"holds a {generator.model_name} model", field=extra[0], refs=("weights",))
    return generator


def _torch_load(path: Path) -> Any:
    """Tensors and plain containers only: ``weights_only`` refuses pickled code."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any failure means the file is not a checkpoint
        raise UserInputError(
            "is not a readable PyTorch checkpoint (tensors and plain containers only; pickled "
            "objects are refused)", field="weights", value=path) from None


def _from_record(record: GeneratorRecord, path: Path, model: str | None,
                 options: dict[str, Any]) -> StagedGenerator:
    """A gs-train checkpoint or generator file, its weights loaded strictly."""
    name = record.model_name
    if model is not None and model != name:
        raise UserInputError(f"holds a {name} model, not {model}", field="weights", value=path)
    _check_required(name, options)
    if record.cut_before_training > 0:
        raise UserInputError(
            "was trained with --cut-before-training; such a generator cannot be cut again",
            field="weights", value=path)
    try:
        config = {**record.model_config,
                  **{k: v for k, v in options.items() if k in model_class(name).export_options}}
        generator = build_model(name, config)
        generator.load_state_dict(record.state_dict, strict=True)
    except (RuntimeError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserInputError(f"does not match its recorded {name}: {first}", field="weights",
                             value=path) from None
    return generator


def _readers(hook: str) -> list[str]:
    return sorted(name for name, cls in MODELS.items() if cls.reads(hook))


def _check_required(name: str, options: Mapping[str, Any]) -> None:
    """Refuse to build ``name`` without its required options; a file's record never stands
    in for them (the ``module`` model's code would then be what a file names)."""
    missing = [option for option in model_class(name).required_options() if option not in options]
    if missing:
        raise UserInputError(f"is needed to load a {name} model", field=missing[0])


def _reader_for(readers: list[str], options: Mapping[str, Any]) -> str | None:
    """The one model of ``readers`` that plain weights and ``options`` make: those whose
    required options are given, then, of several, those that take every option given."""
    given = set(options)
    able = [name for name in readers if set(model_class(name).required_options()) <= given]
    if len(able) > 1:
        able = [name for name in able if given <= set(model_class(name).export_options)]
    return able[0] if len(able) == 1 else None


def _from_state_dict(checkpoint: Any, path: Path, model: str | None,
                     options: dict[str, Any]) -> StagedGenerator:
    readers = _readers("from_state_dict")
    name = model or _reader_for(readers, options)
    if name is None:
        raise UserInputError("is a plain state dict; name its {model}", field="weights",
                             value=path, refs=("model",))
    cls = model_class(name)
    _check_required(name, options)
    if not cls.reads("from_state_dict"):
        if cls.reads("from_folder"):
            raise UserInputError(f"is a file; {name} is read from {cls.folder_layout}",
                                 field="weights", value=path)
        verb = "reads" if len(readers) == 1 else "read"
        raise UserInputError(f"is a plain state dict, which only {' and '.join(readers)} {verb}",
                             field="weights", value=path)
    try:
        return cls.from_state_dict(checkpoint, source=str(path), **options)
    except UserInputError:
        raise
    except ValueError as exc:
        raise UserInputError(str(exc)) from None


def _from_folder(path: Path, model: str | None,
                 options: dict[str, Any]) -> tuple[StagedGenerator, Path]:
    readers = _readers("from_folder")
    name = model if model is not None else (readers[0] if len(readers) == 1 else None)
    if name is None or not model_class(name).reads("from_folder"):
        layouts = " or ".join(f"{n} ({model_class(n).folder_layout})" for n in readers)
        raise UserInputError(
            f"is a folder, which is read for {layouts} only; {{model}} {model} needs a "
            "checkpoint or state dict file", field="weights", value=path, refs=("model",))
    return model_class(name).from_folder(path, **options)


def _freeze(generator: StagedGenerator) -> StagedGenerator:
    generator.eval()
    generator.finalize()
    for param in generator.parameters():
        param.requires_grad_(False)
    return generator


def unwrap_state_dict(checkpoint: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Return the tensor mapping inside ``checkpoint`` with ``module.`` prefixes removed."""
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"expected a state dict (a mapping), got {type(checkpoint).__name__}")
    state: Any = checkpoint
    for key in WRAPPER_KEYS:
        if key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError("the checkpoint holds no tensors")
    return {k.removeprefix("module."): v for k, v in tensors.items()}
