"""gs-invert --task inpaint with a folder of masks: each observed image with its own mask."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gs.cli import main as invert_cli
from gs.errors import UserInputError
from gs.io import write_image
from gs.jobs import InversionJob, OperatorOptions, list_inputs, load_problems
from helpers import one_sentence_error

FAST = ["--steps", "2", "--inner-iterations", "5", "--restarts", "2", "--seed", "0"]
SHAPE = (3, 16, 16)  # the tiny DCGAN's images


def run(*args: object):
    return CliRunner().invoke(invert_cli, [str(a) for a in args])


def write_mask(path, seed: int) -> np.ndarray:
    keep = np.random.default_rng(seed).uniform(size=SHAPE[1:]) > 0.5
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((keep * 255).astype(np.uint8)).save(path)
    return keep


def write_observation(path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, np.random.default_rng(seed).uniform(0, 1, SHAPE).astype(np.float32))


@pytest.fixture
def observed(tmp_path):
    """obs/{a/b.png, c.jpg} and masks/{a/b.png, c.bmp}: suffixes need not agree."""
    obs, masks = tmp_path / "obs", tmp_path / "masks"
    write_observation(obs / "a" / "b.png", 0)
    write_observation(obs / "c.jpg", 1)
    keeps = {"a/b": write_mask(masks / "a" / "b.png", 10), "c": write_mask(masks / "c.bmp", 11)}
    return obs, masks, keeps


def inpaint_job(tmp_path, images, mask, simulate=False) -> InversionJob:
    return InversionJob(None, images, tmp_path / "out", OperatorOptions("inpaint"),
                        mask=mask, simulate=simulate)


def test_each_image_pairs_with_the_mask_at_its_relative_path(tmp_path, observed):
    obs, masks, keeps = observed
    job = inpaint_job(tmp_path, (obs,), masks)
    inputs = list_inputs(job)
    problems = load_problems(job, SHAPE, inputs)
    names = [item.path.relative_to(obs).with_suffix("").as_posix() for item in inputs]
    assert names == ["a/b", "c"]
    for name, problem in zip(names, problems):
        np.testing.assert_array_equal(problem.operator.mask, keeps[name])


def test_a_file_image_pairs_by_its_stem(tmp_path, observed):
    obs, masks, keeps = observed
    job = inpaint_job(tmp_path, (obs / "c.jpg",), masks)
    (problem,) = load_problems(job, SHAPE, list_inputs(job))
    np.testing.assert_array_equal(problem.operator.mask, keeps["c"])


def test_one_mask_file_still_serves_every_image(tmp_path, observed):
    obs, masks, keeps = observed
    job = inpaint_job(tmp_path, (obs,), masks / "c.bmp")
    for problem in load_problems(job, SHAPE, list_inputs(job)):
        np.testing.assert_array_equal(problem.operator.mask, keeps["c"])


def test_one_call_recovers_a_folder_with_its_masks(tmp_path, tiny_artifacts, observed):
    obs, masks, _ = observed
    out = tmp_path / "out"
    result = run(tiny_artifacts[1], obs, "--task", "inpaint", "--mask", masks, "-o", out, *FAST)
    assert result.exit_code == 0, result.output
    assert (out / "a" / "b.png").is_file() and (out / "c.png").is_file()


def test_a_missing_mask_names_the_flag_and_the_file(tmp_path, tiny_artifacts, observed):
    obs, masks, _ = observed
    (masks / "c.bmp").unlink()
    one_sentence_error(run(tiny_artifacts[1], obs, "--task", "inpaint", "--mask", masks,
                           "-o", tmp_path / "out", *FAST), "--mask", str(masks / "c"),
                       str(obs / "c.jpg"))
    assert not (tmp_path / "out" / "a" / "b.png").exists()  # refused before any recovery


def test_two_masks_for_one_image_are_refused(tmp_path, observed):
    obs, masks, _ = observed
    write_mask(masks / "a" / "b.jpg", 12)
    job = inpaint_job(tmp_path, (obs,), masks)
    with pytest.raises(UserInputError, match=r"several masks \(b\.jpg, b\.png\)") as caught:
        load_problems(job, SHAPE, list_inputs(job))
    assert caught.value.field == "mask"


def test_a_mask_folder_with_simulate_is_refused(tmp_path, tiny_artifacts, observed):
    obs, masks, _ = observed
    one_sentence_error(run(tiny_artifacts[1], obs, "--task", "inpaint", "--simulate",
                           "--mask", masks, "-o", tmp_path / "out", *FAST),
                       f"--mask {masks}", "--simulate")
