"""The batched objective: rows → latents at a cut → images → per-row measurement residual.

Row ``r`` of ``X`` (N, D) holds the flattened inputs of the generator cut at ``cut``
for image ``r // rows_per_image``. Its loss is the mean squared residual
``mean((A_i(G_c(h)) − y_i)²)`` over the fitted entries of y_i; with a held-out mask
its *score* is the same mean over the held-out entries (which the fit never sees),
and ``full`` is the mean over all entries. The gradient comes from the artifact's
vector–Jacobian product with the cotangent ``∂loss/∂image = A_iᵀ(2 r ⊙ w)`` (w = 1/n_fit
on fitted entries, 0 on held-out ones), so one piece of code serves every backend.
A ``penalty`` λ adds λ‖x‖² to the loss the optimiser minimises (CSGM's Gaussian prior
on z, Bora et al. 2017, eq. 2, in the loss's units); the losses of :meth:`losses` and the
score stay the measurement residual alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gs.solve.arrays import to_list

if TYPE_CHECKING:  # the types only: gs.solve imports nothing above it
    from gs.artifacts import Artifact
    from gs.operators import Operator


@dataclass
class _Image:
    """One image's observation and its fitted / held-out entries, on the backend."""

    operator: Operator
    y: Any  # (*measurement_shape) float32
    held: Any  # (m,) bool, or None: every entry is fitted
    weights: Any  # (m,) float32: 2 / n_fit on fitted entries, 0 on held-out ones


class MeasurementObjective:
    """The objective of one stage, over an artifact cut at ``cut``.

    Args:
        artifact: the loaded artifact (its ``xp`` and ``asarray`` set the backend).
        cut: the stage's cut (≤ the artifact's).
        operators: one forward model per image.
        observations: y per image (``operator.measurement_shape``), numpy.
        held: per image, a (numel(y),) bool mask of held-out entries, or None.
        rows_per_image: consecutive rows that belong to one image (its restarts).
        precision: ``fp32`` or ``bf16`` (autocast of the generator, where supported).
        penalty: λ ≥ 0 of the term λ‖x‖² added to each row's loss (0: none).
    """

    def __init__(self, artifact: Artifact, cut: int, operators: Sequence[Operator],
                 observations: Sequence[np.ndarray], held: Sequence[np.ndarray | None],
                 rows_per_image: int, precision: str = "fp32", penalty: float = 0.0) -> None:
        if not 0 <= penalty < float("inf"):
            raise ValueError(f"penalty must be a non-negative finite number, got {penalty}")
        self.artifact, self.cut, self.precision = artifact, cut, precision
        self.penalty = float(penalty)
        self.xp = artifact.xp
        self.shapes = artifact.metadata.spec_at(cut).shapes
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.rows_per_image = rows_per_image
        self.images_ = []
        for operator, y, mask in zip(operators, observations, held):
            m = int(np.size(y))
            fitted = m if mask is None else int(m - mask.sum())
            weights = np.full(m, 2.0 / fitted, dtype=np.float32)
            if mask is not None:
                weights[mask] = 0.0
            self.images_.append(_Image(
                operator, artifact.asarray(np.asarray(y, dtype=np.float32)),
                None if mask is None else artifact.asarray(np.asarray(mask, dtype=bool)),
                artifact.asarray(weights)))

    def unflatten(self, x: Any) -> list[Any]:
        """Rows (n, D) → one array (n, *shape) per input of the cut."""
        xp = self.xp
        parts, start = [], 0
        for size, shape in zip(self.sizes, self.shapes):
            parts.append(xp.reshape(x[:, start : start + size], (x.shape[0], *shape)))
            start += size
        return parts

    def flatten(self, parts: Sequence[Any]) -> Any:
        """Inverse of :meth:`unflatten`: (n, D) float32."""
        xp = self.xp
        return xp.concat([xp.reshape(p, (p.shape[0], -1)) for p in parts], axis=1)

    def images(self, x: Any) -> Any:
        """The generator's images (n, C, H, W) float32 of rows ``x`` (n, D), no gradient."""
        return self.artifact.forward(self.cut, self.unflatten(x), precision=self.precision)

    def _groups(self, idx: Any) -> list[tuple[int, slice]]:
        """(image index, slice of consecutive rows) for increasing row indices ``idx``."""
        owners = [i // self.rows_per_image for i in to_list(idx)]
        groups, start = [], 0
        for k in range(1, len(owners) + 1):
            if k == len(owners) or owners[k] != owners[start]:
                groups.append((owners[start], slice(start, k)))
                start = k
        return groups

    def _residuals(self, images: Any, idx: Any, cotangent: bool
                   ) -> tuple[Any, Any, Any, Any]:
        """Per-row fit loss, score, full loss (each (n,)) and, if asked, ∂loss/∂image."""
        xp = self.xp
        fit, score, full, grads = [], [], [], []
        for owner, rows in self._groups(idx):
            image = self.images_[owner]
            chunk = images[rows]
            residual = image.operator.A(chunk) - image.y
            flat = xp.reshape(residual, (residual.shape[0], -1))
            squared = flat * flat
            full.append(xp.mean(squared, axis=1))
            if image.held is None:
                fit.append(full[-1])
                score.append(full[-1])
            else:
                fit.append(xp.mean(squared[:, ~image.held], axis=1))
                score.append(xp.mean(squared[:, image.held], axis=1))
            if cotangent:
                weighted = xp.reshape(flat * image.weights, residual.shape)
                grads.append(image.operator.A_adjoint(weighted))
        cat = xp.concat
        return cat(fit), cat(score), cat(full), (cat(grads) if cotangent else None)

    def losses(self, x: Any, idx: Any) -> tuple[Any, Any, Any, Any]:
        """Rows ``x`` (n, D) of rows ``idx``: fit loss, score, full loss (n,) and images."""
        images = self.images(x)
        fit, score, full, _ = self._residuals(images, idx, cotangent=False)
        return fit, score, full, images

    def __call__(self, x: Any, idx: Any) -> tuple[Any, Any, Any]:
        """(fit loss (n,), its gradient (n, D), score (n,)) of rows ``x`` = rows ``idx``;
        the fit loss and its gradient include the penalty, the score does not."""
        out: dict[str, Any] = {}

        def cotangent(images: Any) -> Any:
            out["fit"], out["score"], _, grads = self._residuals(images, idx, cotangent=True)
            return grads

        _, grads = self.artifact.image_and_vjp(self.cut, self.unflatten(x), cotangent,
                                               precision=self.precision)
        fit, grad = out["fit"], self.flatten(grads)
        if self.penalty:
            fit = fit + self.penalty * self.xp.sum(x * x, axis=1)
            grad = grad + (2 * self.penalty) * x
        return fit, grad, out["score"]

