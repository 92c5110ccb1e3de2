"""The demo and benchmark scripts run end to end on a tiny generator (smoke)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_demo_runs_and_writes_a_grid(tmp_path, tiny_weights):
    import demo

    table = demo.run(tiny_weights, tmp_path, n_faces=2, n_other=1, seed=0, steps=1)
    assert set(table) == {0.08, 0.33}
    assert all(len(table[r][c]) == 3 for r in table for c in (0, 1))
    assert (tmp_path / "demo_grid.png").stat().st_size > 0


def test_photos_are_real_and_normalised():
    import photos

    for _, image in photos.faces(3) + photos.non_faces(3):
        assert image.shape == (3, 64, 64) and image.dtype.name == "float32"
        assert 0 <= image.min() and image.max() <= 1 and image.std() > 0.02
    assert len({image.tobytes() for _, image in photos.faces(4)}) == 4
