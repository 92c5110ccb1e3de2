"""The contract every generator fulfils so that it can be cut anywhere.

A generator ``G = B_K ∘ … ∘ B_1`` is written as K *stages*. The *state at cut c*
is the tuple of tensors that the remaining blocks ``B_{c+1} … B_K`` need: usually
one tensor, sometimes more (BEGAN's skip tensor, BigGAN's conditioning vector).
``stage(k, state_k)`` applies block k+1 and returns ``state_{k+1}``; the state at
cut K is the raw network output, which ``to_image`` maps into [0, 1].
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar

import torch
from torch import Tensor, nn

from gs.errors import UserInputError
from gs.latent import LatentSpec
from gs.operators import get_task
from gs.params import Param, declared_params
from gs.settings import InversionSettings, paper_settings, recommended_settings

State = tuple[Tensor, ...]

# Constructor arguments several architectures share, declared once with their range.
LatentSize = Annotated[int, Param("Latent size.", min=1)]
Width = Annotated[int, Param("Generator width.", min=1)]
Channels = Annotated[int, Param("Image channels.", min=1)]

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
    """Base class of all generators; subclasses set ``model_name`` and the hooks below.

    A model declares, in one place each:

    * its configuration: the constructor arguments (``Annotated`` with a
      :class:`gs.params.Param` where they have a range), recorded by ``config()``;
    * its cuts: ``num_blocks``, ``cut_spec``, ``stage`` and ``to_image``;
    * its loaders: ``from_config`` + ``load_state_dict`` for gs checkpoints (always),
      ``from_state_dict`` for a plain third-party state dict and ``from_folder`` for
      a released folder, where the model reads those (see :mod:`gs.models.loading`);
    * its export options: the constructor arguments ``gs-export`` may set
      (``export_options``, e.g. BigGAN's truncation), recorded in ``model_config``;
    * its paper preset (``paper``) for the recommended inversion settings;
    * a tiny ``smoke_config`` that the conformance tests run every model with.
    """

    model_name: ClassVar[str] = ""
    paper: ClassVar[PaperPreset]
    export_options: ClassVar[tuple[str, ...]] = ()
    """Constructor arguments that ``gs-export`` may choose (fixed in the artifact)."""
    folder_layout: ClassVar[str] = ""
    """What ``from_folder`` reads, in words (for error messages)."""
    smoke_config: ClassVar[dict[str, Any]] = {}
    """A tiny configuration (a few thousand weights, 16 px) for smoke runs, examples and
    the conformance tests; empty: the defaults are already small."""

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

    def paper_settings(self, task: str) -> InversionSettings:
        """The paper's inversion protocol for ``task`` (supplement, Table 1)."""
        if get_task(task).identity:  # A = I: the supplement's "raw reconstruction" row
            return paper_settings(self.paper.raw_lr, self.paper.raw_steps)
        return paper_settings(self.paper.lr, self.paper.steps)

    def recommended_settings(self, task: str, cut: int | None = None) -> InversionSettings:
        """The measured default settings for ``task`` at ``cut`` (default: recommended cut).

        See :func:`gs.settings.recommended_settings`; models share the engine's
        defaults unless a model's own measurements say otherwise.
        """
        return recommended_settings(task, self.recommended_cut if cut is None else cut)

    @property
    def recommended_cut(self) -> int:
        """The cut the paper found best on validation images."""
        return self.paper.cut

    def finalize(self) -> None:
        """Called by the loaders once the weights are in and the model is in eval mode.

        Folds training-time reparametrisations (BigGAN's spectral norm) into plain
        weights without changing the output; nothing to do for most models.
        """

    @staticmethod
    def doublings(image_size: int, base_side: int, minimum: int) -> int:
        """How many times ``base_side`` doubles to ``image_size``, a power of two ≥ ``minimum``.

        Raises:
            ValueError: ``image_size`` is not such a power of two (the message says so).
        """
        if image_size < minimum or image_size & (image_size - 1):
            raise ValueError(f"image size must be a power of two of at least {minimum}, "
                             f"got {image_size}")
        return image_size.bit_length() - base_side.bit_length()

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
    def from_config(cls, config: Mapping[str, Any]) -> StagedGenerator:
        """Build from recorded constructor arguments; unknown keys are warned about.

        Raises:
            ValueError: a declared argument is out of its range; the message names it.
        """
        params = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(config) - params)
        if unknown:
            warnings.warn(
                f"{cls.model_name} config has unknown keys {unknown}; they are ignored",
                stacklevel=2,
            )
        return cls(**{k: v for k, v in config.items() if k in params})

    # Loaders of weights in other layouts; a model that reads one overrides its hook.
    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any], source: str,
                        **options: Any) -> StagedGenerator:
        """Build and load a model from a plain third-party state dict: its configuration
        read off the weights, or given as export ``options``."""
        raise NotImplementedError

    @classmethod
    def from_folder(cls, folder: Path, **options: Any) -> tuple[StagedGenerator, Path]:
        """Build and load a model from a released folder; also return the weights file."""
        raise NotImplementedError

    @classmethod
    def required_options(cls) -> tuple[str, ...]:
        """The export options without a default: every load names them (the sequential
        wrapper's ``module`` and ``blocks``). A model without any is built from plain
        weights alone."""
        parameters = inspect.signature(cls.__init__).parameters
        return tuple(name for name in cls.export_options
                     if parameters[name].default is inspect.Parameter.empty)

    @classmethod
    def reads(cls, hook: str) -> bool:
        """Whether this model overrides loader ``hook`` (``from_state_dict``/``from_folder``)."""
        return getattr(cls, hook).__func__ is not getattr(StagedGenerator, hook).__func__

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Validate the declared constructor arguments of every subclass on construction."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature, declared = inspect.signature(init), declared_params(init)

        @functools.wraps(init)
        def checked_init(self: StagedGenerator, *args: Any, **kw: Any) -> None:
            for name, value in signature.bind(self, *args, **kw).arguments.items():
                if name in declared:
                    declared[name].check(value)
            init(self, *args, **kw)

        cls.__init__ = checked_init  # type: ignore[method-assign]

    def options(self) -> dict[str, Any]:
        """The export options as this model was built with them (a subset of ``config()``)."""
        config = self.config()
        return {name: config[name] for name in self.export_options}

    def example_state(self, cut: int, batch: int = 1) -> State:
        """Random inputs at ``cut`` with the right shapes, for tracing and tests."""
        gen = torch.Generator().manual_seed(0)
        return tuple(
            torch.randn((batch, *spec.shape), generator=gen)
            for spec in self.cut_spec(cut).inputs
        )
