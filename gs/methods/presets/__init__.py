"""Every hyperparameter of every baseline, as typed presets.

The generator-prior rows follow the supplement's Table 3 (Adam everywhere, three
random restarts chosen by measurement loss); the others cite their papers. A
method's constructor takes one of these dataclasses; :func:`preset` looks a named
one up, and ``settings.override(steps=...)`` changes single fields.

One module per family, the table apart: :mod:`~gs.methods.presets.base` (what settings
share), :mod:`~gs.methods.presets.classical`, :mod:`~gs.methods.presets.lasso`,
:mod:`~gs.methods.presets.generator_priors` (CSGM, IAGAN, mGANprior),
:mod:`~gs.methods.presets.untrained` (Deep Decoder, DIP) and
:mod:`~gs.methods.presets.table` (:data:`METHOD_PRESETS`, :func:`preset`, :func:`auto_preset`).
Every name imports from ``gs.methods.presets`` as well.
"""

from gs.methods.presets.base import Settings
from gs.methods.presets.classical import (
    BicubicSettings,
    BM3DSettings,
    InterpolationSettings,
    IterationsSettings,
    NLMeansSettings,
    TVCSSettings,
    TVDeblurSettings,
    TVSettings,
    WaveletSettings,
    WienerSettings,
    ZeroFilledSettings,
)
from gs.methods.presets.generator_priors import CSGMSettings, IAGANSettings, MGANPriorSettings
from gs.methods.presets.lasso import LASSO_SOLVERS, LassoSettings
from gs.methods.presets.table import METHOD_PRESETS, auto_preset, preset
from gs.methods.presets.untrained import DeepDecoderSettings, DIPSettings

__all__ = [
    "LASSO_SOLVERS", "METHOD_PRESETS", "BM3DSettings", "BicubicSettings", "CSGMSettings",
    "DIPSettings", "DeepDecoderSettings", "IAGANSettings", "InterpolationSettings",
    "IterationsSettings", "LassoSettings", "MGANPriorSettings", "NLMeansSettings",
    "Settings", "TVCSSettings", "TVDeblurSettings", "TVSettings", "WaveletSettings",
    "WienerSettings", "ZeroFilledSettings", "auto_preset", "preset",
]
