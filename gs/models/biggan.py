"""BigGAN-deep (Brock et al. 2019) as cuttable blocks, wrapping ``pytorch_pretrained_biggan``.

The upstream ``BigGAN`` module is kept whole under ``self.biggan``, so its
``pytorch_model.bin`` loads with unchanged key names. For biggan-deep-512
(z_dim=128, channel_width ch=128, 14 GenBlocks, self-attention before the 9th)
the blocks and the state after each are (``cond`` (256,) stays beside ``h_c`` up
to cut 15)::

    z, embedding                                   # (128,), (128,)              cut 0
    cond = z ‖ embedding; gen_z(cond), to NCHW     # h1 (2048, 4, 4), cond (256,)  cut 1
    GenBlock (2048→2048)                           # h2 (2048, 4, 4)             cut 2
    GenBlock (2048→2048, up×2)                     # h3 (2048, 8, 8)             cut 3
    GenBlock (2048→2048)                           # h4 (2048, 8, 8)             cut 4
    GenBlock (2048→1024, up×2)                     # h5 (1024, 16, 16)           cut 5
    GenBlock (1024→1024)                           # h6 (1024, 16, 16)           cut 6
    GenBlock (1024→1024, up×2)                     # h7 (1024, 32, 32)           cut 7
    GenBlock (1024→1024)                           # h8 (1024, 32, 32)           cut 8
    GenBlock (1024→512, up×2)                      # h9 (512, 64, 64)            cut 9
    SelfAttn                                       # h10 (512, 64, 64)           cut 10
    GenBlock (512→512)                             # h11 (512, 64, 64)           cut 11
    GenBlock (512→256, up×2)                       # h12 (256, 128, 128)         cut 12
    GenBlock (256→256)                             # h13 (256, 128, 128)         cut 13
    GenBlock (256→128, up×2)                       # h14 (128, 256, 256)         cut 14
    GenBlock (128→128)                             # h15 (128, 256, 256)         cut 15
    GenBlock (128→128, up×2)                       # h16 (128, 512, 512) alone   cut 16
    BN ReLU Conv3(128→128), first 3 channels, Tanh # (3, 512, 512) in [-1, 1]

Every cut ``1 ≤ c ≤ K-2`` carries the conditioning vector ``cond`` (2·z_dim,)
next to ``h_c``: each GenBlock's class-conditional batch norms read it, so it is
a second free input of the cut generator. The last cut (c = K-1, in front of the
unconditional output block) needs ``h_c`` alone. ``embedding`` is the class embedding
``biggan.embeddings(one_hot)`` (z_dim entries: upstream embeds classes into
z_dim, not class_embed_dim), optimised as a free vector instead of a class.

Truncation is a constructor argument, fixed at export: the batch norms pick
their pre-computed statistics for it in Python, so it is a constant of the graph.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import torch
from torch import Tensor, nn

from gs.errors import UserInputError
from gs.latent import InitSpec, InputSpec, LatentSpec
from gs.models.base import PaperPreset, StagedGenerator, State
from gs.models.registry import register_model
from gs.params import Param

BASE_SIDE = 4
FIRST_WIDTH = 16  # gen_z outputs 16·ch channels; upstream hard-codes it
REDUCTION = 4  # GenBlock's bottleneck: in_channels // 4
ATTENTION_REDUCTION = 8  # SelfAttn's query/key width: channels // 8
DEFAULT_TRUNCATION = 0.4
TRUNCATION = Param("truncation of the latent, fixed in the artifact", min=0, max=1, min_open=True)
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "pytorch_model.bin"
INT_FIELDS = ("output_dim", "z_dim", "class_embed_dim", "channel_width", "num_classes",
              "n_stats")
BIGGAN_FIELDS = (*INT_FIELDS, "layers", "attention_layer_position", "eps")

BIGGAN_DEEP_512: dict[str, Any] = {
    "output_dim": 512, "z_dim": 128, "class_embed_dim": 128, "channel_width": 128,
    "num_classes": 1000,
    "layers": [[False, 16, 16], [True, 16, 16], [False, 16, 16], [True, 16, 8],
               [False, 8, 8], [True, 8, 8], [False, 8, 8], [True, 8, 4], [False, 4, 4],
               [True, 4, 2], [False, 2, 2], [True, 2, 1], [False, 1, 1], [True, 1, 1]],
    "attention_layer_position": 8, "eps": 1e-4, "n_stats": 51,
}


# 16 px: gen_z, 5 GenBlocks with self-attention before the third, the output block.
BIGGAN_SMOKE: dict[str, Any] = {
    "output_dim": 16, "z_dim": 8, "class_embed_dim": 8, "channel_width": 4, "num_classes": 10,
    "layers": [[False, 16, 16], [True, 16, 8], [False, 8, 4], [True, 4, 2], [False, 2, 1]],
    "attention_layer_position": 2, "eps": 1e-4, "n_stats": 51,
}


def _integer(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    return int(value)


def _layers(value: Any, channel_width: int) -> list[list[Any]]:
    """Check the ``[up_sample, in, out]`` list (widths in units of ``channel_width``)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"layers must be a non-empty list of [up_sample, in, out], got {value!r}")
    layers = []
    for i, layer in enumerate(value):
        if not isinstance(layer, (list, tuple)) or len(layer) != 3 or not isinstance(layer[0],
                                                                                     bool):
            raise ValueError(f"layers[{i}] must be [up_sample (bool), in, out], got {layer!r}")
        width_in = _integer(f"layers[{i}] input width", layer[1], 1)
        width_out = _integer(f"layers[{i}] output width", layer[2], 1)
        if width_out != width_in and 2 * width_out != width_in:
            raise ValueError(f"layers[{i}] must keep or halve its width, got {width_in}→"
                             f"{width_out}")
        if channel_width * width_in < REDUCTION:
            raise ValueError(f"layers[{i}] has fewer than {REDUCTION} channels")
        layers.append([layer[0], width_in, width_out])
    for i in range(1, len(layers)):
        if layers[i][1] != layers[i - 1][2]:
            raise ValueError(f"layers[{i}] input width {layers[i][1]} differs from the output "
                             f"width {layers[i - 1][2]} of layers[{i - 1}]")
    if layers[0][1] != FIRST_WIDTH or layers[-1][2] != 1:
        raise ValueError(f"layers must start at width {FIRST_WIDTH} and end at width 1, got "
                         f"{layers[0][1]} and {layers[-1][2]}")
    return layers


def check_biggan_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the fields of an upstream ``BigGANConfig`` and return them as plain JSON.

    Fields upstream does not know are warned about and dropped.

    Raises:
        ValueError: a field is missing or inconsistent; the message names it.
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"the BigGAN config must be a JSON object, got {type(config).__name__}")
    missing = [f for f in BIGGAN_FIELDS if f not in config]
    if missing:
        raise ValueError(f"the BigGAN config lacks {', '.join(missing)}; it needs "
                         f"{', '.join(BIGGAN_FIELDS)}")
    unknown = sorted(set(config) - set(BIGGAN_FIELDS))
    if unknown:
        warnings.warn(f"the BigGAN config has unknown fields {unknown}; they are ignored",
                      stacklevel=2)
    out: dict[str, Any] = {name: _integer(name, config[name], 2 if name == "n_stats" else 1)
                           for name in INT_FIELDS}
    out["layers"] = _layers(config["layers"], out["channel_width"])
    position = config["attention_layer_position"]
    out["attention_layer_position"] = _integer("attention_layer_position", position, 0)
    if position < len(out["layers"]):
        width = out["channel_width"] * out["layers"][position][1]
        if width < ATTENTION_REDUCTION:
            raise ValueError(f"the self-attention layer needs at least {ATTENTION_REDUCTION} "
                             f"channels, got {width}")
    eps = config["eps"]
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    out["eps"] = float(eps)
    side = BASE_SIDE * 2 ** sum(layer[0] for layer in out["layers"])
    if side != out["output_dim"]:
        raise ValueError(f"output_dim {out['output_dim']} does not match the layers, which "
                         f"upsample 4×4 to {side}×{side}")
    return {name: out[name] for name in BIGGAN_FIELDS}


def check_truncation(truncation: float, n_stats: int = 51) -> float:
    """``truncation`` (already in (0, 1], see :data:`TRUNCATION`) whose statistics exist."""
    # Upstream's own arithmetic: statistics at floor(t/step) and, unless t/step is whole,
    # the next index too.
    fraction, index = math.modf(truncation / (1.0 / (n_stats - 1)))
    if index + (fraction != 0) > n_stats - 1:
        raise ValueError(f"truncation {truncation} lies outside the {n_stats} stored statistics")
    return float(truncation)


def _drop_spectral_norm_load_hook(module: nn.Module) -> None:
    """Remove the state-dict pre-hook that ``remove_spectral_norm`` leaves behind.

    torch registers it wrapped (``_WrappedHook``), so ``remove_spectral_norm``'s
    isinstance test misses it, and it would later demand ``weight_orig`` keys.
    """
    from torch.nn.utils.spectral_norm import SpectralNormLoadStateDictPreHook

    hooks = module._load_state_dict_pre_hooks
    for key, hook in list(hooks.items()):
        if isinstance(getattr(hook, "hook", hook), SpectralNormLoadStateDictPreHook):
            del hooks[key]


@register_model
class BigGANDeep(StagedGenerator):
    """BigGAN-deep generator (upstream module under ``biggan``); output in [-1, 1].

    Inputs at cut 0 are ``z`` (z_dim,) and ``embedding`` (z_dim,); at cuts
    ``1 ≤ c ≤ K-2`` they are ``h{c}`` (C, S, S) and ``cond`` (2·z_dim,); at the
    last cut ``K-1`` only ``h{K-1}``.
    ``forward(z, embedding)`` equals upstream ``BigGAN(z, one_hot, truncation)``
    when ``embedding = biggan.embeddings(one_hot)``.

    Initial distributions (``cut_spec``):
        z: the truncated normal of upstream's ``truncated_noise_sample`` (values
            of N(0, 1) in [-2, 2], times truncation), approximated by N(0, t²)
            clipped to ±2t (clipping puts the tails on the bound instead of
            redrawing them).
        embedding: N(0, s²), s the standard deviation of the class embedding
            weights (so it looks like a class embedding of this model).
        cond: N(0, (t² + s²)/2) clipped to ±2·max(t, s): one distribution for
            both halves (z ‖ embedding), since a spec describes a whole input,
            whose variance matches the two halves' on average.
        h_c: N(0, 1) clipped to ±1, as for the other models.

    Args:
        biggan_config: the upstream ``BigGANConfig`` fields as a dict (what
            ``config.json`` holds); default the biggan-deep-512 configuration.
        truncation: in (0, 1]; selects the batch-norm statistics (0.4 in the paper).
    """

    model_name = "biggan"
    # The supplement's Table 1 lists BigGAN for inpainting and super-resolution only;
    # its settings stand in for compressed sensing and denoising as well.
    paper = PaperPreset(cut=7, lr=1.5, steps=25, raw_lr=1.5, raw_steps=25)
    export_options = ("truncation",)
    smoke_config = {"biggan_config": BIGGAN_SMOKE}
    folder_layout = f"a folder holding {CONFIG_FILE} and {WEIGHTS_FILE}"

    def __init__(self, biggan_config: dict[str, Any] | None = None,
                 truncation: Annotated[float, TRUNCATION] = DEFAULT_TRUNCATION) -> None:
        super().__init__()
        # Imported here: the package pulls in scipy.stats and boto3 (about a second),
        # which every other model and ``import gs.models`` can do without.
        from pytorch_pretrained_biggan import BigGAN, BigGANConfig
        from pytorch_pretrained_biggan.model import GenBlock

        self.biggan_config = check_biggan_config(
            BIGGAN_DEEP_512 if biggan_config is None else biggan_config)
        self.truncation = check_truncation(float(truncation), self.biggan_config["n_stats"])
        self.biggan = BigGAN(BigGANConfig.from_dict(self.biggan_config))
        with torch.no_grad():  # upstream leaves the last batch norm's affine uninitialised
            self.biggan.generator.bn.weight.fill_(1.0)
            self.biggan.generator.bn.bias.zero_()
        self.nc, self.image_size = 3, self.biggan_config["output_dim"]
        self.z_dim = self.biggan_config["z_dim"]
        self.width = self.biggan_config["channel_width"]
        layers = self.biggan.generator.layers
        self._conditional = [isinstance(layer, GenBlock) for layer in layers]
        self._shapes = self._state_shapes()

    def _state_shapes(self) -> list[tuple[int, int, int]]:
        """Shape of ``h_c`` for c = 1 … K-1 (index c-1)."""
        shapes = [(FIRST_WIDTH * self.width, BASE_SIDE, BASE_SIDE)]
        config = iter(self.biggan_config["layers"])
        for conditional in self._conditional:
            if conditional:
                up, _, width_out = next(config)
                side = shapes[-1][1] * (2 if up else 1)
                shapes.append((width_out * self.width, side, side))
            else:
                shapes.append(shapes[-1])
        return shapes

    @property
    def num_blocks(self) -> int:
        return len(self._conditional) + 2

    @property
    def recommended_cut(self) -> int:
        """The paper's c = 7, or the deepest valid cut of a smaller configuration."""
        return min(self.paper.cut, self.num_blocks - 1)

    def _embedding_std(self) -> float:
        std = float(self.biggan.embeddings.weight.detach().float().std())
        return std if std > 0 else 1.0

    def cut_spec(self, cut: int) -> LatentSpec:
        self.check_cut(cut)
        t, s = self.truncation, self._embedding_std()
        if cut == 0:
            return LatentSpec(0, (
                InputSpec("z", (self.z_dim,), InitSpec("clamped_normal", std=t, limit=2 * t)),
                InputSpec("embedding", (self.z_dim,), InitSpec("normal", std=s)),
            ))
        h = InputSpec(f"h{cut}", self._shapes[cut - 1], InitSpec("clamped_normal"))
        if cut == self.num_blocks - 1:
            return LatentSpec(cut, (h,))
        cond = InitSpec("clamped_normal", std=math.sqrt((t * t + s * s) / 2),
                        limit=2 * max(t, s))
        return LatentSpec(cut, (h, InputSpec("cond", (2 * self.z_dim,), cond)))

    def stage(self, k: int, state: State) -> State:
        generator = self.biggan.generator
        if k == 0:
            z, embedding = state
            cond = torch.cat([z, embedding], dim=1)
            h = generator.gen_z(cond).view(-1, BASE_SIDE, BASE_SIDE, FIRST_WIDTH * self.width)
            return (h.permute(0, 3, 1, 2).contiguous(), cond)  # TF's NHWC → NCHW
        if k <= len(self._conditional):
            h, cond = state
            layer = generator.layers[k - 1]
            h = layer(h, cond, self.truncation) if self._conditional[k - 1] else layer(h)
            # The output block's batch norm is unconditional: the last cut needs h only.
            return (h,) if k == len(self._conditional) else (h, cond)
        (h,) = state
        h = generator.conv_to_rgb(generator.relu(generator.bn(h, self.truncation)))
        return (generator.tanh(h[:, :3]),)

    def to_image(self, raw: Tensor) -> Tensor:
        return (raw + 1) / 2

    def embed(self, one_hot: Tensor) -> Tensor:
        """Class embeddings (B, z_dim) of one-hot (or soft) labels (B, num_classes)."""
        return self.biggan.embeddings(one_hot)

    # Spectral normalisation: the checkpoint stores W_orig, u and v; the forward
    # pass divides W_orig by σ = uᵀ W_orig v every call. Baking stores W_orig / σ.
    @property
    def spectral_norm_active(self) -> bool:
        """Whether any layer still normalises its weight on every forward pass."""
        return any(hasattr(module, "weight_orig") for module in self.modules())

    def bake_spectral_norm(self) -> None:
        """Replace every spectral-normalised weight by the plain weight W_orig/σ.

        In eval mode the output is unchanged (σ uses the stored u and v either
        way); traced and exported graphs become plain convolutions. Training
        after baking would no longer normalise. Idempotent.
        """
        for module in self.modules():
            if hasattr(module, "weight_orig"):
                requires_grad = module.weight_orig.requires_grad
                nn.utils.remove_spectral_norm(module)
                module.weight.requires_grad_(requires_grad)
                _drop_spectral_norm_load_hook(module)

    def finalize(self) -> None:
        self.bake_spectral_norm()

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> Any:
        """Load this module's own state dict, with or without spectral norm baked."""
        self._match_layout(state_dict)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _match_layout(self, state: Mapping[str, Any]) -> None:
        if self.spectral_norm_active and not any(k.endswith(".weight_orig") for k in state):
            self.bake_spectral_norm()

    def load_upstream(self, state: Mapping[str, Any], source: str = "weights") -> None:
        """Load an upstream ``pytorch_model.bin`` state dict into ``biggan``, strictly.

        Raises:
            ValueError: a key is missing or unexpected, or a shape differs; the
                message names ``source`` and the first offending keys.
        """
        if not isinstance(state, Mapping) or not state:
            raise ValueError(f"{source} holds no state dict")
        self._match_layout(state)
        own = self.biggan.state_dict()
        for key, value in state.items():
            if key in own and tuple(getattr(value, "shape", ())) != tuple(own[key].shape):
                raise ValueError(
                    f"{source} has {key} of shape {tuple(getattr(value, 'shape', ()))}, "
                    f"expected {tuple(own[key].shape)}"
                )
        result = self.biggan.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise ValueError(
                f"{source} does not match the BigGAN config: missing keys "
                f"{result.missing_keys[:3]}, unexpected keys {result.unexpected_keys[:3]}"
            )

    @classmethod
    def from_folder(cls, folder: Path, **options: Any) -> tuple[BigGANDeep, Path]:
        """What pytorch-pretrained-BigGAN ships: ``config.json`` + ``pytorch_model.bin``.

        ``options`` are constructor arguments (``truncation``). Returns the loaded
        model and the weights file.

        Raises:
            UserInputError: a file is missing, unreadable or does not match; the
                message names it.
        """
        config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        for needed in (config_path, weights_path):
            if not needed.is_file():
                raise UserInputError(f"lacks {needed.name}; expected {cls.folder_layout}",
                                     field="weights", value=folder)
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise UserInputError(
                "is not readable JSON; expected the BigGAN configuration that "
                "pytorch-pretrained-BigGAN ships", field="weights", value=config_path) from None
        try:
            generator = cls(biggan_config=config, **options)
        except (TypeError, ValueError) as exc:
            raise UserInputError(f"is not a valid BigGAN configuration: {exc}",
                                 field="weights", value=config_path) from None
        try:
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - any failure means the file is not a state dict
            raise UserInputError(
                "is not a readable PyTorch state dict; expected the BigGAN weights that "
                "pytorch-pretrained-BigGAN ships", field="weights", value=weights_path) from None
        if not isinstance(state, Mapping):
            raise UserInputError(f"holds a {type(state).__name__}, expected a state dict",
                                 field="weights", value=weights_path)
        try:
            generator.load_upstream(state, source=str(weights_path))
        except (RuntimeError, ValueError) as exc:
            raise UserInputError(str(exc).strip().splitlines()[0]) from None
        return generator, weights_path
