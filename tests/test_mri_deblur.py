"""MRI and deblurring: what the shared operator contract suite does not check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gs.cli import main as invert_cli
from gs.errors import UserInputError
from gs.methods import build_method
from gs.operators import make_operator, operator_from_spec
from gs.operators.blur import Blur, gaussian_kernel, load_kernel, motion_kernel
from gs.operators.mri import MRI, mirror_index
from gs.problems import Problem
from gs.seeding import Stream, problem_rng
from helpers import one_sentence_error

FAST = ["--steps", "2", "--inner-iterations", "5", "--restarts", "2", "--seed", "0"]


def rng(seed: int = 0) -> np.random.Generator:
    return problem_rng(seed, 0, Stream.OPERATOR)


def smooth_image(shape=(1, 32, 32)) -> np.ndarray:
    c, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    image = 0.5 + 0.3 * np.sin(6 * xx) * np.cos(4 * yy) + 0.1 * (xx > 0.5)
    return np.broadcast_to(image, shape).astype(np.float32).copy()


# ------------------------------------------------------------------------------ MRI
@pytest.mark.parametrize("acceleration, fraction", [(4, 0.08), (8, 0.04)])
@pytest.mark.parametrize("pattern", ["variable-density", "uniform"])
@pytest.mark.parametrize("width", [64, 100, 37])
def test_mri_mask_has_the_centre_and_the_acceleration(acceleration, fraction, pattern, width):
    op = MRI(acceleration, (1, 16, width), rng(), pattern=pattern)
    assert op.center_fraction == fraction  # fastMRI's pair by default
    lines = op.lines
    assert abs(int(lines.sum()) - width / acceleration) <= 1
    centre = max(1, round(fraction * width))
    start = (width - centre + 1) // 2
    assert lines[start:start + centre].all()
    assert lines[width // 2]  # the zero frequency
    mask = op.mask
    np.testing.assert_array_equal(mask[0], np.broadcast_to(lines, (16, width)))


def test_mri_lines_come_from_the_generator():
    a = MRI(4, (1, 8, 64), rng(1))
    b = MRI(4, (1, 8, 64), rng(1))
    c = MRI(4, (1, 8, 64), rng(2))
    np.testing.assert_array_equal(a.lines, b.lines)
    assert not np.array_equal(a.lines, c.lines)


def test_variable_density_prefers_low_frequencies():
    width, counts = 128, np.zeros(128)
    for seed in range(40):
        counts += MRI(4, (1, 4, width), rng(seed), center_fraction=0.02).lines
    distance = np.abs(np.arange(width) - width // 2)
    assert counts[(distance > 4) & (distance < 20)].mean() > 2 * counts[distance > 44].mean()


def test_mri_is_the_centred_orthonormal_fft():
    x = smooth_image((2, 16, 12))[None].astype(np.float64)
    op = MRI(4, x.shape[1:], rng(), center_fraction=1.0)
    y = op.A(x)
    k = np.fft.fftshift(np.fft.fft2(x, norm="ortho"), axes=(-2, -1))
    np.testing.assert_allclose(y[:, :, 0], k.real, atol=1e-12)
    imaginary = k.imag * op.mask[1]
    np.testing.assert_allclose(y[:, :, 1], imaginary, atol=1e-12)
    assert np.sum(y**2) == pytest.approx(np.sum(x**2))  # fully sampled: ‖A x‖ = ‖x‖


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mri_a_at_is_the_identity_on_the_sampled_entries(seed):
    op = MRI(4, (1, 16, 16), rng(seed))
    x = np.random.default_rng(seed).random((1, *op.image_shape))
    y = op.A(x)
    # A A⁺ = I on what A can measure; A Aᵀ = I where an entry's mirror is sampled too
    np.testing.assert_allclose(op.A(op.zero_filled(y)), y, atol=1e-12)
    gram = op.gram_diagonal()
    np.testing.assert_allclose(op.A(op.A_adjoint(y)), gram * y, atol=1e-12)
    both = gram == 1
    np.testing.assert_allclose(op.A(op.A_adjoint(y))[0, :, both], y[0, :, both], atol=1e-12)


def test_mri_zero_filled_of_full_kspace_is_the_image():
    x = smooth_image((3, 16, 16))
    op = make_operator("mri", x.shape, rng(), center_fraction=1.0)
    problem = Problem(Path("x"), 0, op, op.A(x[None])[0], truth=x)
    answer = build_method("zero-filled", task="mri").solve([problem])[0].image
    np.testing.assert_allclose(answer, x, atol=1e-5)
    np.testing.assert_allclose(op.consistent(np.zeros_like(x), problem.y), x, atol=1e-5)


def test_mri_groups_hold_an_entry_with_its_mirror():
    op = MRI(4, (2, 8, 16), rng())
    groups = op.measurement_groups().reshape(op.measurement_shape)
    rows, cols = mirror_index(8), mirror_index(16)
    sampled = groups[0, 0] >= 0
    mirrored = groups[0, 0][rows[:, None], cols[None, :]]
    both = sampled & (mirrored >= 0)
    assert both.any() and (sampled & ~both).any()
    np.testing.assert_array_equal(groups[0, 0][both], mirrored[both])
    assert (groups == groups[:1, :1]).sum() >= (groups[0, 1] >= 0).sum()  # channels, parts
    assert (groups[0, 1][sampled] == -1).sum() == 2  # Im of the two self-conjugate entries


def test_mri_explicit_lines_round_trip():
    op = MRI.from_lines([7, 8, 9, 2, 13], (1, 16, 16), noise_std=0.01)
    spec = json.loads(json.dumps(op.spec()))
    assert spec["lines"] == [2, 7, 8, 9, 13]
    rebuilt = operator_from_spec(spec, np.random.default_rng(99))
    np.testing.assert_array_equal(rebuilt.lines, op.lines)
    with pytest.raises(UserInputError, match="lines"):
        MRI.from_lines([16], (1, 16, 16))


def phantom(side: int = 32) -> np.ndarray:
    """(1, side, side) piecewise-constant shapes on a dark background, as MR slices are."""
    yy, xx = np.mgrid[0:side, 0:side] / side
    image = 0.6 * (((xx - 0.5) / 0.4) ** 2 + ((yy - 0.5) / 0.45) ** 2 < 1)
    image += 0.3 * ((np.abs(xx - 0.4) < 0.08) & (np.abs(yy - 0.5) < 0.2))
    image -= 0.4 * (((xx - 0.65) ** 2 + (yy - 0.4) ** 2) < 0.01)
    return np.clip(image, 0, 1).astype(np.float32)[None]


def test_mri_classical_answers_beat_nothing_and_tv_beats_zero_filled():
    x = phantom()
    op = make_operator("mri", x.shape, rng(), acceleration=4)
    problem = Problem(Path("x"), 0, op, op.A(x[None])[0], truth=x)
    errors = {name: float(np.mean((build_method(name, task="mri").solve([problem])[0].image
                                   - x) ** 2)) for name in ("zero-filled", "tv-mri")}
    assert errors["tv-mri"] < errors["zero-filled"] < float(np.mean(x**2))
    held = op.measurement_groups() == op.measurement_groups()[op.measurement_groups() >= 0][0]
    for name in ("zero-filled", "tv-mri"):
        method = build_method(name, task="mri")
        assert method.answer_without(problem, held).shape == x.shape


def test_mri_refuses_bad_options():
    with pytest.raises(UserInputError, match="^acceleration must be one of 4, 8"):
        make_operator("mri", (1, 16, 16), rng(), acceleration=3)
    with pytest.raises(UserInputError, match="^center_fraction"):
        make_operator("mri", (1, 16, 16), rng(), center_fraction=0.0)
    with pytest.raises(UserInputError, match="^pattern"):
        make_operator("mri", (1, 16, 16), rng(), pattern="radial")


# -------------------------------------------------------------------------- deblur
@pytest.mark.parametrize("options", [{}, {"sigma": 0.7}, {"length": 5.0, "angle": 30.0}])
def test_blur_of_a_delta_is_the_kernel(options):
    op = make_operator("deblur", (2, 24, 20), rng(), **options)
    kernel = op.kernel
    assert kernel.sum() == pytest.approx(1.0)
    delta = np.zeros((1, 2, 24, 20))
    delta[0, :, 12, 10] = 1
    out = op.A(delta)[0]
    kh, kw = kernel.shape
    window = out[:, 12 - kh // 2:12 - kh // 2 + kh, 10 - kw // 2:10 - kw // 2 + kw]
    np.testing.assert_allclose(window, np.broadcast_to(kernel, window.shape), atol=1e-12)
    assert out.sum() == pytest.approx(2.0)
    # the adjoint correlates: it spreads the delta by the flipped kernel
    back = op.A_adjoint(delta)[0]
    flipped = kernel[::-1, ::-1]
    start_r, start_c = 12 - (kh - 1 - kh // 2), 10 - (kw - 1 - kw // 2)
    np.testing.assert_allclose(back[0, start_r:start_r + kh, start_c:start_c + kw], flipped,
                               atol=1e-12)


def test_blur_boundary_is_circular():
    op = make_operator("deblur", (1, 16, 16), rng(), sigma=1.0)
    corner = np.zeros((1, 1, 16, 16))
    corner[0, 0, 0, 0] = 1
    out = op.A(corner)[0, 0]
    assert out[-1, -1] == pytest.approx(out[1, 1]) and out[-1, -1] > 0


def test_kernels():
    gauss = gaussian_kernel(1.5)
    assert gauss.shape == (11, 11) and gauss.sum() == pytest.approx(1)
    np.testing.assert_allclose(gauss, gauss.T)
    flat = motion_kernel(7, 0)
    assert flat.shape == (9, 9) and flat.sum() == pytest.approx(1)
    assert flat[4].sum() == pytest.approx(1)  # a horizontal line through the centre
    np.testing.assert_allclose(motion_kernel(7, 90), flat.T, atol=1e-12)


def test_kernel_files_and_spec(tmp_path):
    values = np.zeros((3, 5))
    values[1, 1:4] = [1, 2, 1]
    np.save(tmp_path / "k.npy", values)
    Image.fromarray((values * 127).astype(np.uint8)).save(tmp_path / "k.png")
    np.testing.assert_allclose(load_kernel(tmp_path / "k.npy"), values)  # as given
    np.testing.assert_allclose(load_kernel(tmp_path / "k.png"), values / values.sum(), atol=2e-3)
    op = make_operator("deblur", (1, 16, 16), rng(), kernel=str(tmp_path / "k.npy"))
    spec = json.loads(json.dumps(op.spec()))
    assert spec["kernel"] == values.tolist()
    rebuilt = operator_from_spec(spec, np.random.default_rng(5))
    np.testing.assert_array_equal(rebuilt.transfer, op.transfer)
    for bad, message in (("missing.npy", "does not exist"), ("k.txt", ".png or .npy")):
        with pytest.raises(UserInputError, match=f"^kernel .*{message}"):
            load_kernel(tmp_path / bad)
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    with pytest.raises(UserInputError, match="^kernel .* is not a readable"):
        load_kernel(tmp_path / "broken.npy")
    np.save(tmp_path / "cube.npy", np.ones((2, 2, 2)))
    with pytest.raises(UserInputError, match="2-D"):
        load_kernel(tmp_path / "cube.npy")
    with pytest.raises(UserInputError, match="give one kernel"):
        make_operator("deblur", (1, 16, 16), rng(), sigma=1.0, length=3.0)


def test_skimage_sees_the_operators_transfer_function():
    from skimage.restoration.uft import ir2tf

    from gs.methods.classical import centred_psf

    op = Blur((1, 16, 12), length=5.0, angle=20.0)
    np.testing.assert_allclose(ir2tf(centred_psf(op), (16, 12), is_real=False), op.transfer,
                               atol=1e-12)


@pytest.mark.parametrize("name", ["tv-deblur", "wiener", "unsupervised-wiener"])
def test_deblur_classical_answers_improve_on_the_blurred_image(name):
    x = smooth_image((3, 32, 32))
    op = make_operator("deblur", x.shape, rng(), sigma=1.5, noise_std=0.01)
    y = op.measure(x[None], problem_rng(0, 0, Stream.NOISE))[0]
    problem = Problem(Path("x"), 0, op, y, truth=x)
    method = build_method(name, task="deblur")
    answer = method.solve([problem])[0].image
    assert np.mean((answer - x) ** 2) < np.mean((y - x) ** 2)
    held = np.zeros(y.size, dtype=bool)
    held[op.measurement_groups() == 5] = True
    assert method.answer_without(problem, held).shape == x.shape


# ---------------------------------------------------------------------------- CLI
def invoke(*args):
    return CliRunner().invoke(invert_cli, [str(a) for a in args])


def test_cli_mri_measurements_round_trip(tmp_path, tiny_artifacts, photo):
    sim, obs = tmp_path / "sim", tmp_path / "obs"
    result = invoke(tiny_artifacts[1], photo, "--task", "mri", "--acceleration", 4, "--simulate",
                    "-o", sim, "--save-measurements", "--report", tmp_path / "a.json", *FAST)
    assert result.exit_code == 0, result.output
    with np.load(sim / "astronaut.npz") as data:
        assert data["y"].shape == (3, 2, 16, 16)
        assert json.loads(str(data["spec"]))["task"] == "mri"
    result = invoke(tiny_artifacts[1], sim / "astronaut.npz", "--task", "mri", "-o", obs,
                    "--report", tmp_path / "b.json", *FAST)
    assert result.exit_code == 0, result.output
    simulated = json.loads((tmp_path / "a.json").read_text())["images"][0]
    observed = json.loads((tmp_path / "b.json").read_text())["images"][0]
    assert observed["measurement_loss"] == pytest.approx(simulated["measurement_loss"], rel=1e-4)


def test_cli_deblur_observed_image_round_trip(tmp_path, tiny_artifacts, photo):
    sim, obs = tmp_path / "sim", tmp_path / "obs"
    flags = ["--task", "deblur", "--length", 5, "--angle", 45, "--noise-std", 0.01]
    result = invoke(tiny_artifacts[1], photo, *flags, "--simulate", "-o", sim,
                    "--save-measurements", *FAST)
    assert result.exit_code == 0, result.output
    observed = sim / "astronaut_observed.png"
    with Image.open(observed) as img:
        assert img.size == (16, 16)
    result = invoke(tiny_artifacts[1], observed, *flags, "-o", obs, "--report",
                    tmp_path / "b.json", *FAST)
    assert result.exit_code == 0, result.output
    assert (obs / "astronaut_observed.png").is_file()


def test_cli_bad_kernel_file_is_one_sentence(tmp_path, tiny_artifacts, photo):
    bad = tmp_path / "kernel.npy"
    bad.write_text("not an array")
    result = invoke(tiny_artifacts[1], photo, "--task", "deblur", "--kernel", bad, "--simulate",
                    "-o", tmp_path / "out", *FAST)
    one_sentence_error(result, "--kernel", "kernel.npy", "not a readable .npy")
    good = tmp_path / "good.npy"
    np.save(good, np.ones((3, 3)) / 9)
    result = invoke(tiny_artifacts[1], photo, "--task", "deblur", "--kernel", good, "--sigma", 2,
                    "--simulate", "-o", tmp_path / "out", *FAST)
    one_sentence_error(result, "--kernel/--sigma", "give one kernel")
