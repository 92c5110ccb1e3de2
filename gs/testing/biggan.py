"""BigGAN-deep release folders with random weights, for tests and benchmarks where the
published weights cannot be downloaded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from pytorch_pretrained_biggan import BigGAN, BigGANConfig
from pytorch_pretrained_biggan.model import SelfAttn


def random_biggan(config: Mapping[str, Any], seed: int = 0,
                  power_iterations: int = 30) -> BigGAN:
    """An upstream ``BigGAN`` (eval mode) with random weights made usable: each
    spectral-norm pair ``u, v`` is its weight's top singular pair, found by power
    iteration as training would (random ones make ``σ = uᵀWv`` meaningless and the output
    overflow), batch-norm statistics plausible, self-attention switched on (its gain is
    zero at initialisation).

    Args:
        config: ``BigGANConfig`` fields (e.g. ``gs.models.biggan.BIGGAN_SMOKE``).
        seed: seeds the weights and statistics.
        power_iterations: rounds of power iteration per spectral-norm weight.
    """
    torch.manual_seed(seed)
    model = BigGAN(BigGANConfig.from_dict(dict(config)))
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "weight_orig") and hasattr(module, "weight_u"):
                matrix = module.weight_orig.reshape(module.weight_orig.shape[0], -1)
                u = module.weight_u
                for _ in range(power_iterations):
                    v = torch.nn.functional.normalize(matrix.T @ u, dim=0)
                    u = torch.nn.functional.normalize(matrix @ v, dim=0)
                module.weight_u.copy_(u)
                module.weight_v.copy_(v)
            if isinstance(module, SelfAttn):
                module.gamma.fill_(0.5)
        for name, buffer in model.named_buffers():
            if name.endswith("running_means"):
                buffer.normal_(0, 0.1)
            elif name.endswith("running_vars"):
                buffer.uniform_(0.5, 1.5)
        model.generator.bn.weight.normal_(2.0, 0.2)
        model.generator.bn.bias.normal_(0, 0.2)
    return model.eval()


def write_release_folder(folder: Path, model: BigGAN) -> Path:
    """What the pytorch-pretrained-BigGAN release ships: ``config.json`` and
    ``pytorch_model.bin`` in ``folder`` (created); returns ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(model.config.to_json_string())
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return folder
