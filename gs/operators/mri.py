"""Single-coil Cartesian MRI: sampled lines of the image's k-space (task ``mri``).

``A x = M ⊙ [Re k; Im k]`` with ``k = fftshift(F x)``, ``F`` the orthonormal 2-D DFT of
each channel (``norm="ortho"``: ``‖F x‖ = ‖x‖``) and ``fftshift`` putting frequency 0 at
``(H // 2, W // 2)``. The sampling mask keeps whole phase-encode lines (columns of the
centred k-space, as fastMRI's masks do): a fully sampled centre of
``round(center_fraction · W)`` columns (at least the zero frequency), the rest drawn from
the operator's generator up to ``round(W / acceleration)`` columns in all.

``y`` has shape ``(C, 2, H, W)``, float: channel, real/imaginary part, k-space row and
column, zero off the sampled columns. The imaginary part of the self-conjugate
frequencies (``k = −k``: the zero and Nyquist frequencies of both axes) is zero for
every real image and is not kept.

For a real image ``k(−f) = conj(k(f))``, so a sampled entry and its mirror ``−f`` carry
the same information: they are held out together (:meth:`MRI.measurement_groups`), and
on the range of ``A``, ``A Aᵀ`` is diagonal: 1 where the mirror is sampled too, ½ where
it is not (:meth:`MRI.gram_diagonal`). The pseudo-inverse ``A⁺ y = Aᵀ (A Aᵀ)⁻¹ y`` is
therefore cheap; it is the zero-filled reconstruction (exactly the zero-filled inverse
FFT where the mask is symmetric).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from gs.errors import UserInputError
from gs.operators.base import Operator, read_only
from gs.operators.options import (  # noqa: F401 - MRI_ACCELERATIONS, MRI_PATTERNS re-exported
    MRI_ACCELERATIONS,
    MRI_PATTERNS,
    check_option,
)
from gs.operators.validation import as_image_shape, field_error

#: fastMRI's pairs of acceleration and fully sampled centre fraction (its knee challenge
#: masks: 8 % of the columns at 4x, 4 % at 8x).
FASTMRI_CENTER_FRACTIONS = {4: 0.08, 8: 0.04}


def mirror_index(size: int) -> np.ndarray:
    """(size,) int: for each index of a centred (``fftshift``-ed) axis, the index of the
    negated frequency (``−f`` modulo ``size``)."""
    centred = np.fft.fftshift(np.arange(size))  # unshifted index at each centred position
    position = np.empty(size, dtype=np.int64)
    position[centred] = np.arange(size)
    return position[(-centred) % size]


def draw_lines(width: int, acceleration: int, center_fraction: float, pattern: str,
               rng: np.random.Generator) -> np.ndarray:
    """(width,) bool: the sampled columns of a centred k-space.

    ``round(center_fraction · width)`` centre columns (at least 1; fastMRI's placement:
    they start at ``(width − centre + 1) // 2``), then further columns, without
    replacement, up to ``max(centre, round(width / acceleration))`` in all: uniformly
    (``uniform``) or with probability ∝ ``(1 − |f| / f_max)²`` of the column's frequency
    ``f`` (``variable-density``, a polynomial density as in Lustig, Donoho & Pauly 2007),
    drawn by ``rng.choice``.
    """
    centre = max(1, int(round(center_fraction * width)))
    total = max(centre, int(round(width / acceleration)))
    lines = np.zeros(width, dtype=bool)
    start = (width - centre + 1) // 2
    lines[start : start + centre] = True
    free = np.flatnonzero(~lines)
    extra = total - centre
    if extra > 0:
        if pattern == "uniform":
            weights = np.ones(free.size)
        else:
            frequency = np.abs(free - width // 2) / max(width // 2, 1)
            weights = np.clip(1.0 - frequency, 0.0, None) ** 2 + 1e-12
        chosen = rng.choice(free, size=extra, replace=False, p=weights / weights.sum())
        lines[chosen] = True
    return lines


class MRI(Operator):
    """Sampled k-space lines of each channel (task ``mri``, operator ``cartesian``).

    ``(B, C, H, W)`` -> ``(B, C, 2, H, W)``; see the module docstring for ``A`` and the
    layout of ``y``. ``Aᵀ [a; b] = Re(F⁻¹ ifftshift(M_re ⊙ a + i M_im ⊙ b))``.

    Args:
        acceleration: 4 or 8; ``round(W / acceleration)`` columns are sampled.
        image_shape: ``(C, H, W)``.
        rng: draws the columns outside the centre.
        center_fraction: fraction of fully sampled centre columns in (0, 1]; None:
            fastMRI's for the acceleration (0.08 at 4, 0.04 at 8).
        pattern: ``variable-density`` or ``uniform`` (see :func:`draw_lines`).
        noise_std: std of the Gaussian noise on every real number of ``y`` (k-space
            units: the orthonormal FFT keeps the image's scale); None: 0.
    """

    task = "mri"
    name = "cartesian"
    parameters: ClassVar[tuple[str, ...]] = ("acceleration", "center_fraction", "pattern")
    optional_parameters: ClassVar[tuple[str, ...]] = ("lines",)
    defaults: ClassVar[Mapping[str, Any]] = {
        "acceleration": 4, "center_fraction": None, "pattern": "variable-density",
        "noise_std": 0.0}
    random = True

    def __init__(
        self,
        acceleration: int,
        image_shape: tuple[int, int, int],
        rng: np.random.Generator,
        center_fraction: float | None = None,
        pattern: str = "variable-density",
        noise_std: float | None = None,
    ) -> None:
        r = check_option("acceleration", acceleration)
        fraction = (FASTMRI_CENTER_FRACTIONS[r] if center_fraction is None
                    else check_option("center_fraction", center_fraction))
        pattern = check_option("pattern", pattern)
        shape = as_image_shape(image_shape)
        super().__init__(shape, noise_std)
        self._acceleration = r
        self._center_fraction = fraction
        self._pattern = pattern
        self._explicit = False
        self._set_lines(draw_lines(shape[2], r, fraction, pattern, rng))

    @classmethod
    def from_lines(cls, lines: Any, image_shape: tuple[int, int, int],
                   noise_std: float | None = None) -> MRI:
        """The operator sampling the given columns of the centred k-space (a scanner's
        own mask): ``lines`` are column indices in ``[0, W)`` (frequency 0 at ``W // 2``)."""
        shape = as_image_shape(image_shape)
        try:
            index = np.asarray(lines, dtype=np.int64).reshape(-1)
            ok = index.size > 0 and np.array_equal(index, np.asarray(lines).reshape(-1))
        except (TypeError, ValueError):
            ok = False
        if not ok or index.min() < 0 or index.max() >= shape[2]:
            raise field_error("lines", f"must be column indices in [0, {shape[2]}), "
                                       f"got {lines!r}")
        mask = np.zeros(shape[2], dtype=bool)
        mask[index] = True
        self = cls.__new__(cls)
        Operator.__init__(self, shape, noise_std)
        self._acceleration = max(1, int(round(shape[2] / mask.sum())))
        self._center_fraction = 0.0
        self._pattern = "given"
        self._explicit = True
        self._set_lines(mask)
        return self

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], rng: np.random.Generator) -> Operator:
        """As the base; explicit ``lines`` in the spec are used, not redrawn."""
        if "lines" not in spec:
            return super().from_spec(spec, rng)
        try:
            return cls.from_lines(spec["lines"], spec["image_shape"], spec["noise_std"])
        except UserInputError as exc:
            raise UserInputError(f"operator spec lines are invalid ({exc})") from None

    def _set_lines(self, lines: np.ndarray) -> None:
        _, h, w = self._image_shape
        self._lines = lines
        sampled = np.broadcast_to(lines[None, :], (h, w))
        rows, cols = mirror_index(h), mirror_index(w)
        mirrored = sampled[rows[:, None], cols[None, :]]
        self_conjugate = (rows[:, None] == np.arange(h)[:, None]) & (
            cols[None, :] == np.arange(w)[None, :])
        imaginary = sampled & ~self_conjugate
        self._mask = np.stack([sampled, imaginary]).astype(np.float32)  # (2, H, W)
        # A Aᵀ on the range of A: 1 where the mirror is sampled (or k = −k), ½ where not
        gram = np.where(mirrored | self_conjugate, 1.0, 0.5)
        self._gram = np.where(self._mask > 0, gram[None], 0.0)
        # groups: a sampled entry with its mirror, both parts, every channel
        flat = np.arange(h * w).reshape(h, w)
        pair = np.minimum(flat, flat[rows[:, None], cols[None, :]])
        groups = np.where(self._mask > 0, pair[None], -1).astype(np.int64)
        self._groups = np.broadcast_to(groups[None], self.measurement_shape).reshape(-1).copy()

    # ------------------------------------------------------------ properties
    @property
    def acceleration(self) -> int:
        return self._acceleration

    @property
    def center_fraction(self) -> float:
        return self._center_fraction

    @property
    def pattern(self) -> str:
        return self._pattern

    @property
    def lines(self) -> np.ndarray:
        """(W,) bool: the sampled columns of the centred k-space (read-only view)."""
        return read_only(self._lines)

    @property
    def mask(self) -> np.ndarray:
        """(2, H, W) float32 0/1: which real and imaginary parts ``y`` keeps (read-only)."""
        return read_only(self._mask)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        c, h, w = self._image_shape
        return (c, 2, h, w)

    def gram_diagonal(self) -> np.ndarray:
        """(2, H, W) float64: ``A Aᵀ`` on the range of ``A`` (1, ½, or 0 off the mask)."""
        return read_only(self._gram)

    # ------------------------------------------------------------------ model
    def A(self, x: Any) -> Any:  # noqa: N802
        xp = self._check(x, self._image_shape, "images")
        complex_type = xp.complex64 if x.dtype == xp.float32 else xp.complex128
        k = xp.fft.fftshift(xp.fft.fftn(xp.astype(x, complex_type), axes=(-2, -1),
                                         norm="ortho"), axes=(-2, -1))
        parts = xp.stack([xp.real(k), xp.imag(k)], axis=2)  # (B, C, 2, H, W)
        return parts * self._constant("mask", self._mask, x)

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        xp = self._check(y, self.measurement_shape, "measurements")
        masked = y * self._constant("mask", self._mask, y)
        complex_type = xp.complex64 if y.dtype == xp.float32 else xp.complex128
        k = xp.astype(masked[:, :, 0], complex_type) + 1j * xp.astype(masked[:, :, 1],
                                                                      complex_type)
        image = xp.fft.ifftn(xp.fft.ifftshift(k, axes=(-2, -1)), axes=(-2, -1), norm="ortho")
        return xp.real(image)

    def zero_filled(self, y: Any) -> Any:
        """The minimum-norm image of ``y`` ``(B, C, 2, H, W)``: ``Aᵀ (A Aᵀ)⁻¹ y``, the
        zero-filled inverse FFT (with each unpaired line doubled, as its mirror is
        missing); ``(B, C, H, W)`` like ``y``."""
        self._check(y, self.measurement_shape, "measurements")
        inverse = np.where(self._gram > 0, 1.0 / np.where(self._gram > 0, self._gram, 1), 0)
        return self.A_adjoint(y * self._constant("inverse_gram", inverse, y))

    def consistent(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``x`` with its sampled k-space replaced by the measured one:
        ``x + A⁺ (y − A x)`` (see the module docstring)."""
        x = np.asarray(x, dtype=np.float32)
        residual = np.asarray(y, dtype=np.float32)[None] - self.A(x[None])
        return x + self.zero_filled(residual)[0]

    def measurement_groups(self) -> np.ndarray:
        """Each sampled k-space entry with its mirror ``−f`` (the same information for a
        real image), both parts and every channel together; unsampled entries and the
        imaginary part of self-conjugate ones: -1."""
        return self._groups.copy()

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        # the zero frequency is always sampled and is its own mirror: A Aᵀ = 1 there
        return 1.0

    # ------------------------------------------------------------ for people
    def preview(self, y: np.ndarray) -> np.ndarray:
        """The zero-filled reconstruction, clipped to [0, 1]."""
        image = self.zero_filled(np.asarray(y, dtype=np.float32)[None])[0]
        return np.clip(np.asarray(image, dtype=np.float32), 0, 1)

    def describe(self) -> str:
        kept = int(self._lines.sum())
        return f"MRI x{self._image_shape[2] / kept:.3g} ({kept} of {self._image_shape[2]} lines)"

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"acceleration": self._acceleration,
                                  "center_fraction": self._center_fraction,
                                  "pattern": self._pattern}
        if self._explicit:
            params["lines"] = [int(i) for i in np.flatnonzero(self._lines)]
        return params
