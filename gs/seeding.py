"""Backend-neutral randomness: one ``numpy.random.Generator`` per (seed, image, purpose).

Every method compared, and both the torch and the torch-free runtime, draw the
same operator, noise and initial latents for image ``i`` under seed ``s``
because each comes from its own stream keyed by ``(s, i, stream)``.
"""

from __future__ import annotations

import enum

import numpy as np


class Stream(enum.IntEnum):
    """What a random stream is used for; the value is part of the seed key."""

    OPERATOR = 0
    NOISE = 1
    INIT = 2
    BASELINE = 3
    HOLDOUT = 4


def problem_rng(seed: int, image_index: int, stream: Stream) -> np.random.Generator:
    """Return the generator for ``stream`` of image ``image_index`` under ``seed``.

    Args:
        seed: non-negative user seed.
        image_index: non-negative position of the image in the job.
        stream: which random quantity is drawn.
    """
    if seed < 0 or image_index < 0:
        raise ValueError(
            f"seed and image_index must be non-negative, got seed={seed}, "
            f"image_index={image_index}"
        )
    return np.random.default_rng([int(seed), int(image_index), int(stream)])
