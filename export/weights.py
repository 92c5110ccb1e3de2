"""Load a generator from what users bring: a Lightning checkpoint, a state dict, a folder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gs.errors import UserInputError
from gs.io import sha256_file
from gs.models import MODELS, build_model, model_class
from gs.models.base import StagedGenerator
from gs.models.biggan import DEFAULT_TRUNCATION, BigGANDeep, check_truncation
from gs.models.dcgan import DCGANGenerator

GENERATOR_PREFIX = "generator."
BIGGAN_CONFIG = "config.json"
BIGGAN_WEIGHTS = "pytorch_model.bin"


@dataclass(frozen=True)
class LoadedWeights:
    """A generator in eval mode with frozen weights, and where it came from."""

    model: StagedGenerator
    source_name: str
    source_sha256: str
    truncation: float | None = None


def load_generator(
    weights: str | Path, model: str | None = None, truncation: float | None = None
) -> LoadedWeights:
    """Build the generator stored at ``weights``.

    Args:
        weights: a Lightning ``.ckpt`` from ``gs-train`` (records its model), a
            pytorch-examples state dict (``.pth``/``.pt``/``.tar``), or a folder
            holding ``config.json`` + ``pytorch_model.bin`` (BigGAN-deep, as the
            pytorch-pretrained-BigGAN release ships them).
        model: the model name; required for plain state dicts, checked against
            the checkpoint's record otherwise.
        truncation: BigGAN only, in (0, 1]; default 0.4 for a folder, the
            recorded value for a checkpoint.

    Raises:
        UserInputError: unreadable file, unknown model, mismatching weights, a
            truncation for another model or out of range.
    """
    path = Path(weights)
    if model is not None and model not in MODELS:
        raise UserInputError(
            f"MODEL {model!r} is not known; expected one of {', '.join(sorted(MODELS))}"
        )
    if truncation is not None:
        try:
            truncation = check_truncation(truncation)
        except ValueError:
            raise UserInputError(
                f"--truncation must be a number in (0, 1], got {truncation!r}"
            ) from None
        if model is not None and model != BigGANDeep.model_name:
            raise UserInputError(f"--truncation applies to biggan only, not to {model}")
    if not path.exists():
        raise UserInputError(f"--weights {path} does not exist")
    if path.is_dir():
        return _load_folder(path, model, truncation)
    checkpoint = _torch_load(path)
    if isinstance(checkpoint, dict) and "hyper_parameters" in checkpoint:
        generator = _from_lightning(checkpoint, path, model)
    elif isinstance(checkpoint, dict) and {"model_name", "model_config"} <= set(checkpoint):
        generator = _from_generator_file(checkpoint, path, model)
    else:
        generator = _from_state_dict(checkpoint, path, model)
    if truncation is not None:
        if not isinstance(generator, BigGANDeep):
            raise UserInputError(
                f"--truncation applies to biggan only; --weights {path} holds a "
                f"{generator.model_name} model"
            )
        generator.truncation = truncation
    return LoadedWeights(_freeze(generator), path.name, sha256_file(path),
                         _truncation_of(generator))


def _truncation_of(generator: StagedGenerator) -> float | None:
    return generator.truncation if isinstance(generator, BigGANDeep) else None


def _torch_load(path: Path) -> Any:
    """Tensors and plain containers only: ``weights_only`` refuses pickled code."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any failure means the file is not a checkpoint
        raise UserInputError(
            f"--weights {path} is not a readable PyTorch checkpoint (tensors and plain "
            "containers only; pickled objects are refused)"
        ) from None


def _from_lightning(checkpoint: dict, path: Path, model: str | None) -> StagedGenerator:
    hparams = checkpoint["hyper_parameters"]
    name = hparams.get("model_name")
    if name is None:
        raise UserInputError(f"--weights {path} is a Lightning checkpoint without a model_name")
    if model is not None and model != name:
        raise UserInputError(f"--weights {path} holds a {name} model, not {model}")
    if int(hparams.get("cut_before_training", 0) or 0) > 0:
        raise UserInputError(
            f"--weights {path} was trained with --cut-before-training; such a generator "
            "cannot be cut again"
        )
    state = {
        key[len(GENERATOR_PREFIX):]: value
        for key, value in checkpoint.get("state_dict", {}).items()
        if key.startswith(GENERATOR_PREFIX)
    }
    return _build(str(name), dict(hparams.get("model_config", {})), state, path)


def _from_generator_file(checkpoint: dict, path: Path, model: str | None) -> StagedGenerator:
    """``{"model_name", "model_config", "state_dict"}`` as ``gs-train --export-generator``
    writes for models whose configuration cannot be read off the weights."""
    name = str(checkpoint["model_name"])
    if model is not None and model != name:
        raise UserInputError(f"--weights {path} holds a {name} model, not {model}")
    return _build(name, dict(checkpoint["model_config"]), checkpoint.get("state_dict", {}), path)


def _build(name: str, config: dict, state: dict, path: Path) -> StagedGenerator:
    """Model ``name`` from its recorded config, with ``state`` loaded strictly."""
    try:
        generator = build_model(name, config)
        generator.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserInputError(
            f"--weights {path} does not match its recorded {name}: {first}"
        ) from None
    return generator


def _from_state_dict(checkpoint: Any, path: Path, model: str | None) -> StagedGenerator:
    name = model or "dcgan"
    cls = model_class(name)
    if cls is BigGANDeep:
        raise UserInputError(
            f"--weights {path} is a file; biggan is read from a folder holding "
            f"{BIGGAN_CONFIG} and {BIGGAN_WEIGHTS}"
        )
    if cls is not DCGANGenerator:
        raise UserInputError(f"--weights {path}: plain state dicts are read for dcgan only")
    try:
        generator = DCGANGenerator(**DCGANGenerator.infer_config(checkpoint))
        generator.load_pytorch_examples(checkpoint, source=f"--weights {path}")
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    return generator


def _load_folder(path: Path, model: str | None, truncation: float | None) -> LoadedWeights:
    """A pytorch-pretrained-BigGAN folder: ``config.json`` + ``pytorch_model.bin``."""
    expected = f"a BigGAN folder holding {BIGGAN_CONFIG} and {BIGGAN_WEIGHTS}"
    if model is not None and model != BigGANDeep.model_name:
        raise UserInputError(
            f"--weights {path} is a folder, which is read as {expected}; MODEL {model} "
            "needs a checkpoint or state dict file"
        )
    config_path, weights_path = path / BIGGAN_CONFIG, path / BIGGAN_WEIGHTS
    for needed in (config_path, weights_path):
        if not needed.is_file():
            raise UserInputError(f"--weights {path} lacks {needed.name}; expected {expected}")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise UserInputError(
            f"{config_path} is not readable JSON; expected the BigGAN configuration "
            "that pytorch-pretrained-BigGAN ships"
        ) from None
    truncation = DEFAULT_TRUNCATION if truncation is None else truncation
    try:
        generator = BigGANDeep(biggan_config=config, truncation=truncation)
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"{config_path} is not a valid BigGAN configuration: {exc}") from None
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any failure means the file is not a state dict
        raise UserInputError(
            f"{weights_path} is not a readable PyTorch state dict; expected the BigGAN "
            "weights that pytorch-pretrained-BigGAN ships"
        ) from None
    if not isinstance(state, Mapping):
        raise UserInputError(f"{weights_path} holds a {type(state).__name__}, expected a "
                             "state dict")
    try:
        generator.load_upstream(state, source=str(weights_path))
    except (RuntimeError, ValueError) as exc:
        raise UserInputError(str(exc).strip().splitlines()[0]) from None
    return LoadedWeights(_freeze(generator), path.name, sha256_file(weights_path),
                         generator.truncation)


def _freeze(generator: StagedGenerator) -> StagedGenerator:
    generator.eval()
    generator.finalize()
    for param in generator.parameters():
        param.requires_grad_(False)
    return generator
