"""Load a generator from what users bring: a Lightning checkpoint, a state dict, a folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gs.errors import UserInputError
from gs.io import sha256_file
from gs.models import MODELS, build_model, model_class
from gs.models.base import StagedGenerator
from gs.models.dcgan import DCGANGenerator

GENERATOR_PREFIX = "generator."


@dataclass(frozen=True)
class LoadedWeights:
    """A generator in eval mode with frozen weights, and where it came from."""

    model: StagedGenerator
    source_name: str
    source_sha256: str
    truncation: float | None = None


def load_generator(weights: str | Path, model: str | None = None) -> LoadedWeights:
    """Build the generator stored at ``weights``.

    Args:
        weights: a Lightning ``.ckpt`` from ``gs-train`` (records its model), a
            pytorch-examples state dict (``.pth``/``.pt``/``.tar``), or a folder
            holding ``config.json`` + ``pytorch_model.bin`` (BigGAN).
        model: the model name; required for plain state dicts, checked against
            the checkpoint's record otherwise.

    Raises:
        UserInputError: unreadable file, unknown model, mismatching weights.
    """
    path = Path(weights)
    if model is not None and model not in MODELS:
        raise UserInputError(
            f"MODEL {model!r} is not known; expected one of {', '.join(sorted(MODELS))}"
        )
    if not path.exists():
        raise UserInputError(f"--weights {path} does not exist")
    if path.is_dir():
        return _load_folder(path, model)
    checkpoint = _torch_load(path)
    if isinstance(checkpoint, dict) and "hyper_parameters" in checkpoint:
        generator = _from_lightning(checkpoint, path, model)
    elif isinstance(checkpoint, dict) and {"model_name", "model_config"} <= set(checkpoint):
        generator = _from_generator_file(checkpoint, path, model)
    else:
        generator = _from_state_dict(checkpoint, path, model)
    return LoadedWeights(_freeze(generator), path.name, sha256_file(path))


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - retried below with the trusted-pickle loader
        pass
    try:
        # Lightning checkpoints pickle hyperparameters that weights_only refuses.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # noqa: BLE001 - any failure means the file is not a checkpoint
        raise UserInputError(f"--weights {path} is not a readable PyTorch checkpoint") from None


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
    if cls is not DCGANGenerator:
        raise UserInputError(f"--weights {path}: plain state dicts are read for dcgan only")
    try:
        generator = DCGANGenerator(**DCGANGenerator.infer_config(checkpoint))
        generator.load_pytorch_examples(checkpoint, source=f"--weights {path}")
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    return generator


def _load_folder(path: Path, model: str | None) -> LoadedWeights:
    raise UserInputError(f"--weights {path} is a folder; no folder-based model is installed yet")


def _freeze(generator: StagedGenerator) -> StagedGenerator:
    generator.eval()
    for param in generator.parameters():
        param.requires_grad_(False)
    return generator
