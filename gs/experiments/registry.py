"""Baselines of :mod:`gs.baselines` as runner methods.

A baseline's ``solve(problems, seed=)`` returns results with ``image``,
``seconds`` and ``measurement_loss``; :class:`BaselineMethod` adapts it to
:class:`gs.experiments.methods.Method`. The package is optional here: without
it only surgery and no surgery are available.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gs.errors import UserInputError
from gs.experiments.methods import Method, Recovery, file_digest


class BaselineMethod:
    """A :mod:`gs.baselines` method seen through the runner's interface."""

    def __init__(self, baseline: Any, prior_digest: str | None = None) -> None:
        self.baseline = baseline
        self.prior_digest = prior_digest

    def columns(self) -> dict[str, Any]:
        return {"method": self.baseline.name, "cut": None, "init": None}

    def config(self) -> dict[str, Any]:
        settings = getattr(self.baseline, "settings", None)
        return {**self.columns(), "prior": self.prior_digest,
                "settings": None if settings is None else settings.to_json()}

    def recover(self, problems: Sequence[Any], seed: int) -> list[Recovery]:
        results = self.baseline.solve(problems, seed=seed)
        return [Recovery(r.image, r.seconds, r.measurement_loss) for r in results]


def baseline_names() -> tuple[str, ...]:
    """Registered baseline names (empty without :mod:`gs.baselines`)."""
    try:
        from gs import baselines
    except ImportError:
        return ()
    return tuple(baselines.METHODS)


def baseline_factory(artifacts: Sequence[Any], weights: str | Path | None = None,
                     model: str | None = None, device: str = "cpu"
                     ) -> Callable[[str], Method] | None:
    """A function name → :class:`BaselineMethod`, or None without :mod:`gs.baselines`.

    Baselines that need the uncut generator get the first artifact seen at c = 0;
    those that need the whole generator get ``weights`` (and ``model``).
    """
    try:
        from gs import baselines
    except ImportError:
        return None

    def make(name: str) -> Method:
        if name not in baselines.METHODS:
            raise UserInputError(f"--methods: unknown method {name!r}; available: gs, "
                                 f"no-surgery, {', '.join(baselines.METHODS)}")
        method = baselines.build(name, artifacts=artifacts, weights=weights, model=model,
                                 device=device)
        prior = getattr(method, "prior", "none")
        digest = None
        if prior == "artifact" and artifacts:
            digest = file_digest(str(Path(artifacts[0].path).resolve()))
        elif prior == "generator" and weights is not None:
            digest = file_digest(str(Path(weights).resolve()))
        return BaselineMethod(method, digest)

    return make
