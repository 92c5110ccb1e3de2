"""The task registry: the one place that knows which operators solve which task
(what a task is: :mod:`gs.operators.task`).

The factory (:func:`make_operator`), the spec round trip (:func:`operator_from_spec`),
the per-task defaults (:func:`task_defaults`) and the command-line choices
(:data:`TASKS`, :func:`operator_names`, :data:`OPTIONS`) all read it. Adding a task or
an operator is one :func:`register` call; the contract tests in
``tests/test_operators.py`` then cover it automatically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gs.discovery import Registry
from gs.errors import UserInputError
from gs.operators.base import Operator
from gs.operators.blur import Blur
from gs.operators.cs import GaussianCS
from gs.operators.identity import Denoising, Identity
from gs.operators.inpainting import RandomInpainting
from gs.operators.mri import MRI
from gs.operators.structured import StructuredCS
from gs.operators.superres import SuperResolution
from gs.operators.task import OBSERVATIONS, OPTIONS, Task
from gs.operators.validation import as_image_shape, field_error

#: Compressed sensing uses the structured operator by default from this image side on
#: (pixels, height or width); below it the dense Gaussian matrix (the paper's operator).
STRUCTURED_FROM_PIXELS = 128


OPERATORS_GROUP = "gs.operators"
"""The entry-point group of task (operator) plug-ins."""


def _adopt_task(loaded: Any) -> bool:
    """Register what a ``gs.operators`` entry point names when it is a :class:`Task` or a
    function returning one (a module registers its task itself)."""
    if isinstance(loaded, Task):
        register(loaded)
        return True
    if callable(loaded) and not isinstance(loaded, type):
        task = loaded()
        if not isinstance(task, Task):
            raise ValueError(f"{getattr(loaded, '__name__', loaded)!s}() returned "
                             f"{task!r}, not a Task")
        register(task)
        return True
    return False


def _task_module(task: Task) -> str:
    """The module a task comes from: its default operator's."""
    return task.operators[task.default_operator].__module__


#: Tasks by name: gs's own, registered below, and on first read the tasks of the
#: ``gs.operators`` entry points of installed packages (:mod:`gs.discovery`).
_REGISTRY: Registry[Task] = Registry(
    OPERATORS_GROUP, "task", missing="is not a task", adopt=_adopt_task,
    adoptable="a Task or a function returning one", module_of=_task_module)


def register(task: Task) -> Task:
    """Add ``task``; returns it. Registering the same task again does nothing.

    Raises:
        ValueError: the task is malformed, or another task holds its name.
    """
    for name, cls in task.operators.items():
        if cls.task != task.name or cls.name != name:
            raise ValueError(f"operator {cls.__name__} is {cls.task}/{cls.name}, "
                             f"registered as {task.name}/{name}")
    unknown = set(task.options) - set(OPTIONS)
    if unknown:
        raise ValueError(f"task {task.name} reads unknown options {sorted(unknown)}")
    if task.observation not in OBSERVATIONS:
        raise ValueError(f"task {task.name}: observation must be one of "
                         f"{', '.join(OBSERVATIONS)}, got {task.observation!r}")
    if task.observation == "masked" and not all(
            hasattr(cls, "from_mask") for cls in task.operators.values()):
        raise ValueError(f"task {task.name} is observed masked: its operators need from_mask")
    _REGISTRY.claim(task.name, task)
    return task


def _cs_operator(image_shape: tuple[int, int, int]) -> str:
    return "structured" if max(image_shape[1:]) >= STRUCTURED_FROM_PIXELS else "gaussian"


register(Task("cs", "compressed sensing: m random projections of the image",
              {"gaussian": GaussianCS, "structured": StructuredCS},
              ("measurements", "ratio", "rounds", "noise_std"), choose=_cs_operator,
              observation="measurements", from_ratio=lambda ratio: {"ratio": ratio},
              classical=("tv-cs",)))
register(Task("inpaint", "inpainting: a random subset of pixels is observed",
              {"mask": RandomInpainting}, ("keep", "noise_std"), observation="masked",
              from_ratio=lambda ratio: {"keep": ratio}, classical=("interpolation",)))
register(Task("sr", "super-resolution: the image is downsampled",
              {"downsample": SuperResolution}, ("scale", "method", "noise_std"),
              from_ratio=lambda ratio: {"scale": round(1 / ratio)}, classical=("bicubic",)))
register(Task("denoise", "denoising: the whole image plus Gaussian noise",
              {"identity": Denoising}, ("noise_std",), identity=True,
              classical=("bm3d", "nl-means")))
register(Task("mri", "MRI: lines of the image's k-space (single coil, Cartesian)",
              {"cartesian": MRI}, ("acceleration", "center_fraction", "pattern", "noise_std"),
              observation="measurements",
              from_ratio=lambda ratio: {"acceleration": round(1 / ratio)},
              classical=("tv-mri", "zero-filled")))
register(Task("deblur", "deblurring: the image convolved with a kernel (circular)",
              {"convolution": Blur}, ("sigma", "length", "angle", "kernel", "noise_std"),
              classical=("tv-deblur", "wiener")))
register(Task("raw", "representation: the clean image itself (A = I, no noise)",
              {"identity": Identity}, ("noise_std",), identity=True))

#: gs's own task names, in registration order; :func:`tasks` adds the plug-ins'.
TASKS: tuple[str, ...] = _REGISTRY.loaded()


def tasks() -> tuple[str, ...]:
    """Names of every task: gs's, the installed plug-ins' (loaded on the first call) and
    any registered since."""
    return tuple(_REGISTRY)


def get_task(name: Any) -> Task:
    """The registered task ``name``; a field-named error listing the tasks otherwise (or,
    for a plug-in that was left out, saying why)."""
    if name not in _REGISTRY:
        failure = plugin_failures().get(name)
        if failure is not None:
            raise field_error("task", f"{name!r} is unavailable: {failure.describe()}")
        raise field_error("task", f"must be one of {', '.join(_REGISTRY)}, got {name!r}")
    return _REGISTRY[name]


def operator_names(task: str | None = None) -> tuple[str, ...]:
    """Operator names of ``task`` (default first), or of every task (``--operator``)."""
    chosen = [get_task(task)] if task is not None else list(_REGISTRY.values())
    return tuple(dict.fromkeys(name for t in chosen for name in t.operators))


def operator_classes() -> tuple[type[Operator], ...]:
    """Every registered operator class, once."""
    return tuple(dict.fromkeys(c for t in _REGISTRY.values() for c in t.operators.values()))


def task_defaults(task: str) -> dict[str, Any]:
    """Default of each option ``task`` reads (None: required, or computed per operator)."""
    return get_task(task).defaults


def make_operator(
    task: str,
    image_shape: tuple[int, int, int],
    rng: np.random.Generator,
    *,
    operator: str | None = None,
    **options: Any,
) -> Operator:
    """Build the operator for ``task`` from factory options (see :data:`OPTIONS`).

    ``cs`` needs exactly one of ``measurements`` and ``ratio`` (``m = round(ratio * n)``,
    at least 1, ``ratio`` in (0, 1]); ``operator`` None picks ``gaussian`` for images
    smaller than :data:`STRUCTURED_FROM_PIXELS` on both sides and ``structured`` from
    there on. ``inpaint`` uses ``keep``, ``sr`` ``scale`` and ``method``; every task
    takes ``noise_std``. An option that is None or absent takes :func:`task_defaults`;
    options other tasks read are ignored. ``rng`` draws the random parts (CS matrix or
    signs and rows, inpainting mask).
    """
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise TypeError(f"make_operator got unknown options {sorted(unknown)}; "
                        f"allowed: {', '.join(OPTIONS)}")
    entry = get_task(task)
    shape = as_image_shape(image_shape)
    values = entry.defaults
    values.update({k: v for k, v in options.items() if k in values and v is not None})
    return entry.operator_class(operator, shape).from_options(shape, rng, values)


def operator_from_spec(spec: Mapping[str, Any], rng: np.random.Generator) -> Operator:
    """Rebuild an operator from :meth:`Operator.spec` output.

    ``rng`` must be seeded like the generator the original operator was built with (it
    redraws the CS matrix, structured signs and rows, or the inpainting mask; an
    explicit inpainting mask is stored in the spec instead). A spec without
    ``operator`` (written before operators had names) means the task's first operator.
    """
    if not isinstance(spec, Mapping):
        raise UserInputError(f"operator spec must be a mapping, got {type(spec).__name__}")
    task = spec.get("task")
    if task not in _REGISTRY:
        raise UserInputError(
            f"operator spec task must be one of {', '.join(_REGISTRY)}, got {task!r}"
        )
    entry = _REGISTRY[task]
    name = spec.get("operator", entry.default_operator)
    if name not in entry.operators:
        raise UserInputError(f"operator spec operator must be one of "
                             f"{', '.join(entry.operators)} for task {task}, got {name!r}")
    cls = entry.operators[name]
    required = set(cls.parameters) | {"image_shape", "noise_std"}
    optional = set(cls.optional_parameters) | {"task", "operator"}
    missing = sorted(required - set(spec))
    unknown = sorted(set(spec) - required - optional)
    if missing or unknown:
        raise UserInputError(
            f"operator spec for task {task!r} has missing keys {missing} and unknown keys {unknown}"
        )
    return cls.from_spec(spec, rng)


# --- plug-ins -----------------------------------------------------------------------------

def plugin_failures() -> dict[str, Any]:
    """The ``gs.operators`` plug-ins left out, by entry-point name
    (:class:`gs.discovery.PluginFailure`: who declared it and what went wrong)."""
    return _REGISTRY.failures


def task_source(name: str) -> str:
    """Where task ``name`` comes from: ``gs``, ``<distribution> <version>`` of a plug-in,
    or ``module <name>`` for one registered by a script."""
    return _REGISTRY.origin(name)
