"""What every gs-train LightningModule shares: the checkpoint contract of
:mod:`gs.models.checkpoint`, declared hyperparameters (:mod:`gs.train.hparams`),
seeded noise and sampling, and for GANs the optimisers and the manual step.

One *iteration* is one batch; Lightning's ``trainer.global_step`` counts optimizer
steps, :attr:`GeneratorModule.optimizer_steps_per_iteration` per batch (GANs: 2).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, TypeVar

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn

import gs
from gs.discovery import Registry
from gs.errors import UserInputError
from gs.latent import InputSpec
from gs.models import checkpoint as contract
from gs.models.base import StagedGenerator
from gs.models.registry import MODELS
from gs.models.seeded_init import reset_parameters_seeded
from gs.params import Param, declared_params

STREAM_WEIGHTS, STREAM_NOISE, STREAM_SAMPLES = 0, 1, 2

ADAM_LR = Param("Adam learning rate of both networks.", min=0, min_open=True)
ADAM_BETA1 = Param("Adam beta1.", min=0, max=1, max_open=True)
ADAM_BETA2 = Param("Adam beta2.", min=0, max=1, max_open=True)

M = TypeVar("M", bound="type[GeneratorModule]")

TRAINERS_GROUP = "gs.trainers"
"""The entry-point group of trainer plug-ins (see :mod:`gs.discovery`)."""


def register_trainer(cls: M) -> M:
    """Class decorator: ``gs-train <model_name>`` trains ``cls``.

    Raises:
        ValueError: another class already trains that model.
    """
    TRAINERS.claim(cls.generator_class.model_name, cls)
    return cls


TRAINERS: Registry = Registry(TRAINERS_GROUP, "trainer", "gs.train.module:GeneratorModule",
                              register_trainer, "has no trainer", after=MODELS)
"""Training modules by model name; ``gs-train`` has one sub-command per entry. Reading it
loads the installed plug-ins first."""


def unregister_trainer(name: str) -> None:
    """Forget the trainer of model ``name`` (for tests that register one of their own)."""
    TRAINERS.pop(name, None)


def derived_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for the stream ``keys`` of user seed ``seed`` (independent streams)."""
    state = np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def sample_init(
    spec: InputSpec, batch: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> Tensor:
    """Draw (batch, *spec.shape) from ``spec.init`` with torch (mirrors ``InitSpec.sample``)."""
    shape = (batch, *spec.shape)
    init = spec.init
    if init.kind == "zero":
        return torch.zeros(shape, device=device)
    if init.kind == "uniform":
        return (torch.rand(shape, generator=generator, device=device) * 2 - 1) * init.limit
    draw = torch.randn(shape, generator=generator, device=device) * init.std
    if init.kind == "clamped_normal":
        draw = draw.clamp(-init.limit, init.limit)
    return draw


class GeneratorModule(L.LightningModule):
    """Base of the gs-train LightningModules; it builds ``self.generator`` from the config.

    Subclasses set :attr:`generator_class`, declare their hyperparameters in their
    ``__init__`` and pass the arguments below on; all are saved as hyperparameters.

    Args:
        model_config: the generator's constructor arguments (``generator.config()``).
        cut_before_training: blocks removed before training (0: a normal run).
        seed: seeds initial weights, training noise and the sample-grid latents.
        model_name: ``generator_class.model_name`` (the default; recorded for gs-export).
    """

    generator_class: ClassVar[type[StagedGenerator]]
    cut_before_training_refused: ClassVar[str] = ""
    """Why this model cannot be cut before training (empty: it can)."""
    value_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    """Range of the training images this model expects (and its raw output range)."""
    normal_prior: ClassVar[bool] = True
    """Train an uncut generator on z ~ N(0, I); False: on its cut-0 initial distribution."""
    optimizer_steps_per_iteration: ClassVar[int] = 1
    ddp_find_unused_parameters: ClassVar[bool] = False
    """True when some parameters get no gradient in a backward pass (GANs: each step
    trains one network); DDP strategies are then switched to find them."""

    generator: StagedGenerator

    def __init__(self, model_config: dict[str, Any] | None = None, cut_before_training: int = 0,
                 seed: int = 0, model_name: str | None = None) -> None:
        super().__init__()
        expected = self.generator_class.model_name
        if model_name not in (None, expected):
            raise ValueError(f"model_name must be {expected!r}, got {model_name!r}")
        self.save_hyperparameters()
        self.hparams[contract.MODEL_NAME] = expected
        for name, declared in declared_params(type(self)).items():
            declared.check(self.hparams[name])
        if cut_before_training and self.cut_before_training_refused:
            raise UserInputError(f"is not available for {expected}: "
                                 f"{self.cut_before_training_refused}",
                                 field=contract.CUT_BEFORE_TRAINING, value=cut_before_training)
        generator = self.generator_class.from_config(model_config or {})
        generator.check_cut(cut_before_training, contract.CUT_BEFORE_TRAINING)
        setattr(self, contract.GENERATOR, generator)
        self._noise: torch.Generator | None = None
        self._noise_state: Tensor | None = None
        self._resumed_at: int | None = None

    def init_weights(self, *networks: nn.Module,
                     init: Callable[[nn.Module, torch.Generator], None] | None = None) -> None:
        """Initialise ``networks`` in order from this run's seeded weight stream
        (``init`` default: :func:`reset_parameters_seeded`)."""
        weights = torch.Generator().manual_seed(derived_seed(self.hparams.seed, STREAM_WEIGHTS))
        for network in networks:
            (init or reset_parameters_seeded)(network, weights)

    @property
    def cut(self) -> int:
        """Blocks removed before training (0 for a normal run)."""
        return int(self.hparams.cut_before_training)

    @property
    def iteration(self) -> int:
        """Training batches done so far (survives a resume)."""
        if self._trainer is None:
            return 0
        return self.trainer.global_step // self.optimizer_steps_per_iteration

    def latent_inputs(
        self, batch: int, generator: torch.Generator, device: torch.device | str = "cpu"
    ) -> tuple[Tensor, ...]:
        """Training-time inputs of the (possibly cut) generator, shape (batch, *spec.shape).

        At cut 0 this is the prior (:attr:`normal_prior`); a generator cut before
        training gets the cut's initial distribution (``cut_spec(c)``).
        """
        specs = self.generator.cut_spec(self.cut).inputs
        if self.cut == 0 and self.normal_prior:
            return tuple(torch.randn((batch, *s.shape), generator=generator, device=device)
                         for s in specs)
        return tuple(sample_init(s, batch, generator, device) for s in specs)

    def generate(self, inputs: tuple[Tensor, ...]) -> Tensor:
        """Raw generator output (B, C, H, W) in :attr:`value_range` for ``inputs`` at the cut."""
        return self.generator.run_from(self.cut, inputs)[0]

    def fixed_inputs(self, count: int) -> tuple[Tensor, ...]:
        """The same ``count`` latents for every sample grid of a run (seeded, drawn on CPU)."""
        gen = torch.Generator().manual_seed(derived_seed(self.hparams.seed, STREAM_SAMPLES))
        return tuple(x.to(self.device) for x in self.latent_inputs(count, gen))

    @torch.no_grad()
    def sample_images(self, inputs: tuple[Tensor, ...]) -> Tensor:
        """Images (B, C, H, W) in [0, 1] from the generator in eval mode, as exported."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generator.to_image(self.generate(inputs)).clamp(0, 1)
        finally:
            self.generator.train(was_training)

    # Noise for training steps: one explicit generator per rank, saved in checkpoints.
    @property
    def noise(self) -> torch.Generator:
        """The generator that draws training latents on this rank (created on first use)."""
        if self._noise is None or self._noise.device != self.device:
            rank = self.global_rank if self._trainer is not None else 0
            self._noise = torch.Generator(device=self.device)
            # A resumed rank > 0 (or a state from another device type) continues with a
            # fresh stream keyed by the iteration; rank 0 continues its saved stream exactly.
            resumed = () if self._resumed_at is None else (self._resumed_at,)
            self._noise.manual_seed(derived_seed(self.hparams.seed, STREAM_NOISE, rank, *resumed))
            if self._noise_state is not None and rank == 0:
                with contextlib.suppress(RuntimeError):
                    self._noise.set_state(self._noise_state)
            self._noise_state = None
        return self._noise

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[contract.GS_RECORD] = {
            "gs_version": gs.__version__,
            contract.MODEL_NAME: self.generator_class.model_name,
            "iterations": self.iteration,
            "noise_state": self.noise.get_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get(contract.GS_RECORD, {})
        self._noise = None
        self._noise_state = saved.get("noise_state")
        self._resumed_at = int(saved.get("iterations", 0))


class GANModule(GeneratorModule):
    """A generator trained against ``self.discriminator`` with manual optimisation.

    Holds what every GAN here shares: one Adam per network (``lr``, ``beta1``,
    ``beta2`` among the subclass's hyperparameters) and :meth:`step`, the
    toggle → zero_grad → backward → step → untoggle sequence of one update.
    """

    optimizer_steps_per_iteration = 2
    ddp_find_unused_parameters = True
    discriminator: nn.Module

    def __init__(self, lr: Annotated[float, ADAM_LR] = 2e-4,
                 beta1: Annotated[float, ADAM_BETA1] = 0.5,
                 beta2: Annotated[float, ADAM_BETA2] = 0.999, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.automatic_optimization = False

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        betas = (self.hparams.beta1, self.hparams.beta2)
        # A generator cut before training never uses its first blocks: they get no
        # gradient, and Adam leaves parameters without gradients untouched.
        return [torch.optim.Adam(net.parameters(), lr=self.hparams.lr, betas=betas)
                for net in (self.discriminator, self.generator)]

    def step(self, optimizer: Any, losses: Callable[[], dict[str, Tensor]]) -> dict[str, Tensor]:
        """Update ``optimizer``'s network on ``losses()["loss"]``, computed with the other
        network's parameters switched off; returns every tensor ``losses`` gave, detached."""
        self.toggle_optimizer(optimizer)
        try:
            values = losses()
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(values["loss"])
            optimizer.step()
        finally:
            self.untoggle_optimizer(optimizer)
        return {name: value.detach() for name, value in values.items()}

