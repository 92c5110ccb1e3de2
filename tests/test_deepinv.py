"""DeepInverse interoperability: deepinv's physics as gs operators and gs as its
reconstructor, against gs's own operators on the same matrices, masks and filters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

deepinv = pytest.importorskip("deepinv", reason="the gs[deepinv] extra is not installed")

from gs import artifacts  # noqa: E402
from gs.errors import UserInputError  # noqa: E402
from gs.interop.deepinv import GSReconstructor, from_physics, noise_std_of  # noqa: E402
from gs.methods import build_method  # noqa: E402
from gs.operators import GaussianCS, Operator, RandomInpainting, SuperResolution  # noqa: E402
from gs.operators.blur import Blur  # noqa: E402
from gs.operators.mri import MRI  # noqa: E402
from gs.problems import Problem, simulate  # noqa: E402
from gs.seeding import Stream, problem_rng  # noqa: E402
from gs.testing.tolerances import assert_within, rounding_bound  # noqa: E402

physics = deepinv.physics
pytestmark = pytest.mark.usefixtures("one_thread")


def cs_pair(shape):
    op = GaussianCS(max(1, round(0.3 * np.prod(shape))), shape, problem_rng(0, 0, Stream.OPERATOR))
    twin = physics.CompressedSensing(m=op.measurement_size, img_size=shape,
                                     noise_model=physics.GaussianNoise(sigma=op.noise_std))
    twin._A = torch.from_numpy(np.array(op.matrix))
    # The transposed view, not a contiguous copy, so that deepinv's adjoint sums in gs's
    # order: the recoveries are compared to 1e-4, and a surgery solve amplifies
    # rounding-level differences in its gradient (1e-7 relative) into a different
    # line-search step and best iterate on some problems, this one included.
    twin._A_adjoint = twin._A.T
    return op, twin, None


def inpaint_pair(shape):
    op = RandomInpainting(0.4, shape, problem_rng(0, 0, Stream.OPERATOR), noise_std=0.01)
    mask = torch.from_numpy(np.broadcast_to(op.mask, shape).astype(np.float32).copy())
    twin = physics.Inpainting(img_size=shape, mask=mask,
                              noise_model=physics.GaussianNoise(sigma=0.01))
    return op, twin, None


def sr_pair(scale):
    def pair(shape):
        op = SuperResolution(scale, shape, "area")
        box = torch.full((1, 1, scale, scale), 1.0 / scale**2)
        return op, physics.Downsampling(img_size=shape, filter=box, factor=scale,
                                        padding="valid"), None
    return pair


def blur_pair(shape):
    op = Blur(shape, length=5, angle=30, noise_std=0.01)
    kernel = torch.from_numpy(op.kernel.astype(np.float32))[None, None]
    return op, physics.BlurFFT(img_size=shape, filter=kernel,
                               noise_model=physics.GaussianNoise(sigma=0.01)), None


def mri_pair(shape):
    """deepinv's MRI on gs's mask. Its centred FFT also centres the image (ifftshift
    first), which on even sides multiplies gs's k-space by (-1)^(row + column + H/2 +
    W/2): the pair's sign, an orthogonal diagonal, so the same least-squares problem."""
    op = MRI(4, shape, problem_rng(0, 0, Stream.OPERATOR), noise_std=0.01)
    twin = physics.MRI(mask=torch.from_numpy(op.mask[0].copy()), img_size=(2, *shape[1:]),
                       noise_model=physics.GaussianNoise(sigma=0.01))
    _, height, width = shape
    parity = np.add.outer(np.arange(height), np.arange(width)) + height // 2 + width // 2
    return op, twin, np.where(parity % 2 == 0, 1, -1).astype(np.float32)


PAIRS = {"cs": cs_pair, "inpaint": inpaint_pair, "sr2-area": sr_pair(2),
         "sr4-area": sr_pair(4), "blur": blur_pair, "mri": mri_pair}
SHAPE = (3, 16, 16)


@pytest.fixture(params=sorted(PAIRS))
def pair(request) -> tuple[Operator, Operator, np.ndarray | None]:
    op, twin, sign = PAIRS[request.param](SHAPE)
    return op, from_physics(twin, SHAPE), sign


def test_physics_and_gs_operator_agree_within_float32_rounding(pair):
    op, wrapped, sign = pair
    sign = np.float32(1) if sign is None else sign
    assert wrapped.measurement_shape == op.measurement_shape
    # deepinv keeps sigma in float32
    assert wrapped.noise_std == pytest.approx(op.noise_std, rel=float(np.finfo(np.float32).eps))
    rng = np.random.default_rng(1)
    x = rng.random((2, *SHAPE)).astype(np.float32)
    y = rng.standard_normal((2, *op.measurement_shape)).astype(np.float32)
    # Each side is a float32 evaluation of the same sums: within twice one side's bound.
    for backend in (np.asarray, torch.from_numpy):
        assert_within(wrapped.A(backend(x)), sign * op.A(x),
                      2 * rounding_bound(op, x, np.float32), "A")
        assert_within(wrapped.A_adjoint(backend(y)), op.A_adjoint(sign * y),
                      2 * rounding_bound(op, y, np.float32, adjoint=True), "A_adjoint")
    np.testing.assert_array_equal(wrapped.measurement_groups(), op.measurement_groups())
    out = wrapped.A(torch.from_numpy(x).double())
    assert out.dtype == torch.float64 and isinstance(out, torch.Tensor)


def test_autograd_flows_through_the_physics(pair):
    _, wrapped, _ = pair
    x = torch.rand(2, *SHAPE, requires_grad=True)
    (wrapped.A(x) ** 2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_noise_models():
    shape = (1, 8, 8)
    assert noise_std_of(physics.Denoising(noise_model=physics.GaussianNoise(sigma=0.05))) == \
        pytest.approx(0.05)
    assert noise_std_of(physics.Inpainting(img_size=shape, mask=0.5)) == 0.0
    assert noise_std_of(physics.Denoising(noise_model=physics.ZeroNoise())) == 0.0
    with pytest.raises(UserInputError, match="noise model PoissonNoise, which gs cannot") as info:
        from_physics(physics.Denoising(noise_model=physics.PoissonNoise(gain=1.0)), shape)
    assert info.value.field == "physics" and "\n" not in str(info.value)
    with pytest.raises(UserInputError, match="must be a deepinv LinearPhysics"):
        from_physics(physics.Physics(A=lambda x: x**2), shape)


@pytest.fixture(scope="module")
def artifact(tiny_artifacts: dict[int, Path]):
    return artifacts.load(tiny_artifacts[1])


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_the_same_recovery_through_deepinv_and_gs(name, artifact, photo):
    """gs's surgery on gs's operator and deepinv's model(y, physics) on its twin physics
    give the same recovery: the same settings, held-out entries and starts."""
    from PIL import Image

    shape = artifact.metadata.image_shape
    op, twin, sign = PAIRS[name](shape)
    side = shape[1]
    image = np.asarray(Image.open(photo).convert("RGB").resize((side, side)),
                       dtype=np.float32).transpose(2, 0, 1) / 255
    y = simulate(image, op, problem_rng(0, 0, Stream.NOISE))
    overrides = {"steps": 4, "restarts": 2, "answer": "generator"}
    settings = artifact.metadata.settings_for("cs").override(**overrides)
    ours = build_method("surgery", task="cs", artifact=artifact, settings=settings).solve(
        [Problem(Path("photo"), 0, op, y)], seed=0)[0].image
    model = GSReconstructor(artifact, task="cs", seed=0, **overrides)
    theirs = model(torch.from_numpy(y if sign is None else sign * y)[None], twin)
    assert theirs.shape == (1, *shape) and theirs.dtype == torch.float32
    # One float32 solve against another whose A differs by rounding only: the iterates
    # stay within a few float32 steps of each other over these few L-BFGS iterations.
    np.testing.assert_allclose(theirs[0].numpy(), ours, atol=1e-4)


def test_the_reconstructor_refuses_onnx(onnx_c2):
    with pytest.raises(UserInputError, match="must be a TorchScript artifact") as info:
        GSReconstructor(onnx_c2)
    assert info.value.field == "artifact"
