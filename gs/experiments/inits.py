"""The initialisation strategies the init study compares (the supplement's Fig. 5)."""

from __future__ import annotations

import math

from gs.errors import UserInputError
from gs.latent import InitSpec

#: ``--inits`` names: the supplement's Fig. 5 strategies.
INIT_CHOICES = ("zero", "clamped_normal", "normal:5", "normal:10", "lasso")
INIT_LABELS = {"zero": "Zero", "clamped_normal": "CN(0,1)", "normal:5": "N(0,5)",
               "normal:10": "N(0,10)", "lasso": "LassoInv"}


def parse_init(text: str, field: str = "inits") -> InitSpec | str:
    """An init name → its :class:`InitSpec`, or ``"lasso"`` for LassoInv.

    ``normal:V`` is N(0, V) with V the *variance*, as the supplement writes it.
    """
    if text == "lasso":
        return text
    if text in ("zero", "clamped_normal"):
        return InitSpec(text)
    if text.startswith("normal:"):
        try:
            variance = float(text.split(":", 1)[1])
        except ValueError:
            variance = float("nan")
        if math.isfinite(variance) and variance > 0:
            return InitSpec("normal", std=math.sqrt(variance))
    raise UserInputError(f"entries must be zero, clamped_normal, normal:VARIANCE or lasso, "
                         f"got {text!r}", field=field)
