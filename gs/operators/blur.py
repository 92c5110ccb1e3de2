"""Deblurring: circular convolution of each channel with one kernel (task ``deblur``).

``A x = k ⊛ x``, the *circular* convolution: the image is treated as periodic, so a
kernel reaching over one border takes pixels of the opposite one. It is computed by the
2-D FFT as ``Re F⁻¹(K̂ · F x)`` with ``K̂`` the transfer function of the kernel (its
centre ``(kh // 2, kw // 2)`` at the origin, entries beyond the image size wrapped
around), and ``Aᵀ y = Re F⁻¹(conj(K̂) · F y)``, the correlation with the same kernel:
exactly the adjoint, with ``‖A‖ = max |K̂|`` (1 for a non-negative kernel of sum 1).
scikit-image's Wiener filters assume the same periodic model.

Kernels: Gaussian (``sigma`` in pixels), linear motion (``length`` in pixels along
``angle`` degrees), or given values (a ``.png`` normalised to sum 1, or a ``.npy`` used
as it is). The kernel's values are recorded in :meth:`Blur.spec` when they come from a
file, so the spec rebuilds the same operator without the file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from array_api_compat import array_namespace

from gs.errors import UserInputError
from gs.operators.base import Operator, pixel_groups, read_only
from gs.operators.options import (  # noqa: F401 - GAUSSIAN_RADIUS, MAX_KERNEL_SIDE re-exported
    DEFAULT_SIGMA,
    GAUSSIAN_RADIUS,
    MAX_KERNEL_SIDE,
    check_option,
)
from gs.operators.validation import as_image_shape, field_error


def gaussian_kernel(sigma: float) -> np.ndarray:
    """(s, s) float64 samples of ``exp(−r² / 2σ²)`` on the integer grid, ``s = 2·ceil(3σ)+1``,
    normalised to sum 1."""
    radius = max(1, math.ceil(GAUSSIAN_RADIUS * sigma))
    grid = np.arange(-radius, radius + 1, dtype=np.float64)
    profile = np.exp(-(grid**2) / (2 * sigma**2))
    kernel = np.outer(profile, profile)
    return kernel / kernel.sum()


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """(s, s) float64: a centred line segment of ``length`` pixels at ``angle`` degrees
    (counter-clockwise from the +x axis, y up), normalised to sum 1.

    The segment is sampled at 16 points per pixel, each splatted bilinearly onto the
    grid, so a fractional length or any angle gives a smooth kernel;
    ``s = 2·ceil(length / 2) + 1``.
    """
    radius = max(1, math.ceil(length / 2))
    side = 2 * radius + 1
    kernel = np.zeros((side, side), dtype=np.float64)
    count = max(2, int(math.ceil(16 * length)) + 1)
    t = np.linspace(-length / 2, length / 2, count)
    theta = math.radians(angle)
    cols = radius + t * math.cos(theta)
    rows = radius - t * math.sin(theta)
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    fr, fc = rows - r0, cols - c0
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            r, c = np.clip(r0 + dr, 0, side - 1), np.clip(c0 + dc, 0, side - 1)
            np.add.at(kernel, (r, c), wr * wc)
    return kernel / kernel.sum()


def load_kernel(path: str | Path) -> np.ndarray:
    """A kernel file as (kh, kw) float64: a ``.png`` (grey, normalised to sum 1) or a
    ``.npy`` (2-D finite array, used as it is).

    Raises:
        UserInputError: field ``kernel``, one sentence naming the file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if not path.is_file():
            raise UserInputError("does not exist or is not a file", field="kernel", value=path)
        try:
            kernel = np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)
        except Exception:  # noqa: BLE001 - numpy's decoder on a hostile file
            raise UserInputError("is not a readable .npy array", field="kernel",
                                 value=path) from None
    elif suffix == ".png":
        from gs.io import read_image

        kernel = read_image(path, "kernel", channels=1)[0].astype(np.float64)
        total = kernel.sum()
        if total > 0:
            kernel = kernel / total
    else:
        raise UserInputError("must be a .png or .npy kernel", field="kernel", value=path)
    try:
        return as_kernel(kernel)
    except UserInputError as exc:
        raise UserInputError(f"holds a kernel that {exc.problem}", field="kernel",
                             value=path) from None


def as_kernel(values: Any) -> np.ndarray:
    """``values`` as a (kh, kw) float64 kernel: 2-D, finite, sides at most
    :data:`MAX_KERNEL_SIDE`, not summing to zero."""
    try:
        kernel = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        kernel = np.zeros((0, 0))
    if kernel.ndim != 2 or min(kernel.shape) < 1 or max(kernel.shape) > MAX_KERNEL_SIDE:
        raise field_error("kernel", f"must be a 2-D array with sides of 1 to {MAX_KERNEL_SIDE}, "
                                    f"got shape {kernel.shape}")
    if not np.isfinite(kernel).all():
        raise field_error("kernel", "must hold finite values")
    if abs(kernel.sum()) < 1e-12:
        raise field_error("kernel", "must not sum to zero")
    return kernel


def transfer_function(kernel: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) complex128 ``K̂ = F(k̃)``: the kernel wrapped onto the (H, W) grid with its
    centre ``(kh // 2, kw // 2)`` at the origin (what ``skimage.restoration.uft.ir2tf``
    computes for kernels smaller than the image)."""
    h, w = size
    kh, kw = kernel.shape
    rows = (np.arange(kh) - kh // 2) % h
    cols = (np.arange(kw) - kw // 2) % w
    wrapped = np.zeros((h, w), dtype=np.float64)
    np.add.at(wrapped, (rows[:, None], cols[None, :]), kernel)
    return np.fft.fft2(wrapped)


class Blur(Operator):
    """Circular convolution with a kernel (task ``deblur``, operator ``convolution``).

    ``(B, C, H, W)`` -> ``(B, C, H, W)``, every channel with the same kernel (see the
    module docstring). Exactly one kernel source: ``kernel`` values, ``length`` (motion
    at ``angle``) or ``sigma`` (Gaussian; the default, 1.5 px, when none is given).

    Args:
        image_shape: ``(C, H, W)``.
        sigma: Gaussian std in pixels, > 0.
        length: motion blur length in pixels, ≥ 1.
        angle: motion direction in degrees (with ``length``).
        kernel: (kh, kw) kernel values (sides up to 255), used as given.
        noise_std: measurement noise std (None: ``defaults["noise_std"]``, 0.01).
    """

    task = "deblur"
    name = "convolution"
    parameters: ClassVar[tuple[str, ...]] = ("sigma", "length", "angle")
    optional_parameters: ClassVar[tuple[str, ...]] = ("kernel",)
    defaults: ClassVar[Mapping[str, Any]] = {
        "sigma": None, "length": None, "angle": 0.0, "kernel": None, "noise_std": 0.01}

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        sigma: float | None = None,
        length: float | None = None,
        angle: float | None = 0.0,
        kernel: Any = None,
        noise_std: float | None = None,
    ) -> None:
        shape = as_image_shape(image_shape)
        given = [name for name, value in (("kernel", kernel), ("length", length),
                                          ("sigma", sigma)) if value is not None]
        if len(given) > 1:
            raise UserInputError("{" + "}/{".join(given) + "}: give one kernel: a kernel "
                                 "file, a motion length or a Gaussian sigma",
                                 refs=tuple(given))
        angle_value = 0.0 if angle is None else check_option("angle", angle)
        if kernel is not None:
            values = as_kernel(kernel)
        elif length is not None:
            length_value = check_option("length", length)
            values = motion_kernel(length_value, angle_value)
        else:
            sigma_value = DEFAULT_SIGMA if sigma is None else check_option("sigma", sigma)
            values = gaussian_kernel(sigma_value)
            sigma = sigma_value
        super().__init__(shape, noise_std)
        self._sigma = None if sigma is None else float(sigma)
        self._length = None if length is None else float(length)
        self._angle = angle_value
        self._explicit = kernel is not None
        self._kernel = values
        self._transfer = transfer_function(values, shape[1:])

    @classmethod
    def from_options(cls, image_shape: tuple[int, int, int], rng: np.random.Generator,
                     options: Mapping[str, Any]) -> Operator:
        """As the base, reading ``kernel`` (a file path) with :func:`load_kernel`."""
        path = options.get("kernel")
        values = None if path is None else load_kernel(path)
        return cls(image_shape, sigma=options.get("sigma"), length=options.get("length"),
                   angle=options.get("angle"), kernel=values, noise_std=options["noise_std"])

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], rng: np.random.Generator) -> Operator:
        """Rebuild from :meth:`spec`: the recorded kernel values, else the parameters."""
        kernel = spec.get("kernel")
        try:
            return cls(spec["image_shape"], sigma=None if kernel is not None else spec["sigma"],
                       length=None if kernel is not None else spec["length"],
                       angle=spec["angle"], kernel=kernel, noise_std=spec["noise_std"])
        except UserInputError as exc:
            raise UserInputError(f"operator spec for task deblur is invalid ({exc})") from None

    # ------------------------------------------------------------ properties
    @property
    def kernel(self) -> np.ndarray:
        """The (kh, kw) float64 kernel, centre at ``(kh // 2, kw // 2)`` (read-only view)."""
        return read_only(self._kernel)

    @property
    def transfer(self) -> np.ndarray:
        """(H, W) complex128 transfer function ``K̂`` (read-only view)."""
        return read_only(self._transfer)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        return self._image_shape

    # ------------------------------------------------------------------ model
    def _convolve(self, array: Any, transfer: np.ndarray, name: str) -> Any:
        xp = array_namespace(array)
        complex_type = xp.complex64 if array.dtype == xp.float32 else xp.complex128
        spectrum = xp.fft.fftn(xp.astype(array, complex_type), axes=(-2, -1))
        product = spectrum * self._constant(name, transfer, array, complex_type)
        return xp.real(xp.fft.ifftn(product, axes=(-2, -1)))

    def A(self, x: Any) -> Any:  # noqa: N802
        self._check(x, self._image_shape, "images")
        return self._convolve(x, self._transfer, "transfer")

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        self._check(y, self._image_shape, "measurements")
        return self._convolve(y, np.conj(self._transfer), "transfer_conj")

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        return float(np.abs(self._transfer).max())

    def measurement_groups(self) -> np.ndarray:
        """Every channel of a blurred pixel together."""
        return pixel_groups(self.measurement_shape)

    # ------------------------------------------------------------ for people
    def preview(self, y: np.ndarray) -> np.ndarray:
        """The blurred image itself, clipped to [0, 1]."""
        return np.clip(np.asarray(y, dtype=np.float32), 0, 1)

    def describe(self) -> str:
        if self._explicit:
            return f"blur by a {self._kernel.shape[1]}x{self._kernel.shape[0]} kernel"
        if self._length is not None:
            return f"motion blur {self._length:g} px at {self._angle:g}°"
        return f"Gaussian blur σ {self._sigma:g} px"

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"sigma": self._sigma, "length": self._length,
                                  "angle": self._angle}
        if self._explicit:
            params["kernel"] = self._kernel.tolist()
        return params
