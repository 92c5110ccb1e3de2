"""A network of your own from the Python reference of the code that builds it, and its
blocks from a block spec (``main.0-2,main.3-5``), for the ``module`` model
(:mod:`gs.models.sequential`)."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

from torch import nn

from gs.discovery import first_line
from gs.errors import UserInputError

_NAME = r"[A-Za-z_0-9]\w*"
_PART = re.compile(rf"^(?:(?P<path>{_NAME}(?:\.{_NAME})*?)\.)?"
                   rf"(?:(?P<first>\d+)-(?P<last>\d+)|(?P<each>\*))$")
_PATH = re.compile(rf"^{_NAME}(?:\.{_NAME})*$")


def import_reference(reference: str, field: str = "module") -> Any:
    """The object ``package.module:name`` names (``name`` may be dotted); the current
    directory is importable, as it is for ``python -m``.

    Raises:
        UserInputError: a malformed reference, a module that fails to import or lacks
            the name; the error names ``field``.
    """
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise UserInputError(f"must be package.module:name, got {reference!r}", field=field)
    try:
        with _current_directory_importable():
            target: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - whatever the user's module raises
        raise UserInputError(f"cannot be imported: {first_line(exc)}", field=field,
                             value=reference) from None
    for name in attribute.split("."):
        if not hasattr(target, name):
            raise UserInputError(f"names nothing: {getattr(target, '__name__', target)} has no "
                                 f"attribute {name!r}", field=field, value=reference)
        target = getattr(target, name)
    return target


@contextlib.contextmanager
def _current_directory_importable() -> Iterator[None]:
    """The current directory on ``sys.path`` for the time of an import (as ``python -m``
    has it; console scripts do not)."""
    added = os.getcwd() not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        yield
    finally:
        if added:
            sys.path.remove(os.getcwd())


def build_network(reference: str) -> nn.Module:
    """Call the class or function at ``reference`` with no arguments; check it is a module."""
    factory = import_reference(reference)
    if not callable(factory):
        kind = f"the module {factory.__name__}" if inspect.ismodule(factory) else repr(factory)
        raise UserInputError(f"names {kind}, expected a class or function", field="module",
                             value=reference)
    try:
        network = factory()
    except Exception as exc:  # noqa: BLE001 - whatever the user's code raises
        raise UserInputError(f"failed when called with no arguments: {first_line(exc)}",
                             field="module", value=reference) from None
    if not isinstance(network, nn.Module):
        raise UserInputError(f"returned a {type(network).__name__}, expected a torch.nn.Module",
                             field="module", value=reference)
    return network


def resolve_blocks(network: nn.Module, spec: str) -> list[list[nn.Module]]:
    """The blocks ``spec`` names in ``network``: a list of submodules per block, in order.

    Raises:
        UserInputError: (field ``blocks``) bad syntax, a missing submodule, a range
            outside the children there are.
    """
    def refuse(problem: str) -> UserInputError:
        return UserInputError(problem, field="blocks", value=spec)

    blocks: list[list[nn.Module]] = []
    for item in spec.split(","):
        parts = item.strip().split("+")
        block: list[nn.Module] = []
        for part in (p.strip() for p in parts):
            ranged = _PART.match(part)
            if ranged is None and not _PATH.match(part):
                raise refuse(f"has {part!r}, expected a submodule path such as main.3, a range "
                             "such as main.0-2, or layers.*")
            path = (ranged.group("path") or "") if ranged else part
            try:
                module = network.get_submodule(path)
            except AttributeError:
                raise refuse(f"has {part!r}, but the network has no submodule {path!r} (its "
                             f"children: {', '.join(n for n, _ in network.named_children())})"
                             ) from None
            if ranged is None:
                block.append(module)
                continue
            children = list(module.children())
            where = f"{path or 'the network'} has {len(children)} children"
            if ranged.group("each"):
                if len(parts) > 1:
                    raise refuse(f"joins {part!r} to another submodule; a * stands alone")
                if not children:
                    raise refuse(f"has {part!r}, but {where}")
                blocks.extend([child] for child in children)
                continue
            first, last = int(ranged.group("first")), int(ranged.group("last"))
            if not first <= last < len(children):
                raise refuse(f"has {part!r}, but {where} (0 to {len(children) - 1})")
            block.extend(children[first:last + 1])
        if block:
            blocks.append(block)
    if not blocks:
        raise refuse("names no blocks")
    return blocks


def leaves(modules: list[nn.Module]) -> list[nn.Module]:
    """The layers of ``modules`` (their submodules without children), in order."""
    return [m for top in modules for m in top.modules() if next(m.children(), None) is None]


def parse_shape(text: str, field: str = "input_shape") -> tuple[int, ...]:
    """``"100,1,1"`` → (100, 1, 1), every entry a positive integer."""
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise UserInputError(f"must be positive integers such as 100,1,1, got {text!r}",
                             field=field)
    return shape


def infer_input_shape(first: nn.Module) -> tuple[int, ...]:
    """The latent shape a first layer implies: ``Linear`` → (in,), ``ConvTranspose2d`` →
    (in, 1, 1); other layers do not say."""
    if isinstance(first, nn.Linear):
        return (first.in_features,)
    if isinstance(first, nn.ConvTranspose2d):
        return (first.in_channels, 1, 1)
    raise UserInputError(f"is needed: the first layer, a {type(first).__name__}, does not say "
                         "the latent's shape", field="input_shape")


def shape_text(shape: tuple[int, ...]) -> str:
    """(100, 1, 1) → ``"100,1,1"``, as :func:`parse_shape` reads it."""
    return ",".join(map(str, shape))
