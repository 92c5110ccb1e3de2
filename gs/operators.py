"""Forward models ``A`` and their adjoints, one code path for numpy and torch arrays.

Every operator maps a batch of images ``x`` of shape ``(B, C, H, W)`` (float, values
nominally in [0, 1]) to measurements of shape ``(B, *measurement_shape)``; the same
operator applies to every item of the batch. The code is written once against the
array API (``xp = array_namespace(x)``) so that the torch runtime and the torch-free
runtime (numpy + onnxruntime) share it; this module never imports torch.

Constant arrays (matrix, mask, weights) are kept as numpy float32 and converted to
the input's namespace, device and dtype on use (float64 inputs get a float64
constant), with a small per-operator cache so that the torch path uploads each
constant once per (namespace, device, dtype).

Randomness comes only from explicit ``numpy.random.Generator`` arguments, so the
same generator yields the same operator and the same noise for numpy and torch.
Each operator's :meth:`Operator.spec` plus a generator seeded the same way rebuilds
it with :func:`operator_from_spec`.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np
from array_api_compat import array_namespace

from gs.errors import UserInputError
from gs.settings import TASKS

__all__ = [
    "Denoising",
    "GaussianCS",
    "Operator",
    "RandomInpainting",
    "SuperResolution",
    "make_operator",
    "operator_from_spec",
]

#: Reference dimension of the paper's noise level (3 x 64 x 64 images).
CS_REFERENCE_SIZE = 12288
#: Noise std per measurement of the paper's setting at ``m = n = CS_REFERENCE_SIZE``.
CS_REFERENCE_NOISE = 0.1
SR_SCALES = (2, 4, 8)
SR_METHODS = ("bilinear", "area")

_CACHE_SIZE = 8  # (constant, namespace, device, dtype) entries kept per operator
_DRAW_CHUNK_VALUES = 1 << 22  # float64 values drawn at once for the CS matrix


def _as_image_shape(image_shape: Any) -> tuple[int, int, int]:
    """Validate and normalise ``(C, H, W)``."""
    try:
        shape = tuple(int(s) for s in image_shape)
        ok = len(shape) == 3 and all(
            s > 0 and s == v for s, v in zip(shape, image_shape, strict=True)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise UserInputError(
            f"image shape must be three positive integers (C, H, W), got {image_shape!r}"
        )
    return shape  # type: ignore[return-value]


def _as_noise_std(noise_std: Any) -> float:
    try:
        value = float(noise_std)
    except (TypeError, ValueError):
        value = float("nan")
    if not (math.isfinite(value) and value >= 0):
        raise UserInputError(f"--noise-std must be a non-negative number, got {noise_std!r}")
    return value


def _as_int(value: Any) -> int | None:
    """``value`` as an int if it is an integer (not a bool), else None."""
    if isinstance(value, bool):
        return None
    try:
        as_int = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return as_int if as_int == value else None


def _draw_gaussian_matrix(
    rng: np.random.Generator, m: int, n: int, chunk_rows: int | None = None
) -> np.ndarray:
    """``(rng.standard_normal((m, n)) / sqrt(m)).astype(float32)``, drawn in row blocks.

    numpy fills ``standard_normal`` in C order from one stream, so drawing row blocks
    in sequence gives exactly the values of the one-shot draw without its float64
    temporary of ``m * n`` values.
    """
    if chunk_rows is None:
        chunk_rows = max(1, _DRAW_CHUNK_VALUES // n)
    matrix = np.empty((m, n), dtype=np.float32)
    scale = math.sqrt(m)
    for start in range(0, m, chunk_rows):
        stop = min(m, start + chunk_rows)
        matrix[start:stop] = rng.standard_normal((stop - start, n)) / scale
    return matrix


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class Operator:
    """A linear forward model ``y = A(x) + noise_std * e``, ``e ~ N(0, I)``.

    Subclasses set :attr:`task` and override :meth:`A`, :meth:`A_adjoint` and
    :attr:`measurement_shape` (and ``_params`` for :meth:`spec`); everything else is
    shared.

    Args:
        image_shape: ``(C, H, W)`` of one image.
        noise_std: standard deviation of the additive Gaussian measurement noise
            (non-negative, in the units of ``A(x)``).
    """

    task: str = ""

    def __init__(self, image_shape: tuple[int, int, int], noise_std: float) -> None:
        self._image_shape = _as_image_shape(image_shape)
        self._noise_std = _as_noise_std(noise_std)
        self._cache: dict[tuple[Any, ...], Any] = {}

    # ----------------------------------------------------------------- shapes
    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return self._image_shape

    @property
    def noise_std(self) -> float:
        """Standard deviation of the measurement noise added by :meth:`measure`."""
        return self._noise_std

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        """Shape of one measurement, without the batch dimension."""
        raise NotImplementedError

    # ---------------------------------------------------------------- the model
    def A(self, x: Any) -> Any:  # noqa: N802 - the conventional name
        """Noise-free forward model: ``(B, C, H, W)`` -> ``(B, *measurement_shape)``.

        The output has ``x``'s namespace, device and floating dtype.
        """
        raise NotImplementedError

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802 - the conventional name
        """Adjoint of :meth:`A`: ``(B, *measurement_shape)`` -> ``(B, C, H, W)``.

        The output has ``y``'s namespace, device and floating dtype.
        """
        raise NotImplementedError

    def measure(self, x: Any, rng: np.random.Generator) -> Any:
        """Noisy measurements ``A(x) + noise_std * e`` of images ``x`` ``(B, C, H, W)``.

        ``e`` is drawn as ``rng.standard_normal(A(x).shape)`` (float64, then cast to
        ``x``'s namespace, dtype and device), always, even when ``noise_std`` is 0, so
        that the generator advances the same way for every noise level and backend.
        Returns an array of shape ``(B, *measurement_shape)`` like ``x``.
        """
        y = self.A(x)
        xp = array_namespace(y)
        noise = rng.standard_normal(tuple(int(s) for s in y.shape))
        noise = xp.asarray(noise, dtype=y.dtype, device=array_api_compat.device(y))
        return y + self._noise_std * noise

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        """Estimate of the spectral norm ``||A||_2`` by power iteration on ``AᵀA``.

        Runs in numpy float32 on one image; ``rng`` draws the start vector (a
        generator seeded with 0 when omitted, so the estimate is deterministic).
        Subclasses with a closed form override it.
        """
        gen = rng if rng is not None else np.random.default_rng(0)
        v = gen.standard_normal((1, *self._image_shape)).astype(np.float32)
        v /= np.float32(np.linalg.norm(v))
        estimate = 0.0
        for _ in range(max(1, int(iterations))):
            w = self.A_adjoint(self.A(v))
            value = float(np.linalg.norm(w))
            if value == 0.0:
                return 0.0
            v = (w / np.float32(value)).astype(np.float32)
            converged = abs(value - estimate) <= 1e-7 * value
            estimate = value
            if converged:
                break
        return math.sqrt(estimate)

    # ----------------------------------------------------------- serialisation
    def _params(self) -> dict[str, Any]:
        """The subclass's own constructor parameters (JSON-able), rng excluded."""
        return {}

    def spec(self) -> dict[str, Any]:
        """JSON-able description: ``task``, the constructor parameters except the rng.

        Together with a generator seeded like the one given to the constructor,
        :func:`operator_from_spec` rebuilds an identical operator from it.
        """
        return {
            "task": self.task,
            **self._params(),
            "image_shape": list(self._image_shape),
            "noise_std": self._noise_std,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.spec().items() if k not in ("task", "mask"))
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- helpers
    def _constant(self, name: str, source: np.ndarray, like: Any) -> Any:
        """``source`` (numpy) as an array of ``like``'s namespace, device and dtype.

        Cached per (name, namespace, device, dtype); at most ``_CACHE_SIZE`` entries.
        """
        xp = array_namespace(like)
        dev = array_api_compat.device(like)
        key = (name, xp, dev, like.dtype)
        value = self._cache.get(key)
        if value is None:
            value = xp.asarray(source, dtype=like.dtype, device=dev)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = value
        return value

    def _check(self, array: Any, shape: tuple[int, ...], what: str) -> Any:
        """Validate a batch ``(B, *shape)`` of floats; return its namespace."""
        xp = array_namespace(array)
        if array.ndim != len(shape) + 1 or tuple(int(s) for s in array.shape[1:]) != shape:
            raise ValueError(
                f"{type(self).__name__} expects {what} of shape (B, {', '.join(map(str, shape))}), "
                f"got {tuple(int(s) for s in array.shape)}"
            )
        if not xp.isdtype(array.dtype, "real floating"):
            raise TypeError(
                f"{type(self).__name__} expects floating-point {what}, got {array.dtype}"
            )
        return xp


class GaussianCS(Operator):
    """Compressed sensing with a dense Gaussian matrix (task ``cs``).

    ``A`` is an ``m x n`` float32 matrix with i.i.d. ``N(0, 1/m)`` entries, drawn as
    ``rng.standard_normal((m, n)) / sqrt(m)``, applied to the CHW-flattened image
    (``n = C * H * W``): ``y = A vec(x)`` of shape ``(B, m)``.

    Args:
        measurements: ``m``, between 1 and ``n``.
        image_shape: ``(C, H, W)``.
        rng: draws the matrix.
        noise_std: noise std per measurement; None uses the paper's level
            ``0.1 * sqrt(n / (m * 12288))``.
    """

    task = "cs"

    def __init__(
        self,
        measurements: int,
        image_shape: tuple[int, int, int],
        rng: np.random.Generator,
        noise_std: float | None = None,
    ) -> None:
        shape = _as_image_shape(image_shape)
        n = shape[0] * shape[1] * shape[2]
        m = _as_int(measurements)
        if m is None or not 1 <= m <= n:
            raise UserInputError(f"--measurements must be between 1 and {n}, got {measurements!r}")
        if noise_std is None:
            noise_std = self.default_noise_std(m, n)
        super().__init__(shape, noise_std)
        self._m = m
        self._n = n
        self._matrix = _draw_gaussian_matrix(rng, m, n)

    @staticmethod
    def default_noise_std(measurements: int, size: int) -> float:
        """The paper's noise std per measurement: ``0.1 * sqrt(n / (m * 12288))``."""
        return CS_REFERENCE_NOISE * math.sqrt(size / (measurements * CS_REFERENCE_SIZE))

    @property
    def measurements(self) -> int:
        return self._m

    @property
    def matrix(self) -> np.ndarray:
        """The ``(m, n)`` float32 sensing matrix (read-only view)."""
        return _read_only(self._matrix)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        return (self._m,)

    def A(self, x: Any) -> Any:  # noqa: N802
        xp = self._check(x, self._image_shape, "images")
        matrix = self._constant("matrix", self._matrix, x)
        flat = xp.reshape(x, (x.shape[0], self._n))
        return xp.matmul(flat, xp.permute_dims(matrix, (1, 0)))

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        xp = self._check(y, (self._m,), "measurements")
        matrix = self._constant("matrix", self._matrix, y)
        return xp.reshape(xp.matmul(y, matrix), (y.shape[0], *self._image_shape))

    def _params(self) -> dict[str, Any]:
        return {"measurements": self._m}


class RandomInpainting(Operator):
    """Inpainting with a random pixel mask (task ``inpaint``): ``y = mask ⊙ x``.

    The ``(H, W)`` mask is shared by all channels and keeps exactly
    ``round(keep * H * W)`` pixels (Python's round, at least 1), the first ones of
    ``rng.permutation(H * W)``. Measurements have the image's shape, zero where
    dropped; the adjoint is the same masking.

    Args:
        keep: fraction of pixels observed, in (0, 1].
        image_shape: ``(C, H, W)``.
        rng: draws the mask.
        noise_std: measurement noise std (default 0).
    """

    task = "inpaint"

    def __init__(
        self,
        keep: float,
        image_shape: tuple[int, int, int],
        rng: np.random.Generator,
        noise_std: float = 0.0,
    ) -> None:
        try:
            keep_value = float(keep)
        except (TypeError, ValueError):
            keep_value = float("nan")
        if not 0 < keep_value <= 1:
            raise UserInputError(f"--keep must be in (0, 1], got {keep!r}")
        shape = _as_image_shape(image_shape)
        super().__init__(shape, noise_std)
        pixels = shape[1] * shape[2]
        kept = max(1, int(round(keep_value * pixels)))
        flat = np.zeros(pixels, dtype=bool)
        flat[rng.permutation(pixels)[:kept]] = True
        self._set_mask(flat.reshape(shape[1], shape[2]))
        self._keep = keep_value
        self._explicit = False

    @classmethod
    def from_mask(
        cls, mask: np.ndarray, image_shape: tuple[int, int, int], noise_std: float = 0.0
    ) -> RandomInpainting:
        """Inpainting with a given ``(H, W)`` mask of bools or 0/1 values (1 = kept)."""
        shape = _as_image_shape(image_shape)
        array = np.asarray(mask)
        if array.shape != shape[1:]:
            raise UserInputError(
                f"the inpainting mask must have shape {shape[1:]}, got {array.shape}"
            )
        if array.dtype != bool:
            if not np.all((array == 0) | (array == 1)):
                raise UserInputError("the inpainting mask must contain only 0 and 1 values")
            array = array == 1
        if not array.any():
            raise UserInputError("the inpainting mask must keep at least one pixel")
        self = cls.__new__(cls)
        Operator.__init__(self, shape, noise_std)
        self._set_mask(array.copy())
        self._keep = float(array.sum()) / array.size
        self._explicit = True
        return self

    def _set_mask(self, mask: np.ndarray) -> None:
        self._mask = mask
        self._weights = mask.astype(np.float32)

    @property
    def keep(self) -> float:
        """Requested (or, for an explicit mask, actual) fraction of kept pixels."""
        return self._keep

    @property
    def mask(self) -> np.ndarray:
        """The ``(H, W)`` bool mask, True where the pixel is observed (read-only view)."""
        return _read_only(self._mask)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        return self._image_shape

    def A(self, x: Any) -> Any:  # noqa: N802
        self._check(x, self._image_shape, "images")
        return x * self._constant("mask", self._weights, x)

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        self._check(y, self._image_shape, "measurements")
        return y * self._constant("mask", self._weights, y)

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        return 1.0 if self._mask.any() else 0.0

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"keep": self._keep}
        if self._explicit:
            params["mask"] = np.packbits(self._mask.ravel()).tobytes().hex()
        return params


class SuperResolution(Operator):
    """Downsampling by an integer factor ``s`` (task ``sr``).

    Each ``s x s`` block of the image is reduced to one pixel by a weighted sum with an
    ``s x s`` kernel ``w``: ``(B, C, H, W)`` -> ``(B, C, H/s, W/s)``; the adjoint spreads
    each measurement over its block times ``w``.

    ``area``: ``w = 1/s²`` (``F.avg_pool2d(x, s)``). ``bilinear``: ``w = 1/4`` on the
    central 2 x 2 pixels of the block, 0 elsewhere, which is exactly
    ``F.interpolate(x, scale_factor=1/s, mode="bilinear", align_corners=False)``
    without antialiasing.

    Args:
        scale: 2, 4 or 8, dividing ``H`` and ``W``.
        image_shape: ``(C, H, W)``.
        method: ``bilinear`` or ``area``.
        noise_std: measurement noise std (default 0).
    """

    task = "sr"

    def __init__(
        self,
        scale: int,
        image_shape: tuple[int, int, int],
        method: str = "bilinear",
        noise_std: float = 0.0,
    ) -> None:
        s = _as_int(scale)
        if s not in SR_SCALES:
            raise UserInputError(
                f"--scale must be one of {', '.join(map(str, SR_SCALES))}, got {scale!r}"
            )
        if method not in SR_METHODS:
            raise UserInputError(f"--method must be one of {', '.join(SR_METHODS)}, got {method!r}")
        shape = _as_image_shape(image_shape)
        if shape[1] % s or shape[2] % s:
            raise UserInputError(
                f"--scale {s} must divide the image height and width, got {shape[1]}x{shape[2]}"
            )
        super().__init__(shape, noise_std)
        self._scale = s
        self._method = method
        if method == "area":
            kernel = np.full((s, s), 1.0 / (s * s), dtype=np.float32)
        else:
            kernel = np.zeros((s, s), dtype=np.float32)
            kernel[s // 2 - 1 : s // 2 + 1, s // 2 - 1 : s // 2 + 1] = 0.25
        self._kernel = kernel
        self._kernel6 = kernel.reshape(1, 1, 1, s, 1, s)

    @property
    def scale(self) -> int:
        return self._scale

    @property
    def method(self) -> str:
        return self._method

    @property
    def kernel(self) -> np.ndarray:
        """The ``(s, s)`` float32 block weights (read-only view)."""
        return _read_only(self._kernel)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        c, h, w = self._image_shape
        return (c, h // self._scale, w // self._scale)

    def A(self, x: Any) -> Any:  # noqa: N802
        xp = self._check(x, self._image_shape, "images")
        c, h, w = self.measurement_shape
        s = self._scale
        blocks = xp.reshape(x, (x.shape[0], c, h, s, w, s))
        return xp.sum(blocks * self._constant("kernel", self._kernel6, x), axis=(3, 5))

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        xp = self._check(y, self.measurement_shape, "measurements")
        c, h, w = self.measurement_shape
        spread = xp.reshape(y, (y.shape[0], c, h, 1, w, 1)) * self._constant(
            "kernel", self._kernel6, y
        )
        return xp.reshape(spread, (y.shape[0], *self._image_shape))

    def upsample(self, y: Any) -> Any:
        """Nearest-neighbour upsampling of ``(B, C, H/s, W/s)`` to ``(B, C, H, W)``.

        A simple right inverse of ``A`` for constant blocks, e.g. for display.
        """
        xp = self._check(y, self.measurement_shape, "measurements")
        c, h, w = self.measurement_shape
        s = self._scale
        ones = self._constant("ones", np.ones((1, 1, 1, s, 1, s), dtype=np.float32), y)
        return xp.reshape(
            xp.reshape(y, (y.shape[0], c, h, 1, w, 1)) * ones, (y.shape[0], *self._image_shape)
        )

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        # A Aᵀ = ||w||² I because the blocks do not overlap.
        return float(np.sqrt(np.sum(self._kernel.astype(np.float64) ** 2)))

    def _params(self) -> dict[str, Any]:
        return {"scale": self._scale, "method": self._method}


class Denoising(Operator):
    """Denoising (task ``denoise``): ``A`` is the identity, ``y = x + noise_std * e``.

    Args:
        image_shape: ``(C, H, W)``.
        noise_std: noise std, non-negative (default 0.1).
    """

    task = "denoise"

    def __init__(self, image_shape: tuple[int, int, int], noise_std: float = 0.1) -> None:
        super().__init__(image_shape, noise_std)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        return self._image_shape

    def A(self, x: Any) -> Any:  # noqa: N802
        """Returns ``x`` itself (no copy)."""
        self._check(x, self._image_shape, "images")
        return x

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        """Returns ``y`` itself (no copy)."""
        self._check(y, self._image_shape, "measurements")
        return y

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        return 1.0


def make_operator(
    task: str,
    image_shape: tuple[int, int, int],
    rng: np.random.Generator,
    *,
    measurements: int | None = None,
    ratio: float | None = None,
    keep: float | None = None,
    scale: int | None = None,
    method: str = "bilinear",
    noise_std: float | None = None,
) -> Operator:
    """Build the operator for ``task`` from CLI-style options.

    ``cs`` needs exactly one of ``measurements`` and ``ratio`` (``m = round(ratio * n)``,
    at least 1, ``ratio`` in (0, 1]); ``inpaint`` uses ``keep`` (default 0.1); ``sr``
    uses ``scale`` (default 4) and ``method``; ``denoise`` uses only ``noise_std``.
    ``noise_std=None`` gives each operator's default. Options of other tasks are
    ignored. ``rng`` draws the random parts (CS matrix, inpainting mask).
    """
    if task not in TASKS:
        raise UserInputError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    shape = _as_image_shape(image_shape)
    if task == "cs":
        if (measurements is None) == (ratio is None):
            raise UserInputError(
                "--measurements/--ratio: give exactly one of the number of measurements "
                "and the measurement ratio for compressed sensing"
            )
        if ratio is not None:
            try:
                ratio_value = float(ratio)
            except (TypeError, ValueError):
                ratio_value = float("nan")
            if not 0 < ratio_value <= 1:
                raise UserInputError(f"--ratio must be in (0, 1], got {ratio!r}")
            measurements = max(1, int(round(ratio_value * shape[0] * shape[1] * shape[2])))
        return GaussianCS(measurements, shape, rng, noise_std)
    if task == "inpaint":
        return RandomInpainting(
            0.1 if keep is None else keep, shape, rng, 0.0 if noise_std is None else noise_std
        )
    if task == "sr":
        return SuperResolution(
            4 if scale is None else scale, shape, method, 0.0 if noise_std is None else noise_std
        )
    return Denoising(shape, 0.1 if noise_std is None else noise_std)


_SPEC_KEYS = {
    "cs": ({"measurements"}, set()),
    "inpaint": ({"keep"}, {"mask"}),
    "sr": ({"scale", "method"}, set()),
    "denoise": (set(), set()),
}


def operator_from_spec(spec: dict[str, Any], rng: np.random.Generator) -> Operator:
    """Rebuild an operator from :meth:`Operator.spec` output.

    ``rng`` must be seeded like the generator the original operator was built with
    (it redraws the CS matrix or the inpainting mask; an explicit inpainting mask is
    stored in the spec instead).
    """
    if not isinstance(spec, dict):
        raise UserInputError(f"operator spec must be a mapping, got {type(spec).__name__}")
    task = spec.get("task")
    if task not in _SPEC_KEYS:
        raise UserInputError(f"operator spec task must be one of {', '.join(TASKS)}, got {task!r}")
    required, optional = _SPEC_KEYS[task]
    required = required | {"image_shape", "noise_std"}
    missing = sorted(required - set(spec))
    unknown = sorted(set(spec) - required - optional - {"task"})
    if missing or unknown:
        raise UserInputError(
            f"operator spec for task {task!r} has missing keys {missing} and unknown keys {unknown}"
        )
    shape = _as_image_shape(spec["image_shape"])
    noise_std = spec["noise_std"]
    if task == "cs":
        return GaussianCS(spec["measurements"], shape, rng, noise_std)
    if task == "inpaint":
        if "mask" in spec:
            return RandomInpainting.from_mask(_decode_mask(spec["mask"], shape), shape, noise_std)
        return RandomInpainting(spec["keep"], shape, rng, noise_std)
    if task == "sr":
        return SuperResolution(spec["scale"], shape, spec["method"], noise_std)
    return Denoising(shape, noise_std)


def _decode_mask(encoded: Any, shape: tuple[int, int, int]) -> np.ndarray:
    pixels = shape[1] * shape[2]
    try:
        packed = np.frombuffer(bytes.fromhex(encoded), dtype=np.uint8)
    except (TypeError, ValueError):
        packed = np.zeros(0, dtype=np.uint8)
    if packed.size != (pixels + 7) // 8:
        raise UserInputError(
            f"operator spec mask must be {(pixels + 7) // 8} hex-encoded bytes for a "
            f"{shape[1]}x{shape[2]} image"
        )
    return np.unpackbits(packed)[:pixels].reshape(shape[1], shape[2]).astype(bool)
