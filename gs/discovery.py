"""Models, trainers and tasks of other installed packages, found through their entry points.

A package makes its generator known to every gs command by declaring an entry point
in the group ``gs.models`` (its trainer: ``gs.trainers``; a task and its operators:
``gs.operators``) whose *name* is the model (task) name and whose *value* is a module
that registers it (``@register_model``) or the object itself::

    [project.entry-points."gs.models"]
    mygen = "mypackage.model"            # or "mypackage.model:MyGenerator"

A :class:`Registry` loads its group's entry points once, on the first read that
needs the whole registry (a lookup, a listing), never at ``import gs``. A plug-in
that fails to import or registers badly is left out: it becomes one
:class:`PluginFailure` sentence on stderr (through :func:`gs.io.notice`), the other
entries keep working, and asking for it by name gives the same sentence.
"""

from __future__ import annotations

import importlib.metadata
import threading
import types
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")

GS_SOURCE = "gs"
"""The source of what gs itself registers (its own modules are ``gs.*``)."""


@dataclass(frozen=True)
class PluginFailure:
    """An entry point that could not be used: who declared it and what went wrong."""

    kind: str
    """``model``, ``trainer`` or ``task``."""
    name: str
    """The entry point's name: the model (task) it was to provide."""
    origin: str
    """The declaring distribution and its version (``gs-example-plugin 0.1.0``)."""
    value: str
    """The entry point's value (``package.module`` or ``package.module:Class``)."""
    problem: str
    """What went wrong, e.g. ``raised RuntimeError: no GPU``."""

    def describe(self) -> str:
        """The plug-in and its problem in one sentence (no full stop, so it can be continued)."""
        return (f"the plug-in {self.kind} {self.name!r} of {self.origin} "
                f"(entry point {self.name} = {self.value}) {self.problem}")

    def notice(self) -> str:
        """The warning printed once when the plug-in is left out."""
        return f"gs: {self.describe()}; it is left out, the other {self.kind}s work"


def distribution_label(dist: importlib.metadata.Distribution | None) -> str:
    """``name version`` of an installed distribution (``an unknown package`` if none)."""
    if dist is None:
        return "an unknown package"
    return f"{dist.metadata['Name']} {dist.version}"


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of an exception (one sentence's worth)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def adopt_subclass(base: str, register: Callable[[type], Any]) -> Callable[[Any], bool]:
    """The adoption rule of a registry of classes: a subclass of ``base`` (``module:Class``,
    imported on first use, so that the registry can be made before that class exists) is
    filed by ``register``; anything else is not adopted."""

    def adopt(loaded: Any) -> bool:
        module_name, _, class_name = base.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        if isinstance(loaded, type) and issubclass(loaded, cls):
            register(loaded)
            return True
        return False

    return adopt


class Registry(MutableMapping[str, V], Generic[V]):
    """Entries (classes, or tasks) by name, filled by a decorator or a ``register``
    function and by the entry points of ``group``.

    Reading (lookup, ``in``, iteration, ``len``) loads the installed plug-ins first,
    once; writing (the decorators, :meth:`claim`) does not, so that gs's own modules
    register while gs is still being imported.

    Args:
        group: the entry-point group (``gs.models``).
        kind: what it holds, in words (``model``), for messages.
        base: ``module:Class`` of what an entry point may name besides a module: a
            subclass of it is filed by ``register`` (the registry's decorator, which
            raises ValueError when it cannot). Give ``adopt`` instead for other entries.
        register: see ``base``.
        missing: how a name that is not here is described (``is not known``).
        after: a registry to discover first (trainers need their models).
        adopt: files what an entry point loaded when it is an entry itself (not a
            module) and says whether it did; raises ValueError when it cannot file it.
        adoptable: what ``adopt`` takes, in words, for messages (``a Task``).
        module_of: the module an entry comes from (its ``__module__`` by default), which
            says whether gs registered it.
    """

    def __init__(self, group: str, kind: str, base: str = "",
                 register: Callable[[type], Any] | None = None, missing: str = "is not known",
                 after: Registry | None = None, *, adopt: Callable[[Any], bool] | None = None,
                 adoptable: str = "", module_of: Callable[[V], str] | None = None) -> None:
        self.group, self.kind, self.missing = group, kind, missing
        self._after = after
        if adopt is None:
            if register is None or not base:
                raise ValueError("a Registry needs base and register, or adopt")
            adopt = adopt_subclass(base, register)
            adoptable = adoptable or f"a {base.partition(':')[2]} subclass"
        self._adopt, self._adoptable = adopt, adoptable
        self._module_of = module_of or (lambda entry: entry.__module__)
        self._entries: dict[str, V] = {}
        self._failures: dict[str, PluginFailure] = {}
        self._origins: dict[str, str] = {}
        self._discovered = False
        self._lock = threading.RLock()

    # --- writing: no discovery ---------------------------------------------------------

    def claim(self, name: str, entry: V) -> None:
        """File ``entry`` under ``name``; registering the same entry again is a no-op.

        Raises:
            ValueError: another entry already holds ``name``.
        """
        held = self._entries.get(name, entry)
        if held is not entry:
            holder = getattr(held, "__name__", None) or self._source(name, held)
            raise ValueError(f"{name!r} is already registered by {holder}")
        self._entries[name] = entry

    def __setitem__(self, name: str, entry: V) -> None:
        self.claim(name, entry)

    def __delitem__(self, name: str) -> None:
        del self._entries[name]
        self._origins.pop(name, None)

    # --- reading: plug-ins first ---------------------------------------------------------

    def __getitem__(self, name: str) -> V:
        self.discover()
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        self.discover()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self.discover()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.group!r}, {sorted(self._entries)})"

    def loaded(self) -> tuple[str, ...]:
        """The names registered so far, in order, without loading the plug-ins."""
        return tuple(self._entries)

    @property
    def failures(self) -> dict[str, PluginFailure]:
        """The plug-ins left out, by entry-point name."""
        self.discover()
        return dict(self._failures)

    def origin(self, name: str) -> str:
        """Where ``name`` comes from: ``gs``, ``<distribution> <version>`` for a plug-in, or
        the module that registered it (a script or test that registered it itself)."""
        return self._source(name, self[name])

    def _source(self, name: str, entry: V) -> str:
        if name in self._origins:
            return self._origins[name]
        module = self._module_of(entry)
        return GS_SOURCE if module.split(".")[0] == GS_SOURCE else f"module {module}"

    def unknown(self, name: str) -> str:
        """Why ``name`` is not here, as the end of a sentence about it (for errors)."""
        self.discover()
        if name in self._failures:
            return f"is unavailable: {self._failures[name].describe()}"
        return f"{self.missing}; expected one of {', '.join(sorted(self._entries))}"

    # --- discovery -----------------------------------------------------------------------

    def discover(self) -> None:
        """Load the entry points of :attr:`group` (once; later calls return at once)."""
        if self._discovered:
            return
        with self._lock:
            if self._discovered:
                return
            self._discovered = True  # set first: a plug-in that reads the registry gets it
            if self._after is not None:
                self._after.discover()
            for point in importlib.metadata.entry_points(group=self.group):
                failure = self._load(point)
                if failure is not None:
                    self._failures[point.name] = failure
                    from gs.io import notice

                    notice(failure.notice())

    def _load(self, point: importlib.metadata.EntryPoint) -> PluginFailure | None:
        """Import one entry point; on any problem undo what it registered."""
        origin = distribution_label(point.dist)
        before = set(self._entries)
        problem = None
        try:
            loaded = point.load()
        except Exception as exc:  # noqa: BLE001 - whatever a plug-in raises, it is left out
            problem = f"raised {first_line(exc)} when imported"
        else:
            try:
                adopted = not isinstance(loaded, types.ModuleType) and self._adopt(loaded)
            except ValueError as exc:
                problem = f"cannot be registered: {exc}"
            except Exception as exc:  # noqa: BLE001 - a plug-in's factory raising is its failure
                problem = f"raised {first_line(exc)} when called"
            else:
                if not adopted and not isinstance(loaded, types.ModuleType):
                    problem = (f"names {loaded!r}, which is neither a module nor "
                               f"{self._adoptable}")
                elif point.name not in self._entries:
                    added = sorted(set(self._entries) - before)
                    problem = (f"registers no {self.kind} named {point.name!r}"
                               + (f" (it registers {', '.join(added)})" if added else ""))
        added = set(self._entries) - before
        if problem is not None:
            for name in added:
                del self[name]
            return PluginFailure(self.kind, point.name, origin, point.value, problem)
        for name in added | {point.name}:
            self._origins[name] = origin
        return None
