"""PyTorch's default weight initialisation, drawn from an explicit ``torch.Generator``.

Training (``gs.train``) and the untrained-network baselines (Deep Decoder, DIP)
initialise networks from seeded streams instead of the global RNG, so a run is
reproduced by its seed alone.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def reset_parameters_seeded(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default initialisation of every Linear/Conv layer, drawn from ``generator``.

    Weights ~ kaiming-uniform(a=√5), biases ~ U[-1/√fan_in, 1/√fan_in] (what
    ``reset_parameters`` does with the global RNG); batch norms get weight 1, bias 0.
    """
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()
