"""Where computations run: CPU cores and BLAS threads, torch device names and mixed
precision (torch imported lazily)."""

from __future__ import annotations

import functools
import os
import re
from typing import Any

from gs.errors import UserInputError

#: The device names every command and :func:`resolve_device` accept.
DEVICE_NAMES = "auto, cpu, cuda or cuda:N"


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def one_blas_thread() -> Any:
    """A context manager that runs the library calls inside it on one BLAS thread: the
    images are small, and an idle pool of threads fighting a loaded machine costs far
    more than it gains. The limit is process-wide, so a thread pool sets it once around
    the pool."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def resolve_device(device: str | None) -> str:
    """``auto``/None → ``cuda`` when available else ``cpu``; other values are checked.

    Raises:
        UserInputError: (field ``device``) not one of :data:`DEVICE_NAMES`, or CUDA asked
            for where torch has none.
    """
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not (device == "cpu" or re.fullmatch(r"cuda(:\d+)?", device)):
        raise UserInputError(f"must be {DEVICE_NAMES}, got {device!r}", field="device")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"{device} was asked for but CUDA is not available", field="device")
    return device


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16), from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            flags = next((line for line in info if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"amx_bf16", "avx512_bf16"} & set(flags.split()))


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` → ``bf16`` on CUDA with bf16 support or a CPU with native bf16, else ``fp32``."""
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"
