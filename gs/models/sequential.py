"""``module``: a generator of your own, cut where you say, without writing a model class.

A generator that applies its blocks one after another (an ``nn.Sequential``, as
pytorch/examples' DCGAN is, or blocks kept in a list) is cut from two things: the
Python reference of the code that builds it and the names of its blocks::

    gs-export module --module dcgan_generator:Generator --weights G.pth \\
        --blocks main.0-2,main.3-5,main.6-8,main.9-11,main.12-13 --cut 1 -o G_c1.pt

* ``module`` is ``package.module:name`` of a class or function that builds the network
  with no arguments (a folder of the current directory is importable);
* ``blocks`` lists the blocks in order, each a submodule path: ``main.0-2`` is
  children 0 to 2 of ``main``, ``main.3`` one child, ``layers.*`` makes every child of
  ``layers`` a block, ``fc+unflatten`` joins two submodules into one block, and the
  network's own children are ``0-2`` or ``*``;
* the latent at cut 0 has the ``input_shape`` given, or one read off the first layer
  (``Linear`` → (in_features,), ``ConvTranspose2d`` → (in_channels, 1, 1));
* the shape at every cut is found by running a zero latent through the blocks;
* the raw output is in [-1, 1] (``tanh``) or [0, 1] (``sigmoid``, ``unit``), as given or
  as a final ``Tanh``/``Sigmoid`` says.

Every one of these is an export option, recorded in the artifact's ``model_config``
(the weights' sha256 is its ``source``), so an artifact says how it was made. The
blocks must compose to the network's own ``forward``; that is checked.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Annotated, Any

import torch
from torch import Tensor, nn

from gs.discovery import first_line
from gs.errors import UserInputError
from gs.latent import InitSpec, InputSpec, LatentSpec
from gs.models.base import PaperPreset, StagedGenerator, State
from gs.models.blocks import (
    build_network,
    infer_input_shape,
    leaves,
    parse_shape,
    resolve_blocks,
    shape_text,
)
from gs.models.loading import unwrap_state_dict
from gs.models.registry import register_model
from gs.params import Param

OUTPUT_RANGES = {"tanh": "[-1, 1]", "sigmoid": "[0, 1]", "unit": "[0, 1]"}
"""The raw output ranges a generator may have, and the interval each stands for."""
_FINAL_LAYERS = {nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}

ModuleReference = Annotated[str, Param(
    "The generator's code: package.module:name of a class or function that builds it "
    "with no arguments.")]
BlockSpec = Annotated[str, Param(
    "The blocks in order, comma-separated: main.0-2 is children 0 to 2 of main, main.3 "
    "one submodule, layers.* each child of layers, a+b two submodules as one block.")]
InputShape = Annotated[str | None, Param(
    "Shape of the latent without batch, e.g. 100,1,1 (default: read off a first Linear or "
    "ConvTranspose2d).")]
OutputRange = Annotated[str | None, Param(
    "Range of the raw output: tanh [-1, 1], sigmoid or unit [0, 1] (default: a final Tanh "
    "or Sigmoid says).", choices=tuple(OUTPUT_RANGES))]
WeightsKey = Annotated[str | None, Param(
    "Key of the state dict in the weights file (default: the file itself, or the state "
    "dict under a usual key such as netG_state_dict).")]

@register_model
class SequentialGenerator(StagedGenerator):
    """A network of your own whose blocks run one after another, cut between them."""

    model_name = "module"
    # The paper has no row for your generator: its DCGAN row, the sequential one, serves.
    paper = PaperPreset(cut=1, lr=0.1, steps=25, raw_lr=1.0, raw_steps=100)
    export_options = ("module", "blocks", "input_shape", "output_range", "weights_key")
    smoke_config = {"module": "gs.models.sequential:SmokeNetwork",
                    "blocks": "main.0-2,main.3-5,main.6-7"}

    def __init__(self, module: ModuleReference, blocks: BlockSpec, input_shape: InputShape = None,
                 output_range: OutputRange = None, weights_key: WeightsKey = None) -> None:
        super().__init__()
        self.net = build_network(module)
        self._blocks = resolve_blocks(self.net, blocks)
        ends = leaves(self._blocks[0]), leaves(self._blocks[-1])
        if not (ends[0] and ends[1]):
            raise UserInputError("has a block without layers", field="blocks", value=blocks)
        shape = (parse_shape(input_shape) if input_shape is not None
                 else infer_input_shape(ends[0][0]))
        if output_range is None:
            last = type(ends[1][-1])
            if last not in _FINAL_LAYERS:
                raise UserInputError(
                    f"is needed: the last layer, a {last.__name__}, does not say the output's "
                    f"range ({', '.join(OUTPUT_RANGES)})", field="output_range")
            output_range = _FINAL_LAYERS[last]
        self.module, self.blocks, self.weights_key = module, blocks, weights_key
        self.input_shape, self.output_range = shape_text(shape), output_range
        self._shapes = self._propagate(shape)
        image = self._shapes[-1]
        if len(image) != 3:
            raise UserInputError(f"end in a tensor of shape {image}, expected an image "
                                 "(C, H, W)", field="blocks", value=blocks)
        self._check_forward()

    def _propagate(self, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The state's shape (without batch) at every cut, from a zero latent at cut 0."""
        device = next(self.net.parameters(), torch.empty(0)).device
        was_training = self.net.training
        self.net.eval()
        shapes = [shape]
        h = torch.zeros((1, *shape), device=device)
        try:
            with torch.no_grad():
                for k in range(len(self._blocks)):
                    try:
                        (h,) = self.stage(k, (h,))
                    except Exception as exc:  # noqa: BLE001 - a layer refusing the shape
                        raise UserInputError(
                            f"{shape_text(shape)} does not fit block {k + 1} of {{blocks}} "
                            f"{self.blocks}: {first_line(exc)}", field="input_shape",
                            refs=("blocks",)) from None
                    shapes.append(tuple(h.shape[1:]))
        finally:
            self.net.train(was_training)
        return shapes

    def _check_forward(self) -> None:
        """The blocks applied in turn must give what the network's forward gives: the same
        operations on the same input, so the same float32 numbers."""
        device = next(self.net.parameters(), torch.empty(0)).device
        if device.type == "meta":
            return
        latent = torch.randn((2, *self._shapes[0]), generator=torch.Generator().manual_seed(0))
        was_training = self.net.training
        self.net.eval()
        try:
            with torch.no_grad():
                try:
                    whole = self.net(latent.to(device))
                except Exception:  # noqa: BLE001 - a forward that takes more than a latent
                    return
                blocks = self.run_from(0, (latent.to(device),))[0]
        finally:
            self.net.train(was_training)
        if not (isinstance(whole, Tensor) and whole.shape == blocks.shape
                and torch.equal(whole, blocks)):
            raise UserInputError("do not compose to the network's forward; list every layer it "
                                 "applies, in order", field="blocks", value=self.blocks)

    @property
    def num_blocks(self) -> int:
        return len(self._blocks)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self._shapes[-1]  # type: ignore[return-value]

    def cut_spec(self, cut: int) -> LatentSpec:
        self.check_cut(cut)
        name = "z" if cut == 0 else f"h{cut}"
        return LatentSpec(cut=cut, inputs=(InputSpec(name, self._shapes[cut], InitSpec()),))

    def stage(self, k: int, state: State) -> State:
        (h,) = state
        for layer in self._blocks[k]:
            h = layer(h)
        return (h,)

    def to_image(self, raw: Tensor) -> Tensor:
        return (raw + 1) / 2 if self.output_range == "tanh" else raw

    @property
    def recommended_cut(self) -> int:
        return min(self.paper.cut, self.num_blocks - 1)

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any], source: str,
                        **options: Any) -> SequentialGenerator:
        """Build the network from ``options`` and load its weights from ``state``."""
        generator = cls(**options)
        generator.load_network_weights(state, source)
        return generator

    def load_network_weights(self, checkpoint: Mapping[str, Any], source: str) -> None:
        """Load the network's own state dict (under :attr:`weights_key` if given), strictly.

        Raises:
            UserInputError: a missing key, keys that do not match the network, a tensor of
                another shape; the error names the weights file.
        """
        if self.weights_key is not None:
            if not isinstance(checkpoint, Mapping) or self.weights_key not in checkpoint:
                keys = list(checkpoint)[:6] if isinstance(checkpoint, Mapping) else []
                raise UserInputError(f"is not a key of {{weights}} {source}; its keys are "
                                     f"{', '.join(map(str, keys)) or 'none'}", field="weights_key",
                                     value=repr(self.weights_key), refs=("weights",))
            checkpoint = checkpoint[self.weights_key]
        try:
            state = unwrap_state_dict(checkpoint)
        except ValueError as exc:
            raise UserInputError(f"is not a state dict: {exc}", field="weights",
                                 value=source) from None
        own = self.net.state_dict()
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unexpected:
            raise UserInputError(
                f"does not fit {{module}} {self.module}: missing keys {missing[:3]}, "
                f"unexpected keys {unexpected[:3]}", field="weights", value=source,
                refs=("module",))
        for key, tensor in own.items():
            if tuple(state[key].shape) != tuple(tensor.shape):
                raise UserInputError(
                    f"has {key} of shape {tuple(state[key].shape)}, but {{module}} "
                    f"{self.module} has {tuple(tensor.shape)}", field="weights", value=source,
                    refs=("module",))
        self.net.load_state_dict(state, strict=True)


class SmokeNetwork(nn.Module):
    """A tiny sequential generator in pytorch/examples' DCGAN layout (``main``): z (8, 1, 1)
    → (16, 4, 4) → (8, 8, 8) → image (3, 16, 16) in [-1, 1]; the ``module`` model's smoke
    configuration."""

    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Sequential(OrderedDict([
            ("0", nn.ConvTranspose2d(8, 16, 4, 1, 0, bias=False)), ("1", nn.BatchNorm2d(16)),
            ("2", nn.ReLU(True)),
            ("3", nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False)), ("4", nn.BatchNorm2d(8)),
            ("5", nn.ReLU(True)),
            ("6", nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=False)), ("7", nn.Tanh()),
        ]))

    def forward(self, z: Tensor) -> Tensor:
        return self.main(z)

