"""The ``spc`` task: a single-pixel camera.

A digital micromirror device shows ``m`` random ±1 patterns (each one as two exposures,
the pattern and its complement, whose difference the photodiode reports); each colour
channel is measured with the same patterns::

    y[c, i] = <P_i, x[c]> / sqrt(m),   P_i in {-1, +1}^(H·W)

The entry point (``pyproject.toml``) names :data:`TASK`; gs registers it when a command
first looks for a task, and ``gs-invert --task spc --ratio 0.25`` uses it.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from gs.operators import Operator, Task
from gs.operators.base import read_only
from gs.operators.validation import as_float, as_image_shape, field_error


class SinglePixelCamera(Operator):
    """``m = round(ratio · H·W)`` ±1 patterns, the same for every channel.

    Args:
        ratio: patterns per pixel, in (0, 1].
        image_shape: ``(C, H, W)``.
        rng: draws the patterns.
        noise_std: Gaussian noise per measurement.

    Shapes: images ``(B, C, H, W)`` → measurements ``(B, C, m)``, float, the input's
    namespace (numpy or torch), device and dtype.
    """

    task: ClassVar[str] = "spc"
    name: ClassVar[str] = "patterns"
    parameters: ClassVar[tuple[str, ...]] = ("ratio",)
    defaults: ClassVar[dict[str, Any]] = {"ratio": 0.25, "noise_std": 0.0}
    random: ClassVar[bool] = True

    def __init__(self, ratio: float, image_shape: tuple[int, int, int],
                 rng: np.random.Generator, noise_std: float | None = None) -> None:
        super().__init__(as_image_shape(image_shape), noise_std)
        self.ratio = as_float(ratio)
        if not 0 < self.ratio <= 1:
            raise field_error("ratio", f"must be in (0, 1], got {ratio!r}")
        _, h, w = self.image_shape
        self.patterns_count = max(1, round(self.ratio * h * w))
        signs = rng.integers(0, 2, size=(self.patterns_count, h * w), dtype=np.int8)
        scale = 1.0 / math.sqrt(self.patterns_count)
        self._patterns = read_only(((2 * signs - 1) * scale).astype(np.float32))

    @property
    def measurement_shape(self) -> tuple[int, int]:
        return (self.image_shape[0], self.patterns_count)

    def A(self, x: Any) -> Any:  # noqa: N802 - the conventional name
        xp = self._check(x, self.image_shape, "images")
        c, h, w = self.image_shape
        patterns = self._constant("patterns", self._patterns, x)
        return xp.matmul(xp.reshape(x, (x.shape[0], c, h * w)), patterns.T)

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802 - the conventional name
        xp = self._check(y, self.measurement_shape, "measurements")
        patterns = self._constant("patterns", self._patterns, y)
        return xp.reshape(xp.matmul(y, patterns), (y.shape[0], *self.image_shape))

    def measurement_groups(self) -> np.ndarray:
        """Pattern ``i`` of every channel is one group: on a grey scene the channels'
        values are equal, so a fit must not see one of them while another is held out."""
        c, m = self.measurement_shape
        return np.broadcast_to(np.arange(m, dtype=np.int64), (c, m)).reshape(-1).copy()

    def describe(self) -> str:
        return f"single-pixel camera m/n = {self.ratio:.0%}"

    def _params(self) -> dict[str, Any]:
        return {"ratio": self.ratio}


TASK = Task("spc", "single-pixel camera: m random ±1 patterns of each channel",
            {"patterns": SinglePixelCamera}, ("ratio", "noise_std"),
            observation="measurements", from_ratio=lambda ratio: {"ratio": ratio})
"""The task the ``gs.operators`` entry point ``spc`` names."""
