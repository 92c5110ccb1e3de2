"""The settings of the methods on a pretrained generator's latent or weights: CSGM,
IAGAN and mGANprior (the supplement's Table 3)."""

from __future__ import annotations

from dataclasses import dataclass

from gs.errors import UserInputError
from gs.methods.presets.base import Settings, positive


@dataclass(frozen=True)
class CSGMSettings(Settings):
    """CSGM (Bora et al. 2017): min_z ‖A G(z) − y‖² + z_weight·‖z‖², Adam, restarts.

    Defaults are the CSGM code's CelebA setting (Adam 0.1, ℓ2 weight 1e-3) with 1000
    steps and the three restarts of Table 3.
    """

    lr: float = 0.1
    steps: int = 1000
    restarts: int = 3
    z_weight: float = 1e-3

    def __post_init__(self) -> None:
        positive("CSGMSettings", lr=self.lr, steps=self.steps, restarts=self.restarts)
        if self.z_weight < 0:
            raise UserInputError(f"must be non-negative, got {self.z_weight}", field="z_weight")


@dataclass(frozen=True)
class IAGANSettings(Settings):
    """IAGAN (Hussein et al. 2020), Table 3.

    Stage 1 optimises z alone (Adam ``stage1_lr``, ``stage1_steps``); stage 2 jointly
    fine-tunes z (``stage2_z_lr``) and the generator's weights (``stage2_weights_lr``)
    for ``stage2_steps``. Every restart starts from the pretrained weights.
    ``back_projection`` adds IAGAN's final step x ← x + Aᵀ(AAᵀ)⁻¹(y − Ax) (for
    noiseless measurements).
    """

    stage1_lr: float = 0.1
    stage1_steps: int = 1600
    stage2_z_lr: float = 1e-4
    stage2_weights_lr: float = 1e-4
    stage2_steps: int = 600
    restarts: int = 3
    back_projection: bool = False

    def __post_init__(self) -> None:
        positive("IAGANSettings", stage1_lr=self.stage1_lr, stage1_steps=self.stage1_steps,
                 stage2_z_lr=self.stage2_z_lr, stage2_weights_lr=self.stage2_weights_lr,
                 restarts=self.restarts)
        if self.stage2_steps < 0:
            raise UserInputError(f"must be non-negative, got {self.stage2_steps}",
                                 field="stage2_steps")


@dataclass(frozen=True)
class MGANPriorSettings(Settings):
    """mGANprior (Gu et al. 2020), Table 3: N codes composed at layer ``layer``.

    The features of the ``codes`` latents after block ``layer`` are summed with
    per-channel importance weights (initialised 1/N) and passed through the rest of
    the generator; Adam at ``lr`` for ``steps`` on codes and weights.
    """

    codes: int = 10
    layer: int = 1
    lr: float = 3e-2
    steps: int = 5000
    restarts: int = 3

    def __post_init__(self) -> None:
        positive("MGANPriorSettings", codes=self.codes, layer=self.layer, lr=self.lr,
                 steps=self.steps, restarts=self.restarts)
