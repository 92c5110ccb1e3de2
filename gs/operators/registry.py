"""The task registry: the one place that knows which operators solve which task.

The factory (:func:`make_operator`), the spec round trip (:func:`operator_from_spec`),
the per-task defaults (:func:`task_defaults`) and the command-line choices
(:data:`TASKS`, :func:`operator_names`, :data:`OPTIONS`) all read it. Adding a task or
an operator is one :func:`register` call; the contract tests in
``tests/test_operators.py`` then cover it automatically.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gs.discovery import Registry
from gs.errors import UserInputError
from gs.operators.base import Operator
from gs.operators.blur import Blur
from gs.operators.cs import GaussianCS
from gs.operators.identity import Denoising, Identity
from gs.operators.inpainting import RandomInpainting
from gs.operators.mri import MRI, MRI_ACCELERATIONS, MRI_PATTERNS
from gs.operators.structured import StructuredCS
from gs.operators.superres import SR_METHODS, SR_SCALES, SuperResolution
from gs.operators.validation import as_image_shape, field_error

#: Compressed sensing uses the structured operator by default from this image side on
#: (pixels, height or width); below it the dense Gaussian matrix (the paper's operator).
STRUCTURED_FROM_PIXELS = 128


@dataclass(frozen=True)
class Option:
    """A factory option: its name (also the spec key and the ``--flag`` stem), type, help."""

    name: str
    type: type
    help: str
    choices: tuple[Any, ...] | None = None


#: Every option an operator factory takes, by name; tasks list the ones they read.
OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        Option("measurements", int, "number of measurements m"),
        Option("ratio", float, "measurement ratio m/n instead of measurements"),
        Option("rounds", int, "sign-and-transform rounds of the structured operator"),
        Option("keep", float, "fraction of pixels kept"),
        Option("scale", int, "downsampling factor", SR_SCALES),
        Option("method", str, "downsampling kernel", SR_METHODS),
        Option("acceleration", int, "MRI undersampling factor: W / sampled k-space lines",
               MRI_ACCELERATIONS),
        Option("center_fraction", float, "fraction of fully sampled centre k-space lines "
               "(default: 0.08 at x4, 0.04 at x8, as fastMRI)"),
        Option("pattern", str, "how the other k-space lines are drawn", MRI_PATTERNS),
        Option("sigma", float, "Gaussian blur std in pixels (default 1.5)"),
        Option("length", float, "motion blur length in pixels"),
        Option("angle", float, "motion blur direction in degrees"),
        Option("kernel", str, "blur kernel file: .png (normalised to sum 1) or .npy"),
        Option("noise_std", float, "noise std per measurement"),
    )
}


@dataclass(frozen=True)
class Task:
    """One task: the operators that solve it (the first is the default) and its options.

    Attributes:
        name: the task's name (``--task``).
        summary: one line for help texts.
        operators: operator classes by name, default first.
        options: names of the factory options it reads (keys of :data:`OPTIONS`).
        choose: picks the operator name for an image shape when none is given (None:
            always the first).
        observation: how a real (not simulated) observation arrives: ``image`` (an
            image of the operator's measurement shape), ``masked`` (the full image plus
            a mask of the kept pixels, which the operator class builds from with
            ``from_mask``) or ``measurements`` (a file holding ``y``, which is also what
            a simulated run can save).
        from_ratio: the options of a point at "ratio" on a study's axis (m/n, kept
            fraction, 1/scale); None: the task has no such axis.
        identity: ``A = I``, so the paper's "raw reconstruction" settings apply.
        classical: the registered methods (:mod:`gs.methods`) that give the task's
            classical answer, in order of preference (the first installed is used).
    """

    name: str
    summary: str
    operators: Mapping[str, type[Operator]]
    options: tuple[str, ...]
    choose: Callable[[tuple[int, int, int]], str] | None = field(default=None, compare=False)
    observation: str = "image"
    from_ratio: Callable[[float], dict[str, Any]] | None = field(default=None, compare=False)
    identity: bool = False
    classical: tuple[str, ...] = ()

    @property
    def default_operator(self) -> str:
        return next(iter(self.operators))

    def operator_class(self, operator: str | None = None,
                       image_shape: tuple[int, int, int] | None = None) -> type[Operator]:
        """The class of ``operator``, or of the default for ``image_shape`` when None."""
        if operator is None:
            if self.choose is not None and image_shape is not None:
                operator = self.choose(image_shape)
            else:
                operator = self.default_operator
        if operator not in self.operators:
            raise field_error(
                "operator",
                f"must be one of {', '.join(self.operators)} for task {self.name}, "
                f"got {operator!r}",
            )
        return self.operators[operator]

    @property
    def defaults(self) -> dict[str, Any]:
        """Default of each option (None: required or computed by the operator)."""
        merged: dict[str, Any] = dict.fromkeys(self.options)
        for cls in reversed(tuple(self.operators.values())):
            merged.update({k: v for k, v in cls.defaults.items() if k in merged})
        return merged


#: How a task's real observations can arrive (:attr:`Task.observation`).
OBSERVATIONS = ("image", "masked", "measurements")

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
