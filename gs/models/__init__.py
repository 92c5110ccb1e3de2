"""Generator architectures, each written as an ordered list of blocks.

The registry maps a model name to its class; it imports torch, so it lives
here and not in ``gs/__init__``.
"""

from __future__ import annotations

from gs.models.base import StagedGenerator
from gs.models.began import BEGANGenerator
from gs.models.biggan import BigGANDeep
from gs.models.dcgan import DCGANGenerator
from gs.models.vae import VAEDecoder

MODELS: dict[str, type[StagedGenerator]] = {
    DCGANGenerator.model_name: DCGANGenerator,
    BEGANGenerator.model_name: BEGANGenerator,
    VAEDecoder.model_name: VAEDecoder,
    BigGANDeep.model_name: BigGANDeep,
}


def model_class(name: str) -> type[StagedGenerator]:
    """Return the generator class registered under ``name``.

    Raises:
        ValueError: ``name`` is not a known model; the message lists the known ones.
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; expected one of {', '.join(sorted(MODELS))}"
        ) from None


def build_model(name: str, config: dict) -> StagedGenerator:
    """Instantiate model ``name`` from its recorded constructor arguments ``config``."""
    return model_class(name).from_config(config)
