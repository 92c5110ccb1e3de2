"""Inpainting with a random (or given) pixel mask: ``y = mask ⊙ x``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from gs.errors import UserInputError
from gs.operators.base import Operator, read_only
from gs.operators.options import check_option
from gs.operators.validation import as_image_shape, field_error


class RandomInpainting(Operator):
    """Inpainting with a random pixel mask (task ``inpaint``, operator ``mask``).

    The ``(H, W)`` mask is shared by all channels and keeps exactly
    ``round(keep * H * W)`` pixels (Python's round, at least 1), the first ones of
    ``rng.permutation(H * W)``. Measurements have the image's shape, zero where
    dropped; the adjoint is the same masking.

    Args:
        keep: fraction of pixels observed, in (0, 1].
        image_shape: ``(C, H, W)``.
        rng: draws the mask.
        noise_std: measurement noise std (None: ``defaults["noise_std"]``, 0).
    """

    task = "inpaint"
    name = "mask"
    parameters: ClassVar[tuple[str, ...]] = ("keep",)
    optional_parameters: ClassVar[tuple[str, ...]] = ("mask",)
    defaults: ClassVar[Mapping[str, Any]] = {"keep": 0.1, "noise_std": 0.0}
    random = True

    def __init__(
        self,
        keep: float,
        image_shape: tuple[int, int, int],
        rng: np.random.Generator,
        noise_std: float | None = None,
    ) -> None:
        keep_value = check_option("keep", keep)
        shape = as_image_shape(image_shape)
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
        cls, mask: np.ndarray, image_shape: tuple[int, int, int], noise_std: float | None = None
    ) -> RandomInpainting:
        """Inpainting with a given ``(H, W)`` mask of bools or 0/1 values (1 = kept)."""
        shape = as_image_shape(image_shape)
        array = np.asarray(mask)
        if array.shape != shape[1:]:
            raise field_error("mask", f"must have shape {shape[1:]}, got {array.shape}")
        if array.dtype != bool:
            if not np.all((array == 0) | (array == 1)):
                raise field_error("mask", "must contain only 0 and 1 values")
            array = array == 1
        if not array.any():
            raise field_error("mask", "must keep at least one pixel")
        self = cls.__new__(cls)
        Operator.__init__(self, shape, noise_std)
        self._set_mask(array.copy())
        self._keep = float(array.sum()) / array.size
        self._explicit = True
        return self

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], rng: np.random.Generator) -> Operator:
        """As the base; an explicit mask stored in the spec is decoded, not redrawn."""
        if "mask" not in spec:
            return super().from_spec(spec, rng)
        shape = as_image_shape(spec["image_shape"])
        return cls.from_mask(_decode_mask(spec["mask"], shape), shape, spec["noise_std"])

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
        return read_only(self._mask)

    def consistent(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``x`` with every observed pixel as observed (A Aᵀ is the mask itself)."""
        return np.where(self._mask[None], np.asarray(y, dtype=np.float32),
                        np.asarray(x, dtype=np.float32))

    def measurement_groups(self) -> np.ndarray:
        """Every channel of an observed pixel together; unobserved pixels (y = 0 there,
        whatever the image) carry no information: -1."""
        rank = np.full(self._mask.shape, -1, dtype=np.int64)
        rank[self._mask] = np.arange(int(self._mask.sum()))
        return np.broadcast_to(rank, self.measurement_shape).reshape(-1).copy()

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        return self._image_shape

    def preview(self, y: np.ndarray) -> np.ndarray:
        """The kept pixels of ``y`` (clipped to [0, 1]) on grey (0.5)."""
        kept = self._mask.astype(bool)[None]
        return np.where(kept, np.clip(np.asarray(y, dtype=np.float32), 0, 1), np.float32(0.5))

    def describe(self) -> str:
        return f"{100 * self.keep:.3g} % of pixels kept"

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
