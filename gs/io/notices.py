"""Notices to the user: what the library changed on their input, or left out, in one
sentence on the ``gs`` logger (stderr by default)."""

from __future__ import annotations

import logging


def notice(message: str) -> None:
    """Tell the user about a conversion the library made on their input (stderr by default)."""
    logging.getLogger("gs").warning(message)
