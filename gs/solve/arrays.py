"""What the solver needs beyond the array API, for numpy and torch arrays alike.

Both namespaces index the same way (integer and boolean index arrays, in-place
assignment through them); these helpers cover the rest: positions of a mask, a copy,
a plain list, a numpy copy on the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, device, to_device

__all__ = ["array_namespace", "as_numpy", "copy", "device", "positions", "solve_triangular",
           "to_list"]


def positions(mask: Any) -> Any:
    """The indices (k,) of the True entries of a 1-D bool array, in increasing order."""
    return array_namespace(mask).nonzero(mask)[0]


def copy(array: Any) -> Any:
    """An independent copy of ``array`` (same namespace, device and dtype)."""
    return array_namespace(array).asarray(array, copy=True)


def to_list(array: Any) -> list:
    """The entries of a 1-D array as Python numbers (one transfer from a device)."""
    return array.tolist()


def solve_triangular(matrix: Any, rhs: Any, *, upper: bool) -> Any:
    """Solve ``matrix @ x = rhs`` for batched triangular ``matrix`` (…, k, k), ``rhs``
    (…, k, 1) with a non-zero diagonal.

    The array API has no triangular solve: the namespace's own is used where it has one
    (torch), else a general solve (numpy), which on such a matrix does the same
    substitutions up to rounding.
    """
    xp = array_namespace(matrix)
    native = getattr(xp.linalg, "solve_triangular", None)  # torch's, for one
    if native is None:
        return xp.linalg.solve(matrix, rhs)
    return native(matrix, rhs, upper=upper)


def as_numpy(array: Any) -> np.ndarray:
    """``array`` as a numpy array on the host (numpy arrays pass through)."""
    return np.asarray(to_device(array, "cpu"))
