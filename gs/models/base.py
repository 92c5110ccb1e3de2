"""The contract every generator fulfils so that it can be cut anywhere.

A generator ``G = B_K ∘ … ∘ B_1`` is written as K *stages*. The *state at cut c*
is the tuple of tensors that the remaining blocks ``B_{c+1} … B_K`` need: usually
one tensor, sometimes more (BEGAN's skip tensor, BigGAN's conditioning vector).
``stage(k, state_k)`` applies block k+1 and returns ``state_{k+1}``; the state at
cut K is the raw network output, which ``to_image`` maps into [0, 1].
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from gs.errors import UserInputError
from gs.latent import LatentSpec
from gs.settings import InversionSettings

State = tuple[Tensor, ...]


@dataclass(frozen=True)
class PaperPreset:
    """A model's row of the supplement's Table 1: the best cut and L-BFGS settings.

    ``lr``/``steps`` serve compressed sensing, inpainting and super-resolution;
    ``raw_lr``/``raw_steps`` the "raw reconstruction" (A = I), used for denoising.
    """

    cut: int
    lr: float
    steps: int
    raw_lr: float
    raw_steps: int


class StagedGenerator(nn.Module):
    """Base class of all generators; subclasses set ``model_name`` and the hooks below."""

    model_name: ClassVar[str] = ""
    paper: ClassVar[PaperPreset]

    @property
    def num_blocks(self) -> int:
        """K, the number of blocks."""
        raise NotImplementedError

    @property
    def valid_cuts(self) -> range:
        """Cut indices at which this model may be cut (0 = no surgery)."""
        return range(0, self.num_blocks)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the generated image: square, ``nc`` channels of ``image_size``."""
        return (self.nc, self.image_size, self.image_size)

    def cut_spec(self, cut: int) -> LatentSpec:
        """Names, shapes (without batch) and initial distributions at ``cut``."""
        raise NotImplementedError

    def stage(self, k: int, state: State) -> State:
        """Apply block ``k+1``: map the state at cut ``k`` to the state at ``k+1``."""
        raise NotImplementedError

    def to_image(self, raw: Tensor) -> Tensor:
        """Map the raw output (B, C, H, W) to an image in [0, 1]."""
        raise NotImplementedError

    def recommended_settings(self, task: str) -> InversionSettings:
        """The paper's inversion hyperparameters for ``task`` (supplement, Table 1)."""
        if task == "denoise":
            return InversionSettings(lr=self.paper.raw_lr, steps=self.paper.raw_steps)
        return InversionSettings(lr=self.paper.lr, steps=self.paper.steps)

    @property
    def recommended_cut(self) -> int:
        """The cut the paper found best on validation images."""
        return self.paper.cut

    def finalize(self) -> None:
        """Called by the loaders once the weights are in and the model is in eval mode.

        Folds training-time reparametrisations (BigGAN's spectral norm) into plain
        weights without changing the output; nothing to do for most models.
        """

    def check_cut(self, cut: int, field: str = "cut") -> None:
        """Raise ``UserInputError`` naming ``field`` and the allowed cuts if ``cut`` is invalid."""
        cuts = self.valid_cuts
        if cut not in cuts:
            raise UserInputError(
                f"is not allowed for {self.model_name}; expected an integer "
                f"from {cuts.start} to {cuts.stop - 1}", field=field, value=cut
            )

    def run_from(self, cut: int, state: State, until: int | None = None) -> State:
        """Apply stages ``cut … until-1`` (``until`` defaults to K) to ``state``."""
        until = self.num_blocks if until is None else until
        for k in range(cut, until):
            state = self.stage(k, state)
        return state

    def forward(self, *inputs: Tensor) -> Tensor:
        """Uncut generator: latent(s) at cut 0 → raw output in the model's own range."""
        return self.run_from(0, tuple(inputs))[0]

    # Configuration recorded beside the weights (diffusers-style).
    def config(self) -> dict[str, Any]:
        """The constructor arguments, enough to rebuild this model with ``from_config``."""
        params = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in params if name != "self"}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StagedGenerator:
        """Build from recorded constructor arguments; unknown keys are warned about."""
        params = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(config) - params)
        if unknown:
            warnings.warn(
                f"{cls.model_name} config has unknown keys {unknown}; they are ignored",
                stacklevel=2,
            )
        return cls(**{k: v for k, v in config.items() if k in params})

    def example_state(self, cut: int, batch: int = 1) -> State:
        """Random inputs at ``cut`` with the right shapes, for tracing and tests."""
        gen = torch.Generator().manual_seed(0)
        return tuple(
            torch.randn((batch, *spec.shape), generator=gen)
            for spec in self.cut_spec(cut).inputs
        )
