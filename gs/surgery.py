"""Generator Surgery: cut the first ``c`` blocks of a trained generator.

``cut(model, c)`` returns ``G_c``, a module whose inputs are the intermediate
tensors at cut ``c`` (described by ``model.cut_spec(c)``) and whose output is an
image in [0, 1]. ``head_stages(model, c)`` returns the blocks in front of the cut,
one module per block, which progressive surgery uses to carry a shallower
solution to the warm start of a deeper cut.
"""

from __future__ import annotations

from torch import Tensor, nn

from gs.latent import InitSpec, InputSpec, LatentSpec
from gs.models.base import StagedGenerator, State

__all__ = ["CutGenerator", "HeadStage", "InitSpec", "InputSpec", "LatentSpec", "cut", "head_stages"]


class CutGenerator(nn.Module):
    """``G_c = to_image ∘ B_K ∘ … ∘ B_{c+1}``.

    ``forward(*inputs)`` takes one tensor per entry of ``spec.inputs``, each of
    shape (B, *shape), float32, and returns images (B, C, H, W) in [0, 1].
    """

    def __init__(self, model: StagedGenerator, cut_index: int) -> None:
        super().__init__()
        model.check_cut(cut_index)
        self.model = model
        self.cut_index = cut_index
        self.spec: LatentSpec = model.cut_spec(cut_index)

    def forward(self, *inputs: Tensor) -> Tensor:
        return self.model.to_image(self.model.run_from(self.cut_index, tuple(inputs))[0])


class HeadStage(nn.Module):
    """Block ``k+1`` alone: state at cut ``k`` → state at cut ``k+1`` (a tuple)."""

    def __init__(self, model: StagedGenerator, k: int) -> None:
        super().__init__()
        self.model = model
        self.k = k

    def forward(self, *state: Tensor) -> State:
        return self.model.stage(self.k, tuple(state))


def cut(model: StagedGenerator, c: int) -> CutGenerator:
    """Return the generator with its first ``c`` blocks removed (``c=0``: no surgery).

    Raises:
        ValueError: ``c`` is not among ``model.valid_cuts``; the message names the range.
    """
    return CutGenerator(model, c)


def head_stages(model: StagedGenerator, c: int) -> list[HeadStage]:
    """The ``c`` blocks in front of cut ``c``, in order."""
    model.check_cut(c)
    return [HeadStage(model, k) for k in range(c)]
