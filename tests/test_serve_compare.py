"""The labelled image grid (gs.io) and the side-by-side picture (gs.compare)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gs.compare import caption, column_label, comparison_picture
from gs.errors import UserInputError
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


def test_write_comparisons_draws_the_recoveries_in_memory(tiny_artifacts, photo, tmp_path):
    """The picture is built from the reports' images, not from the PNGs just written: the
    same pixels as drawing the files read back, even once those files are gone; an image a
    resumed report recorded (no image in memory) is read from its file."""
    from gs.artifacts import load
    from gs.compare import comparison_paths, write_comparisons
    from gs.io import read_image
    from gs.jobs import InversionJob, OperatorOptions, list_inputs, load_problems, run_job

    artifact = load(tiny_artifacts[1], "cpu")
    shape = tuple(artifact.metadata.image_shape)
    job = InversionJob(artifact=tiny_artifacts[1], images=(photo,), output_dir=tmp_path / "out",
                       operator=OperatorOptions("cs", ratio=0.3), simulate=True, seed=3,
                       settings=artifact.metadata.settings_for("cs").override(steps=2,
                                                                               restarts=1),
                       device="cpu")
    report = run_job(job, artifact)
    (entry,) = report.images
    assert set(report.recoveries) == {entry["index"]}
    columns = [("surgery (c=1)", report)]
    problem = load_problems(job, shape, list_inputs(job))[0]
    expected = comparison_picture(problem.truth, problem.operator, problem.y, [
        ("surgery (c=1)", read_image(entry["output"], "output", channels=shape[0]),
         (entry["psnr"], entry["ssim"]))])

    (path,) = write_comparisons(job, shape, columns)
    assert path == comparison_paths(job)[0]
    drawn = read_image(path, channels=shape[0])
    np.testing.assert_array_equal(drawn, read_image_of(expected, tmp_path))
    path.unlink()
    Path(entry["output"]).unlink()  # nothing is read back: the file may be gone
    write_comparisons(job, shape, columns)
    np.testing.assert_array_equal(read_image(path, channels=shape[0]), drawn)

    path.unlink()
    resumed = replace(report, recoveries={})
    with pytest.raises(UserInputError, match="does not exist"):
        write_comparisons(job, shape, [("surgery (c=1)", resumed)])


def read_image_of(picture: np.ndarray, folder: Path) -> np.ndarray:
    """``picture`` as an 8-bit PNG holds it, read back."""
    from gs.io import read_image, write_image

    return read_image(write_image(folder / "expected.png", picture),
                      channels=picture.shape[0])
