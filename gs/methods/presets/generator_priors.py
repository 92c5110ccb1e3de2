"""The settings of the methods on a pretrained generator's latent or weights: CSGM,
IAGAN and mGANprior (the supplement's Table 3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from gs.methods.presets.base import ADAM_LR, ADAM_STEPS, RESTARTS, Settings
from gs.params import Param


@dataclass(frozen=True)
class CSGMSettings(Settings):
    """CSGM (Bora et al. 2017): min_z ‖A G(z) − y‖² + z_weight·‖z‖², Adam, restarts.

    Defaults are the CSGM code's CelebA setting (Adam 0.1, ℓ2 weight 1e-3) with 1000
    steps and the three restarts of Table 3.
    """

    lr: Annotated[float, ADAM_LR] = 0.1
    steps: Annotated[int, ADAM_STEPS] = 1000
    restarts: Annotated[int, RESTARTS] = 3
    z_weight: Annotated[float, Param("Weight of the latent's squared norm.", min=0)] = 1e-3


@dataclass(frozen=True)
class IAGANSettings(Settings):
    """IAGAN (Hussein et al. 2020), Table 3.

    Stage 1 optimises z alone (Adam ``stage1_lr``, ``stage1_steps``); stage 2 jointly
    fine-tunes z (``stage2_z_lr``) and the generator's weights (``stage2_weights_lr``)
    for ``stage2_steps``. Every restart starts from the pretrained weights.
    ``back_projection`` adds IAGAN's final step x ← x + Aᵀ(AAᵀ)⁻¹(y − Ax) (for
    noiseless measurements).
    """

    stage1_lr: Annotated[float, Param("Adam learning rate of z in stage 1.", min=0,
                                      min_open=True)] = 0.1
    stage1_steps: Annotated[int, Param("Steps of stage 1 (z alone).", min=1)] = 1600
    stage2_z_lr: Annotated[float, Param("Adam learning rate of z in stage 2.",
                                        min=0, min_open=True)] = 1e-4
    stage2_weights_lr: Annotated[float, Param("Adam learning rate of the generator's weights "
                                              "in stage 2.", min=0, min_open=True)] = 1e-4
    stage2_steps: Annotated[int, Param("Steps of stage 2 (z and the weights; 0: none).",
                                       min=0)] = 600
    restarts: Annotated[int, RESTARTS] = 3
    back_projection: Annotated[bool, Param("End with IAGAN's back-projection onto the "
                                           "measurements.")] = False


@dataclass(frozen=True)
class MGANPriorSettings(Settings):
    """mGANprior (Gu et al. 2020), Table 3: N codes composed at layer ``layer``.

    The features of the ``codes`` latents after block ``layer`` are summed with
    per-channel importance weights (initialised 1/N) and passed through the rest of
    the generator; Adam at ``lr`` for ``steps`` on codes and weights.
    """

    codes: Annotated[int, Param("Latent codes N composed.", min=1)] = 10
    layer: Annotated[int, Param("Block after which the codes' features are composed.",
                                min=1)] = 1
    lr: Annotated[float, ADAM_LR] = 3e-2
    steps: Annotated[int, ADAM_STEPS] = 5000
    restarts: Annotated[int, RESTARTS] = 3
