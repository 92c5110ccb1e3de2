"""A Generator Surgery model plug-in: the ``upconv`` generator and its trainer.

Installed, its entry points (``pyproject.toml``) make ``upconv`` known to every gs
command: ``gs models``, ``gs-export upconv``, ``gs-train upconv``; artifacts exported
from it go to ``gs-invert`` and ``gs-serve`` like any other.
"""

__version__ = "0.1.0"
