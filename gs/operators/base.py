"""The one operator base: subclasses give ``A`` and ``A_adjoint``, the rest is shared.

Every operator maps a batch of images ``x`` of shape ``(B, C, H, W)`` (float, values
nominally in [0, 1]) to measurements of shape ``(B, *measurement_shape)``; the same
operator applies to every item of the batch. The code is written once against the array
API (``xp = array_namespace(x)``) so that the torch runtime and the torch-free runtime
(numpy + onnxruntime) share it; this package never imports torch.

Constant arrays (matrix, mask, weights, signs) are kept as numpy arrays and converted to
the input's namespace, device and dtype on use (float64 inputs get a float64 constant),
with a small per-operator cache so that the torch path uploads each constant once per
(namespace, device, dtype).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import array_api_compat
import numpy as np
from array_api_compat import array_namespace

from gs.operators.noise import GaussianNoise
from gs.operators.validation import as_image_shape, field_error

_CACHE_SIZE = 8  # (constant, namespace, device, dtype) entries kept per operator


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (what properties hand out)."""
    view = array.view()
    view.flags.writeable = False
    return view


class Operator:
    """A linear forward model ``y = A(x) + noise``, the noise model kept apart from ``A``.

    Subclasses set the class attributes below and override :meth:`A`,
    :meth:`A_adjoint` and :attr:`measurement_shape` (and :meth:`_params` for
    :meth:`spec`); :meth:`measure`, :meth:`vjp`, :meth:`norm`, :meth:`spec`, validation
    and the constant cache come from here. The task registry
    (:mod:`gs.operators.registry`) builds operators through :meth:`from_options` and
    :meth:`from_spec`.

    Class attributes:
        task: the task this operator solves (``cs``, ``inpaint``...).
        name: the operator's name within its task (``gaussian``, ``structured``...).
        parameters: constructor arguments recorded in :meth:`spec` (besides
            ``image_shape`` and ``noise_std``); the factory options of the same names.
        optional_parameters: spec keys that may be present (an explicit mask).
        defaults: default of each factory option (``noise_std`` included; ``None``
            there means the operator's own formula).
        random: whether the constructor draws from an ``rng`` argument.

    Args:
        image_shape: ``(C, H, W)`` of one image.
        noise_std: standard deviation of the additive Gaussian measurement noise
            (non-negative, in the units of ``A(x)``); None uses ``defaults["noise_std"]``.
    """

    task: ClassVar[str] = ""
    name: ClassVar[str] = ""
    parameters: ClassVar[tuple[str, ...]] = ()
    optional_parameters: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[Mapping[str, Any]] = {"noise_std": 0.0}
    random: ClassVar[bool] = False

    def __init__(self, image_shape: tuple[int, int, int], noise_std: float | None = None) -> None:
        self._image_shape = as_image_shape(image_shape)
        self._noise = GaussianNoise(self.defaults["noise_std"] if noise_std is None else noise_std)
        self._cache: dict[tuple[Any, ...], Any] = {}

    # ----------------------------------------------------------------- shapes
    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return self._image_shape

    @property
    def image_size(self) -> int:
        """``n = C * H * W``, the number of unknowns per image."""
        return math.prod(self._image_shape)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        """Shape of one measurement, without the batch dimension."""
        raise NotImplementedError

    @property
    def measurement_size(self) -> int:
        """Number of measurements per image (``m`` for compressed sensing)."""
        return math.prod(self.measurement_shape)

    @property
    def noise(self) -> GaussianNoise:
        """The noise model :meth:`measure` applies after ``A``."""
        return self._noise

    @property
    def noise_std(self) -> float:
        """Standard deviation of the measurement noise added by :meth:`measure`."""
        return self._noise.std

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

    def vjp(self, x: Any, v: Any) -> Any:
        """Vector–Jacobian product ``(∂A/∂x)ᵀ v`` at ``x``: ``A_adjoint(v)`` (A is linear)."""
        self._check(x, self._image_shape, "images")
        return self.A_adjoint(v)

    def measure(self, x: Any, rng: np.random.Generator) -> Any:
        """Noisy measurements ``noise(A(x))`` of images ``x`` ``(B, C, H, W)``.

        See :class:`~gs.operators.noise.GaussianNoise` for how ``rng`` is used. Returns an
        array of shape ``(B, *measurement_shape)`` like ``x``.
        """
        return self._noise(self.A(x), rng)

    def measurement_groups(self) -> np.ndarray:
        """(m,) int64: which entries of the flattened y are held out together, and which
        carry no information (-1: never held out).

        A held-out entry must not be predictable from the entries the fit sees. By
        default every entry stands alone (compressed sensing: each row is an independent
        projection); operators whose y is an image group each pixel's channels, which a
        fit would otherwise read off one another (on a grey photo, exactly).
        """
        return np.arange(self.measurement_size, dtype=np.int64)

    def consistent(self, x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """The image nearest ``x`` (C, H, W) whose noise-free measurements are exactly
        ``y``: ``x + Aᵀ (A Aᵀ)⁻¹ (y − A x)``, where ``A Aᵀ`` is diagonal and so cheap;
        None for operators where it is not (compressed sensing) or that measure
        everything (then it would return y itself, noise and all)."""
        return None

    # ------------------------------------------------------------- for people
    def preview(self, y: np.ndarray) -> np.ndarray:
        """What a person can look at of one observation ``y`` (``measurement_shape``):
        a float32 ``(C, H, W)`` image in [0, 1].

        Here the back-projection ``Aᵀy`` stretched over its 1st-99th percentiles: for
        compressed sensing it is not an image a person can read, which is the point of
        the method. Operators whose ``y`` is image-like show it as it is.
        """
        back = np.asarray(self.A_adjoint(np.asarray(y, dtype=np.float32)[None])[0],
                          dtype=np.float32)
        low, high = np.percentile(back, [1, 99])
        return np.clip((back - low) / max(float(high - low), 1e-12), 0, 1).astype(np.float32)

    def describe(self) -> str:
        """A short caption of this forward model, e.g. ``CS m/n = 10 %`` or ``SR x4``."""
        return f"{self.task} ({self.name})"

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        """Estimate of the spectral norm ``||A||_2`` by power iteration on ``AᵀA``.

        Runs in numpy float32 on one image; ``rng`` draws the start vector (a
        generator seeded with 0 when omitted, so the estimate is deterministic).
        Subclasses with a closed form override it. Matrix-free solvers use it for
        their step size (``1 / ||A||²``); the deterministic estimate (no ``rng``) is
        computed once per operator, as it costs as much as a hundred solver steps.
        """
        if rng is None:
            estimates = self.__dict__.setdefault("_norm_estimates", {})
            if iterations not in estimates:
                estimates[iterations] = self.norm(iterations, np.random.default_rng(0))
            return estimates[iterations]
        gen = rng
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

    # ------------------------------------------------------------ construction
    @classmethod
    def build(cls, image_shape: tuple[int, int, int], rng: np.random.Generator,
              noise_std: float | None, **params: Any) -> Operator:
        """``cls(**params, image_shape=..., noise_std=...)``, passing ``rng`` if it draws."""
        if cls.random:
            params["rng"] = rng
        return cls(image_shape=image_shape, noise_std=noise_std, **params)

    @classmethod
    def from_options(cls, image_shape: tuple[int, int, int], rng: np.random.Generator,
                     options: Mapping[str, Any]) -> Operator:
        """Build from factory options (every name in :attr:`parameters` and ``noise_std``,
        defaults already filled in by the registry)."""
        params = {name: options[name] for name in cls.parameters}
        return cls.build(image_shape, rng, options["noise_std"], **params)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], rng: np.random.Generator) -> Operator:
        """Rebuild from :meth:`spec` output whose keys the registry has checked."""
        params = {name: spec[name] for name in cls.parameters}
        return cls.build(as_image_shape(spec["image_shape"]), rng, spec["noise_std"], **params)

    # ----------------------------------------------------------- serialisation
    def _params(self) -> dict[str, Any]:
        """The subclass's own constructor parameters (JSON-able), rng excluded."""
        return {}

    def spec(self) -> dict[str, Any]:
        """JSON-able description: task, operator name, constructor parameters but the rng.

        Together with a generator seeded like the one given to the constructor,
        :func:`gs.operators.operator_from_spec` rebuilds an identical operator from it.
        It never holds a matrix: random parts are redrawn from the generator.
        """
        return {
            "task": self.task,
            "operator": self.name,
            **self._params(),
            "image_shape": list(self._image_shape),
            "noise_std": self.noise_std,
        }

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={v!r}" for k, v in self.spec().items() if k not in ("task", "operator", "mask")
        )
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- helpers
    def _constant(self, name: str, source: np.ndarray, like: Any, dtype: Any = None) -> Any:
        """``source`` (numpy) as an array of ``like``'s namespace and device.

        Its dtype is ``dtype`` (a dtype of that namespace) or else ``like``'s. Cached
        per (name, namespace, device, dtype); at most ``_CACHE_SIZE`` entries.
        """
        xp = array_namespace(like)
        dev = array_api_compat.device(like)
        dtype = like.dtype if dtype is None else dtype
        key = (name, xp, dev, dtype)
        value = self._cache.get(key)
        if value is None:
            value = xp.asarray(source, dtype=dtype, device=dev)
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


def pixel_groups(shape: tuple[int, ...]) -> np.ndarray:
    """(C·H·W,) int64 groups of a (C, H, W) measurement: one per pixel, all channels."""
    _, h, w = shape
    return np.broadcast_to(np.arange(h * w, dtype=np.int64).reshape(1, h, w), shape).reshape(-1)


__all__ = ["Operator", "field_error", "pixel_groups", "read_only"]
