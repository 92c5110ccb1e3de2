"""Published state dicts in the key layout a gs model reads (``Pretrained.convert``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def rename_generateme_dcgan(state: Mapping[str, Any]) -> dict[str, Any]:
    """generateme's DCGAN generator (``convTr1..5``, ``batchNorm1..4``) in pytorch/examples'
    layout (``main.{0,1,3,4,6,7,9,10,12}.*``): the same layers in the same order, the
    ReLUs (``main.2``, ``5``, ``8``, ``11``) and the Tanh (``main.13``) holding no weights."""
    renamed: dict[str, Any] = {}
    for key, value in state.items():
        layer, _, rest = key.partition(".")
        for prefix, offset in (("convTr", 0), ("batchNorm", 1)):
            index = layer.removeprefix(prefix)
            if layer.startswith(prefix) and index.isdigit():
                renamed[f"main.{3 * (int(index) - 1) + offset}.{rest}"] = value
                break
        else:
            raise ValueError(f"{key!r} is not a key of generateme's DCGAN generator")
    return renamed
