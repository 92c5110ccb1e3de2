"""Export a trained generator, cut at ``c``, as a self-describing artifact.

Installed as ``gs.export``. The library (``gs``) never imports this package.
"""

from gs.export.api import export_artifact
from gs.export.weights import LoadedWeights, load_generator

__all__ = ["LoadedWeights", "export_artifact", "load_generator"]
