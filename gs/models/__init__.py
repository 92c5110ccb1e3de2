"""Generator architectures, each written as an ordered list of blocks, and their registry.

A model is one file that subclasses :class:`StagedGenerator` and is decorated with
:func:`register_model`; importing it here makes it available to export, training,
loading and the conformance tests. Models of other packages are found through their
``gs.models`` entry points (:mod:`gs.discovery`); a generator whose blocks run one
after another needs no class at all (:mod:`gs.models.sequential`, model ``module``).
This package imports torch, so it is not imported by ``gs/__init__``.
"""

from __future__ import annotations

from gs.models.base import PaperPreset, StagedGenerator
from gs.models.began import BEGANGenerator
from gs.models.biggan import BigGANDeep
from gs.models.dcgan import DCGANGenerator
from gs.models.loading import LoadedGenerator, load_generator
from gs.models.registry import (
    MODELS,
    build_model,
    model_class,
    models_with_option,
    register_model,
    unregister_model,
)
from gs.models.sequential import SequentialGenerator
from gs.models.vae import VAEDecoder

__all__ = [
    "MODELS", "BEGANGenerator", "BigGANDeep", "DCGANGenerator", "LoadedGenerator",
    "PaperPreset", "SequentialGenerator", "StagedGenerator", "VAEDecoder", "build_model",
    "load_generator", "model_class", "models_with_option", "register_model", "unregister_model",
]
