"""Descriptions of the free inputs of a cut generator (no torch needed).

A cut generator ``G_c`` takes one or more named tensors; each is described by an
:class:`InputSpec` (name, shape without batch, initial distribution). The list of
them for one cut is a :class:`LatentSpec`. The same objects are written to and
read from the artifact's ``gs.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any

import numpy as np

from gs.params import Param, declared_params

INIT_KINDS = ("zero", "normal", "clamped_normal", "uniform")
#: What each :class:`InitSpec` field is called where a user sets it (gs-invert's flags).
INIT_FIELDS = {"kind": "init", "std": "init_std", "limit": "init_limit"}


@dataclass(frozen=True)
class InitSpec:
    """Initial distribution of one latent input.

    kind:
        ``zero`` all zeros; ``normal`` N(0, std²); ``clamped_normal`` N(0, std²)
        clipped to [-limit, limit] (the paper's CN(0,1), default); ``uniform``
        U[-limit, limit].
    """

    kind: Annotated[str, Param("Initial latents.", choices=INIT_KINDS)] = "clamped_normal"
    std: Annotated[float, Param("Std of the normal and clamped_normal initial latents.",
                                min=0, min_open=True, finite=True)] = 1.0
    limit: Annotated[float, Param("Bound of the clamped_normal and uniform initial latents.",
                                  min=0, min_open=True, finite=True)] = 1.0

    def __post_init__(self) -> None:
        for field, name in INIT_FIELDS.items():
            INIT_PARAMS[name].check(getattr(self, field))

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Draw a float32 array of ``shape`` from this distribution using ``rng``."""
        if self.kind == "zero":
            return np.zeros(shape, dtype=np.float32)
        if self.kind == "uniform":
            return rng.uniform(-self.limit, self.limit, size=shape).astype(np.float32)
        draw = rng.standard_normal(size=shape) * self.std
        if self.kind == "clamped_normal":
            draw = np.clip(draw, -self.limit, self.limit)
        return draw.astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "std": self.std, "limit": self.limit}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InitSpec:
        return cls(kind=str(data["kind"]), std=float(data["std"]), limit=float(data["limit"]))


#: :class:`InitSpec`'s declarations (:class:`gs.params.Declared`) under the names a user
#: sets them by (:data:`INIT_FIELDS`: ``init``, ``init_std``, ``init_limit``).
INIT_PARAMS = {INIT_FIELDS[name]: replace(declared, name=INIT_FIELDS[name])
               for name, declared in declared_params(InitSpec).items()}


@dataclass(frozen=True)
class InputSpec:
    """One named input of a cut generator; ``shape`` excludes the batch dimension."""

    name: str
    shape: tuple[int, ...]
    init: InitSpec = InitSpec()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "init": self.init.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InputSpec:
        shape = tuple(int(s) for s in data["shape"])
        if not shape or any(s <= 0 for s in shape):
            raise ValueError(f"input {data.get('name')!r} has an invalid shape {shape}")
        return cls(name=str(data["name"]), shape=shape, init=InitSpec.from_json(data["init"]))


@dataclass(frozen=True)
class LatentSpec:
    """The ordered inputs of a cut generator at cut index ``cut``."""

    cut: int
    inputs: tuple[InputSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(spec.shape for spec in self.inputs)

    @property
    def size(self) -> int:
        """Total number of free scalars per image (the dimension of the search)."""
        return sum(spec.size for spec in self.inputs)

    def with_init(self, init: InitSpec) -> LatentSpec:
        """The same inputs, all initialised from ``init`` (a user override)."""
        return replace(self, inputs=tuple(replace(spec, init=init) for spec in self.inputs))

    def sample(self, rng: np.random.Generator, batch: int) -> list[np.ndarray]:
        """Draw ``batch`` initial values of every input: arrays of shape (batch, *shape)."""
        return [spec.init.sample(rng, (batch, *spec.shape)) for spec in self.inputs]

    def to_json(self) -> dict[str, Any]:
        return {"cut": self.cut, "inputs": [spec.to_json() for spec in self.inputs]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LatentSpec:
        inputs = tuple(InputSpec.from_json(item) for item in data["inputs"])
        if not inputs:
            raise ValueError("a latent spec needs at least one input")
        return cls(cut=int(data["cut"]), inputs=inputs)
