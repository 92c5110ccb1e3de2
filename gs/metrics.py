"""Image quality through torchmetrics: PSNR (data range 1) and SSIM.

PSNR = 10·log10(1/MSE) over C·H·W of the recovery clamped to [0, 1], per image.
"""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)


def _pair(recovered: np.ndarray, truth: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    if recovered.shape != truth.shape or recovered.ndim != 3:
        raise ValueError(
            f"recovered and truth must both be (C, H, W) of equal shape, got "
            f"{recovered.shape} and {truth.shape}"
        )
    rec = torch.as_tensor(np.asarray(recovered, dtype=np.float64)).clamp(0, 1)[None]
    ref = torch.as_tensor(np.asarray(truth, dtype=np.float64))[None]
    return rec, ref


def psnr(recovered: np.ndarray, truth: np.ndarray) -> float:
    """PSNR in dB of a (C, H, W) recovery in [0, 1] against the ground truth."""
    rec, ref = _pair(recovered, truth)
    return float(peak_signal_noise_ratio(rec, ref, data_range=1.0))


def ssim(recovered: np.ndarray, truth: np.ndarray) -> float:
    """SSIM (Gaussian window 11, σ=1.5) of a (C, H, W) recovery against the truth."""
    rec, ref = _pair(recovered, truth)
    return float(structural_similarity_index_measure(rec, ref, data_range=1.0))
