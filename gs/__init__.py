"""Generator Surgery: image recovery with a pretrained generator cut at test time.

Importing ``gs`` is light on purpose: no torch at import time, so that
:mod:`gs.artifacts.onnx` and :mod:`gs.invert` work on machines without torch. Import submodules
(``gs.surgery``, ``gs.invert``, ...) for the torch API.
"""

__version__ = "0.1.0"

ARTIFACT_FORMAT_VERSION = 1
