"""How much memory a dense operator would need, and whether this machine has it."""

from __future__ import annotations

import os


def available_bytes() -> int:
    """Memory available to a new allocation: ``MemAvailable`` from /proc/meminfo where the
    kernel reports it, else the physical memory size."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 1 << 62  # unknown: let the allocation itself decide


def format_bytes(size: float) -> str:
    """``1.5 GB`` style (powers of 1000, as memory is sold)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.3g} {unit}"
        size /= 1000
    raise AssertionError("unreachable")
