"""Real test photos bundled with scikit-image, as 64 px (C, H, W) float32 in [0, 1].

The crops live in :mod:`gs.experiments.evalset` (its ``test`` split), so the
benchmarks and ``gs-experiment`` evaluate on the same photos.
"""

from __future__ import annotations

from gs.experiments.evalset import faces, non_faces

__all__ = ["faces", "non_faces"]
