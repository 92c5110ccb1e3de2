"""The train → export checkpoint contract, defined once for both sides.

``gs-train`` writes Lightning checkpoints and generator files; ``gs-export`` (and
any library caller, see :func:`gs.models.loading.load_generator`) reads them:

* a Lightning checkpoint's ``hyper_parameters`` hold :data:`MODEL_NAME` (a key of
  the model registry), :data:`MODEL_CONFIG` (exactly ``generator.config()``) and
  :data:`CUT_BEFORE_TRAINING` (0 for a normal run), next to the module's own
  hyperparameters and the seed;
* the generator is the module attribute :data:`GENERATOR`, so its weights are the
  entries of ``state_dict`` whose keys start with ``generator.``;
* ``checkpoint["gs"]`` adds the gs version and the number of training iterations;
* a *generator file* (``gs-train --export-generator``) is ``{MODEL_NAME,
  MODEL_CONFIG, "state_dict"}``, or, for a model that reads its configuration off
  plain weights alone (``from_state_dict``, no required options), the bare state dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gs.models.base import StagedGenerator

MODEL_NAME = "model_name"
MODEL_CONFIG = "model_config"
CUT_BEFORE_TRAINING = "cut_before_training"
HYPER_PARAMETERS = "hyper_parameters"
STATE_DICT = "state_dict"
GS_RECORD = "gs"
GENERATOR = "generator"
GENERATOR_PREFIX = GENERATOR + "."


@dataclass(frozen=True)
class GeneratorRecord:
    """A generator as a checkpoint records it: registry name, config and weights."""

    model_name: str
    model_config: dict[str, Any]
    state_dict: dict[str, Any] = field(repr=False)
    cut_before_training: int = 0

    @classmethod
    def read(cls, checkpoint: Any) -> GeneratorRecord | None:
        """The record in a Lightning checkpoint or generator file; ``None`` for other data.

        Raises:
            ValueError: a Lightning checkpoint without a model name.
        """
        if not isinstance(checkpoint, Mapping):
            return None
        if HYPER_PARAMETERS in checkpoint:
            hparams = checkpoint[HYPER_PARAMETERS]
            if hparams.get(MODEL_NAME) is None:
                raise ValueError("a Lightning checkpoint without a model_name")
            state = {key[len(GENERATOR_PREFIX):]: value
                     for key, value in checkpoint.get(STATE_DICT, {}).items()
                     if key.startswith(GENERATOR_PREFIX)}
            return cls(str(hparams[MODEL_NAME]), dict(hparams.get(MODEL_CONFIG, {})), state,
                       int(hparams.get(CUT_BEFORE_TRAINING, 0) or 0))
        if {MODEL_NAME, MODEL_CONFIG} <= set(checkpoint):
            return cls(str(checkpoint[MODEL_NAME]), dict(checkpoint[MODEL_CONFIG]),
                       dict(checkpoint.get(STATE_DICT, {})))
        return None


def generator_file(model: StagedGenerator) -> dict[str, Any]:
    """What ``--export-generator`` writes for ``model`` (tensors on the CPU)."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    if type(model).reads("from_state_dict") and not type(model).required_options():
        return state
    return {MODEL_NAME: model.model_name, MODEL_CONFIG: model.config(), STATE_DICT: state}
