"""The methods of a study, by the names ``--methods`` takes.

``gs`` is surgery on every artifact at its own cut; every other name is a method of
:mod:`gs.methods` (``no-surgery``, the classical answers, the baselines), built for the
study's task with what its prior needs: the first artifact (viewed at c = 0 where the
method inverts the uncut generator) or the whole generator loaded once from ``weights``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gs.artifacts import Artifact
from gs.errors import UserInputError
from gs.methods import METHODS, Method, build_method

#: The study's own name for surgery on each of its artifacts.
SURGERY = "gs"

MethodFactory = Callable[[str], Method]


def available() -> tuple[str, ...]:
    """Every name ``--methods`` accepts."""
    return (SURGERY, *(name for name in METHODS if name != "surgery"))


def method_factory(artifacts: Sequence[Artifact], weights: str | Path | None = None,
                   model: str | None = None, device: str = "cpu", task: str = "cs"
                   ) -> MethodFactory:
    """A function name → method for a study of ``task`` on ``artifacts``.

    Methods that need the whole generator (``prior == "generator"``) get ``weights``
    (and ``model``) loaded once.
    """
    generator: list[Any] = []

    def make(name: str) -> Method:
        if name not in METHODS or name == "surgery":
            raise UserInputError(f"holds an unknown method {name!r}; available: "
                                 f"{', '.join(available())}", field="methods")
        prior = METHODS[name].prior
        if prior == "artifact" and not artifacts:
            raise UserInputError(f"{name} needs an artifact", field="methods")
        if prior == "generator" and not generator:
            if weights is None:
                raise UserInputError(f"{name} needs {{weights}} (the whole generator)",
                                     field="methods", refs=("weights",))
            from gs.methods.generators import load_full_generator

            generator.append(load_full_generator(weights, model))
        shape = artifacts[0].metadata.image_shape if artifacts else None
        return build_method(name, task=task, artifact=artifacts[0] if artifacts else None,
                            generator=generator[0] if generator else None, device=device,
                            image_side=None if shape is None else shape[1])

    return make
