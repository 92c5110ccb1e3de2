"""Small shared helpers for the tests (tiny models, in-range images)."""

from __future__ import annotations

import numpy as np
import torch

from gs.models.dcgan import DCGANGenerator

TINY = {"nz": 8, "ngf": 8, "nc": 3, "image_size": 16}


def tiny_dcgan(seed: int = 0) -> DCGANGenerator:
    """A 16 px DCGAN with random but well-conditioned weights, in eval mode."""
    torch.manual_seed(seed)
    model = DCGANGenerator(**TINY)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def in_range_image(artifact, seed: int = 1) -> np.ndarray:
    """An image the artifact's generator can produce exactly: (C, H, W) in [0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randn((1, *s), generator=gen).clamp(-1, 1) for s in artifact.spec.shapes]
    with torch.no_grad():
        return artifact.generator(*inputs)[0].numpy()
