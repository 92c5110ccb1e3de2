"""DCGAN generator in the pytorch/examples layout, written as cuttable blocks.

For 64 px (nz=100, ngf=64, nc=3) the blocks and the state after each are::

    z                                   # (100, 1, 1)    cut 0
    ConvT(100→512, 4,1,0) BN ReLU       # (512, 4, 4)    cut 1
    ConvT(512→256, 4,2,1) BN ReLU       # (256, 8, 8)    cut 2
    ConvT(256→128, 4,2,1) BN ReLU       # (128, 16, 16)  cut 3
    ConvT(128→64, 4,2,1) BN ReLU        # (64, 32, 32)   cut 4
    ConvT(64→3, 4,2,1) Tanh             # (3, 64, 64)    image in [-1, 1]

Other powers of two add or remove upsampling blocks. The layers live in one
``nn.Sequential`` called ``main`` so pytorch-examples state dicts
(``main.0.weight`` …) load unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from gs.latent import InitSpec, InputSpec, LatentSpec
from gs.models.base import Channels, LatentSize, PaperPreset, StagedGenerator, State, Width
from gs.models.loading import unwrap_state_dict
from gs.models.registry import register_model


def dcgan_num_blocks(image_size: int) -> int:
    """Blocks a DCGAN needs for ``image_size`` (a power of two, at least 8)."""
    return StagedGenerator.doublings(image_size, 4, 8) + 1  # the first block makes the 4×4 map


@register_model
class DCGANGenerator(StagedGenerator):
    """The pytorch-examples DCGAN generator; output in [-1, 1], ``to_image`` maps to [0, 1].

    ``ngf`` is the width of the last hidden block (the first has ``ngf·2^(K-2)``
    channels); ``image_size`` is a power of two (64 in pytorch-examples).
    """

    model_name = "dcgan"
    paper = PaperPreset(cut=1, lr=0.1, steps=25, raw_lr=1.0, raw_steps=100)
    smoke_config = {"nz": 8, "ngf": 8, "nc": 3, "image_size": 16}

    def __init__(self, nz: LatentSize = 100, ngf: Width = 64, nc: Channels = 3,
                 image_size: int = 64) -> None:
        super().__init__()
        self.nz, self.ngf, self.nc, self.image_size = int(nz), int(ngf), int(nc), int(image_size)
        blocks = dcgan_num_blocks(self.image_size)
        widths = [self.ngf * 2 ** (blocks - 2 - i) for i in range(blocks - 1)]
        layers: list[nn.Module] = []
        self._bounds = [0]
        in_ch = self.nz
        for i, width in enumerate(widths):
            stride, pad = (1, 0) if i == 0 else (2, 1)
            layers += [
                nn.ConvTranspose2d(in_ch, width, 4, stride, pad, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(True),
            ]
            self._bounds.append(len(layers))
            in_ch = width
        layers += [nn.ConvTranspose2d(in_ch, self.nc, 4, 2, 1, bias=False), nn.Tanh()]
        self._bounds.append(len(layers))
        self.main = nn.Sequential(*layers)
        self._widths = widths

    @property
    def num_blocks(self) -> int:
        return len(self._bounds) - 1

    def cut_spec(self, cut: int) -> LatentSpec:
        self.check_cut(cut)
        if cut == 0:
            shape: tuple[int, ...] = (self.nz, 1, 1)
        else:
            side = 4 * 2 ** (cut - 1)
            shape = (self._widths[cut - 1], side, side)
        name = "z" if cut == 0 else f"h{cut}"
        return LatentSpec(cut=cut, inputs=(InputSpec(name, shape, InitSpec("clamped_normal")),))

    def stage(self, k: int, state: State) -> State:
        (h,) = state
        for layer in self.main[self._bounds[k] : self._bounds[k + 1]]:
            h = layer(h)
        return (h,)

    def to_image(self, raw: Tensor) -> Tensor:
        return (raw + 1) / 2

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any], source: str,
                        **options: Any) -> DCGANGenerator:
        """A pytorch-examples state dict, its configuration read off the weight shapes."""
        generator = cls(**cls.infer_config(state))
        generator.load_pytorch_examples(state, source=source)
        return generator

    def load_pytorch_examples(self, checkpoint: Mapping[str, Any], source: str = "weights") -> None:
        """Load a pytorch-examples state dict (``main.N.*``), possibly wrapped.

        Accepts the bare state dict, one wrapped under a key such as
        ``netG_state_dict``, and ``module.``-prefixed keys from DataParallel.
        Key checking is strict: a missing or unexpected key raises ``ValueError``
        naming ``source`` and the first offending keys.
        """
        state = unwrap_state_dict(checkpoint)
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"{source} does not match a DCGAN generator with nz={self.nz}, ngf={self.ngf}, "
                f"nc={self.nc}, image_size={self.image_size}: missing keys {missing[:3]}, "
                f"unexpected keys {unexpected[:3]}"
            )
        wrong = [k for k in own if tuple(own[k].shape) != tuple(state[k].shape)]
        if wrong:
            k = wrong[0]
            raise ValueError(
                f"{source} has {k} of shape {tuple(state[k].shape)}, expected "
                f"{tuple(own[k].shape)} for nz={self.nz}, ngf={self.ngf}, nc={self.nc}"
            )
        self.load_state_dict(state, strict=True)

    @classmethod
    def infer_config(cls, checkpoint: Mapping[str, Any]) -> dict[str, int]:
        """Read nz, ngf, nc and image size off the weight shapes of a state dict."""
        state = unwrap_state_dict(checkpoint)
        convs = sorted(
            (int(k.split(".")[1]), v) for k, v in state.items()
            if k.startswith("main.") and k.endswith(".weight") and v.dim() == 4
        )
        if len(convs) < 2:
            raise ValueError(
                "the state dict holds no DCGAN transposed convolutions (main.N.weight)"
            )
        nz = convs[0][1].shape[0]
        nc = convs[-1][1].shape[1]
        ngf = convs[-1][1].shape[0]
        image_size = 2 ** (len(convs) + 1)
        return {"nz": int(nz), "ngf": int(ngf), "nc": int(nc), "image_size": image_size}
