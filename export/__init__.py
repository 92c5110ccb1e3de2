"""Export a trained generator, cut at ``c``, as a self-describing artifact.

Installed as ``gs.export``. The library (``gs``) never imports this package;
loading weights is the library's (:func:`gs.models.load_generator`).
"""

from gs.export.api import export_artifact

__all__ = ["export_artifact"]
