"""The labelled image grid (gs.io) and the side-by-side picture (gs.compare)."""

from __future__ import annotations

import numpy as np
import pytest

from gs.compare import caption, column_label, comparison_picture
from gs.io import image_grid
from gs.operators import make_operator

SHAPE = (3, 16, 16)


def images(count: int, seed: int = 0, shape=SHAPE) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random(shape).astype(np.float32) for _ in range(count)]


def test_grid_places_scaled_images_and_prints_captions():
    row = images(2)
    plain = image_grid([row], pad=2, scale=3)
    assert plain.shape == (3, 2 + 48 + 2, 2 + 2 * (48 + 2))
    np.testing.assert_array_equal(plain[:, 2:50, 2:50], row[0].repeat(3, 1).repeat(3, 2))
    labelled = image_grid([row], pad=2, captions=[["truth", "two\nlines"]], scale=3)
    assert labelled.shape[2] == plain.shape[2] and labelled.shape[1] > plain.shape[1]
    # images are untouched (up to 8-bit rounding); the caption band has dark text pixels
    np.testing.assert_allclose(labelled[:, 2:50, 2:50], row[0].repeat(3, 1).repeat(3, 2),
                               atol=0.5 / 255 + 1e-6)
    band = labelled[:, 52:, :]
    assert band.min() < 0.2 and np.median(band) == 1.0
    gray = image_grid([images(1, shape=(1, 8, 8))], captions=[["g"]], scale=4)
    assert gray.shape[0] == 1 and gray.dtype == np.float32
    with pytest.raises(ValueError, match="scale must be at least 1"):
        image_grid([row], scale=0)


@pytest.mark.parametrize(("task", "options", "label"), [
    ("cs", {"ratio": 0.25}, "CS m/n = 25 %"),
    ("inpaint", {"keep": 0.5}, "50 % of pixels kept"),
    ("sr", {"scale": 4}, "SR x4"),
    ("denoise", {"noise_std": 0.2}, "noise std 0.2"),
])
def test_observation_preview_is_an_image_of_the_truth_shape(task, options, label):
    truth = images(1)[0]
    operator = make_operator(task, SHAPE, np.random.default_rng(0), **options)
    y = operator.measure(truth[None], np.random.default_rng(1))[0]
    preview = operator.preview(y)
    assert preview.shape == SHAPE and preview.dtype == np.float32
    assert 0 <= preview.min() and preview.max() <= 1
    assert operator.describe() == label
    if task == "inpaint":
        kept = operator.mask
        np.testing.assert_array_equal(preview[:, kept], truth[:, kept])
        assert (preview[:, ~kept] == 0.5).all()
    if task == "sr":
        np.testing.assert_allclose(preview[:, :4, :4], np.broadcast_to(
            np.clip(y[:, :1, :1], 0, 1), (3, 4, 4)), rtol=0, atol=0)


def test_comparison_picture_has_one_cell_per_column():
    truth, rec = images(2)
    operator = make_operator("cs", SHAPE, np.random.default_rng(0), ratio=0.5)
    y = operator.A(truth[None])[0]
    with_truth = comparison_picture(truth, operator, y, [("no surgery (c=0)", rec, (12.3, 0.4)),
                                                         ("surgery (c=1)", rec, (20.1, 0.8))])
    cell = 192 // 16 * 16  # cells are enlarged to at least 192 px
    assert with_truth.shape[2] == 2 + 4 * (cell + 2)
    without = comparison_picture(None, operator, y, [("surgery (c=1)", rec, None)])
    assert without.shape[2] == 2 + 2 * (cell + 2)
    assert caption("x", (12.345, 0.5)) == "x\n12.35 dB · SSIM 0.500"
    assert caption("x", None) == "x"
    assert column_label(0) == "no surgery (c=0)" and column_label(2) == "surgery (c=2)"
