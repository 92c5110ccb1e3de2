"""Generator Surgery: image recovery with a pretrained generator cut at test time.

The one-call API (:mod:`gs.api`), what ``gs-invert`` does on arrays in memory::

    art = gs.load("dcgan_c1.pt")                  # .pt (torch) or .onnx (onnxruntime)
    op = gs.operator("cs", art.metadata.image_shape, ratio=0.1, seed=0)
    y = op(x)                                     # x: (C, H, W) in [0, 1]
    rec = gs.Surgery(art)(y, op)                  # rec.image, rec.details

Importing ``gs`` is light on purpose: no torch at import time (these names are imported
on first use), so that :mod:`gs.artifacts.onnx` and :mod:`gs.invert` work on machines
without torch. Import submodules (``gs.surgery``, ``gs.invert``, ...) for the torch API.
"""

from typing import Any

__version__ = "0.1.0"

ARTIFACT_FORMAT_VERSION = 1

_API = ("load", "operator", "Surgery", "method", "SeededOperator")

__all__ = ["ARTIFACT_FORMAT_VERSION", "__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from gs import api

        return getattr(api, name)
    raise AttributeError(f"module 'gs' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
