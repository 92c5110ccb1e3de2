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

from gs.artifacts import Artifact, at_cut
from gs.errors import UserInputError
from gs.experiments.methods import (
    Method,
    Recovery,
    artifact_identity,
    file_digest,
)


class BaselineMethod:
    """A :mod:`gs.baselines` method seen through the runner's interface."""

    def __init__(self, baseline: Any, prior_digest: Any = None) -> None:
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
    """Registered baseline names (empty without :mod:`gs.baselines`); surgery itself is
    the runner's own ``gs`` / ``no-surgery``."""
    try:
        from gs import baselines
    except ImportError:
        return ()
    return tuple(name for name in baselines.METHODS if name != "surgery")


def baseline_factory(artifacts: Sequence[Artifact], weights: str | Path | None = None,
                     model: str | None = None, device: str = "cpu"
                     ) -> Callable[[str], Method] | None:
    """A function name → :class:`BaselineMethod`, or None without :mod:`gs.baselines`.

    Baselines that need the uncut generator (``prior == "artifact"``) get the first
    artifact seen at c = 0; those that need the whole generator get ``weights``
    (and ``model``) loaded once.
    """
    try:
        from gs import baselines
    except ImportError:
        return None
    generator: list[Any] = []

    def make(name: str) -> Method:
        names = baseline_names()
        if name not in names:
            raise UserInputError(f"holds an unknown method {name!r}; available: gs, "
                                 f"no-surgery, {', '.join(names)}", field="methods")
        prior = baselines.METHODS[name].prior
        if prior == "artifact":
            if not artifacts:
                raise UserInputError(f"{name} needs an artifact", field="methods")
            uncut = at_cut(artifacts[0], 0)
            return BaselineMethod(baselines.get_method(name, artifact=uncut, device=device),
                                  artifact_identity(artifacts[0]))
        if prior == "generator":
            if weights is None:
                raise UserInputError(f"{name} needs {{weights}} (the whole generator)",
                                     field="methods", refs=("weights",))
            if not generator:
                from gs.baselines.generators import load_full_generator

                generator.append(load_full_generator(weights, model))
            return BaselineMethod(baselines.get_method(name, generator=generator[0],
                                                       device=device),
                                  file_digest(str(Path(weights).resolve())))
        return BaselineMethod(baselines.get_method(name, device=device))

    return make
