"""Matrix-free compressed sensing: a subsampled randomised Walsh–Hadamard transform.

``A = sqrt(N/m) · S · (H̃ D_R) ··· (H̃ D_1) · P`` on the CHW-flattened image, where

* ``P`` zero-pads the ``n = C·H·W`` values to ``N``, the next power of two (so any image
  size works, all channels mixed together; ``N < 2n``),
* ``D_r`` are diagonal random ±1 signs, one draw per round (``rounds`` ≥ 1),
* ``H̃ = H_N / sqrt(N)`` is the orthonormal Walsh–Hadamard matrix (Sylvester order),
* ``S`` keeps ``m`` of the ``N`` rows, drawn uniformly without replacement, in
  increasing order.

Every entry of the resulting ``m x n`` matrix is ``±1/sqrt(m)`` for one round, like the
``N(0, 1/m)`` entries of :class:`~gs.operators.cs.GaussianCS` in scale, and
``E_S ||A x||² = ||x||²`` exactly for every ``x`` (each of the ``N`` orthonormal rows is
kept with probability ``m/N``). Cost: ``O(N log N)`` time and ``O(N)`` memory; nothing of
size ``m x n`` is ever formed, and :meth:`spec` records only ``m`` and ``rounds``.

The transform is computed as a Kronecker product of small Hadamard blocks
(``H_N = H_{d_1} ⊗ ... ⊗ H_{d_k}``, ``d_i ≤ 128``): one batched ``matmul`` per block, the
same array-API code for numpy, torch on CPU and on CUDA, differentiable by autograd.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import array_api_compat
import numpy as np

from gs.operators.cs import CompressedSensing
from gs.operators.options import MAX_ROUNDS, check_option  # noqa: F401 - MAX_ROUNDS re-exported

_MAX_BLOCK_LOG2 = 7  # Hadamard blocks of at most 128 x 128 per matmul


def hadamard(size: int) -> np.ndarray:
    """The ``size x size`` Sylvester Hadamard matrix of ±1 (float32); size a power of 2."""
    matrix = np.ones((1, 1), dtype=np.float32)
    while matrix.shape[0] < size:
        matrix = np.block([[matrix, matrix], [matrix, -matrix]])
    return matrix


def block_sizes(size: int) -> tuple[int, ...]:
    """Factor the power of two ``size`` into blocks of at most 2**7, as even as possible."""
    log2 = size.bit_length() - 1
    count = max(1, math.ceil(log2 / _MAX_BLOCK_LOG2))
    logs = [log2 // count + (1 if i < log2 % count else 0) for i in range(count)]
    return tuple(1 << k for k in logs if k > 0) or (1,)


def padded_size(size: int) -> int:
    """The power of two ``N >= size`` the transform works on."""
    return 1 << max(0, (int(size) - 1).bit_length())


class StructuredCS(CompressedSensing):
    """Compressed sensing with a subsampled randomised Hadamard transform (task ``cs``,
    operator ``structured``); see the module docstring for ``A``.

    Args:
        measurements: ``m``, between 1 and ``n = C * H * W``.
        image_shape: ``(C, H, W)``, any size (padded to a power of two internally).
        rng: draws, in this order, the signs ``rng.integers(0, 2, (rounds, N))`` and the
            rows ``rng.choice(N, m, replace=False)`` (then sorted).
        noise_std: noise std per measurement; None uses the paper's level, as
            :class:`~gs.operators.cs.GaussianCS`.
        rounds: number of sign-and-transform rounds, 1 to 4 (more rounds mix more; one
            is the classical SRHT).
    """

    name = "structured"
    parameters: ClassVar[tuple[str, ...]] = ("measurements", "rounds")
    defaults: ClassVar[Mapping[str, Any]] = {"noise_std": None, "rounds": 1}

    def __init__(
        self,
        measurements: int,
        image_shape: tuple[int, int, int],
        rng: np.random.Generator,
        noise_std: float | None = None,
        rounds: int = 1,
    ) -> None:
        super().__init__(measurements, image_shape, noise_std)
        self._rounds = check_option("rounds", rounds)
        self._padded = padded_size(self._n)
        self._blocks = block_sizes(self._padded)
        self._hadamards = {d: hadamard(d) for d in set(self._blocks)}
        signs = rng.integers(0, 2, size=(self._rounds, self._padded), dtype=np.int8)
        self._signs = (1 - 2 * signs).astype(np.int8)
        self._rows = np.sort(rng.choice(self._padded, size=self._m, replace=False)).astype(
            np.int64
        )
        # position of each transform row in y, or m (an appended zero) if not kept: the
        # adjoint's scatter S^T y becomes one gather, which every array namespace has.
        inverse = np.full(self._padded, self._m, dtype=np.int64)
        inverse[self._rows] = np.arange(self._m)
        self._inverse = inverse
        self._scale = math.sqrt(self._padded / self._m)

    @property
    def rounds(self) -> int:
        return self._rounds

    @property
    def padded_size(self) -> int:
        """``N``, the power of two the transform runs on."""
        return self._padded

    @property
    def rows(self) -> np.ndarray:
        """The ``m`` kept rows of the ``N``-point transform, increasing (copy)."""
        return self._rows.copy()

    @property
    def nbytes(self) -> int:
        """Bytes held by the operator's numpy state (signs, rows, inverse map)."""
        return self._signs.nbytes + self._rows.nbytes + self._inverse.nbytes

    # ----------------------------------------------------------------- transform
    def _hadamard(self, z: Any, xp: Any) -> Any:
        """Orthonormal Walsh–Hadamard transform of each row of ``z`` ``(B, N)``.

        With ``N = d_1 ··· d_k`` and the index of ``z`` read as digits ``(i_1, ..., i_k)``,
        each step transforms the last digit with one GEMM ``(B·N/d, d) @ H_d`` and rotates
        it to the front; after k steps every digit is transformed and back in place.
        """
        batch = z.shape[0]
        for d in reversed(self._blocks):
            block = self._constant(f"hadamard{d}", self._hadamards[d], z)
            z = xp.matmul(xp.reshape(z, (batch, self._padded // d, d)), block)
            z = xp.reshape(xp.permute_dims(z, (0, 2, 1)), (batch, self._padded))
        return z * (1.0 / math.sqrt(self._padded))

    def _sign(self, z: Any, r: int) -> Any:
        return z * self._constant(f"signs{r}", self._signs[r], z)

    def A(self, x: Any) -> Any:  # noqa: N802
        xp = self._check(x, self._image_shape, "images")
        batch = x.shape[0]
        z = xp.reshape(x, (batch, self._n))
        if self._padded > self._n:
            pad = xp.zeros((batch, self._padded - self._n), dtype=z.dtype,
                           device=array_api_compat.device(z))
            z = xp.concat([z, pad], axis=1)
        for r in range(self._rounds):
            z = self._hadamard(self._sign(z, r), xp)
        rows = self._constant("rows", self._rows, z, dtype=xp.int64)
        return xp.take(z, rows, axis=1) * self._scale

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802
        xp = self._check(y, (self._m,), "measurements")
        batch = y.shape[0]
        zero = xp.zeros((batch, 1), dtype=y.dtype, device=array_api_compat.device(y))
        inverse = self._constant("inverse", self._inverse, y, dtype=xp.int64)
        z = xp.take(xp.concat([y * self._scale, zero], axis=1), inverse, axis=1)
        for r in reversed(range(self._rounds)):
            z = self._sign(self._hadamard(z, xp), r)
        return xp.reshape(z[:, : self._n], (batch, *self._image_shape))

    def norm(self, iterations: int = 100, rng: np.random.Generator | None = None) -> float:
        """``sqrt(N/m)``: exactly ``||A||_2`` when ``n`` is a power of two (``A Aᵀ = (N/m) I``),
        else an upper bound (the padding only removes columns), which is what step sizes
        of matrix-free solvers need; power iteration would approach it from below."""
        return self._scale

    def _params(self) -> dict[str, Any]:
        return {"measurements": self._m, "rounds": self._rounds}
