"""The one-call Python API: what ``gs-invert`` does, on arrays in memory.

::

    art = gs.load("dcgan_c1.pt")                                 # .pt or .onnx
    op = gs.operator("cs", art.metadata.image_shape, ratio=0.1, seed=0)
    y = op(x)                                                    # A x + seeded noise
    rec = gs.Surgery(art)(y, op)                                 # gs-invert's answer
    rec.image, rec.details

``gs.operator(task, image_shape, seed=s, index=i, **options)`` is the operator
``gs-invert --seed s`` draws for its ``i``-th image, and ``op(x)`` adds the noise
``--simulate`` adds to it, so the same (seed, index) gives the same ``y``;
``gs.Surgery(art)`` is the method ``gs-invert`` runs (the artifact's recorded settings
for the operator's task, its answer rule included), so the recovery is the one
``gs-invert`` writes. Nothing here imports torch: an ``.onnx`` artifact runs on numpy
and onnxruntime alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import array_api_compat
import numpy as np

from gs.artifacts import Artifact, load
from gs.errors import UserInputError
from gs.latent import InitSpec
from gs.problems import OperatorOptions, Problem, build_operator
from gs.results import Recovery, StepEvent
from gs.seeding import Stream, problem_rng
from gs.settings import PRESETS, InversionSettings

__all__ = ["MethodCall", "SeededOperator", "Surgery", "load", "method", "operator"]

#: The fields of :class:`gs.settings.InversionSettings`, which ``Surgery`` overrides.
SETTINGS = tuple(f.name for f in fields(InversionSettings))


def _index(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise UserInputError(f"must be a non-negative integer, got {value!r}", field=field)
    return int(value)


class SeededOperator:
    """The forward model of one image of a job: image ``index`` under ``seed``.

    Built by :func:`operator`. Its random parts (CS matrix, inpainting mask, MRI lines)
    come from stream ``OPERATOR`` of (seed, index) and the noise :meth:`__call__` adds
    from stream ``NOISE``, as in ``gs-invert --simulate --seed seed`` for the image at
    position ``index``.

    Attributes:
        operator: the :class:`gs.operators.Operator` (``A``, ``A_adjoint``, ``spec()``…).
        options: the task, operator name and factory options.
        seed: the job's seed (≥ 0).
        index: the image's position in the job (≥ 0).
    """

    def __init__(self, options: OperatorOptions, image_shape: Sequence[int], seed: int = 0,
                 index: int = 0) -> None:
        self.options = options
        self.seed = _index(seed, "seed")
        self.index = _index(index, "index")
        self.operator = build_operator(options, tuple(image_shape), self.seed, self.index)

    @property
    def task(self) -> str:
        return self.options.task

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.operator.image_shape)

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        """Shape of one observation ``y``."""
        return tuple(self.operator.measurement_shape)

    def A(self, x: Any) -> Any:  # noqa: N802 - the conventional name
        """Noise-free ``A x``: (B, C, H, W) → (B, *measurement_shape), x's namespace."""
        return self.operator.A(x)

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802 - the conventional name
        """``Aᵀ y``: (B, *measurement_shape) → (B, C, H, W), y's namespace."""
        return self.operator.A_adjoint(y)

    def __call__(self, x: Any) -> Any:
        """Observe ``x``: ``A x`` plus the seeded noise ``gs-invert --simulate`` adds.

        Args:
            x: (C, H, W) or (B, C, H, W) image(s) in [0, 1], numpy or torch (any device).

        Returns:
            float32 ``measurement_shape`` for one image, (B, *measurement_shape) for a
            batch, in ``x``'s namespace and device. Each call draws the noise afresh
            from stream ``NOISE`` of (seed, index): for a batch, image 0 gets what
            ``gs-invert`` adds to image ``index`` (the others get the stream's next draws).
        """
        shape = tuple(int(s) for s in getattr(x, "shape", ()))
        if shape not in (self.image_shape, (*shape[:1], *self.image_shape)):
            raise UserInputError(f"must be (C, H, W) = {self.image_shape} or (B, C, H, W), "
                                 f"got shape {shape}", field="x")
        xp = array_api_compat.array_namespace(x)
        single = len(shape) == 3
        batch = xp.astype(x[None] if single else x, xp.float32)
        y = self.operator.measure(batch, problem_rng(self.seed, self.index, Stream.NOISE))
        return y[0] if single else y

    def problem(self, y: Any, path: str | Path | None = None) -> Problem:
        """The :class:`gs.problems.Problem` of observation ``y`` (``measurement_shape``,
        numpy or torch) under this operator, as the methods take it."""
        y = _numpy(y)
        if y.shape != self.measurement_shape:
            raise UserInputError(f"must have the operator's measurement shape "
                                 f"{self.measurement_shape}, got {y.shape}", field="y")
        return Problem(Path(path or f"image_{self.index}"), self.index, self.operator, y)

    def __repr__(self) -> str:
        return f"SeededOperator({self.operator.describe()}, seed={self.seed}, index={self.index})"


def operator(task: str, image_shape: Sequence[int], *, seed: int = 0, index: int = 0,
             operator: str | None = None, **options: Any) -> SeededOperator:
    """The operator ``gs-invert --task task --seed seed`` draws for its image ``index``.

    Args:
        task: a registered task (``cs``, ``inpaint``, ``sr``, ``denoise``, ``mri``,
            ``deblur``...; :func:`gs.operators.tasks`).
        image_shape: (C, H, W) of the images, e.g. ``art.metadata.image_shape``.
        seed: the job's seed (``--seed``), ≥ 0.
        index: the image's position in the job, ≥ 0.
        operator: one of the task's operators (``--operator``); None: the task's choice
            for the image size.
        options: the task's factory options (:data:`gs.operators.OPTIONS`:
            ``measurements``, ``ratio``, ``keep``, ``scale``, ``noise_std``,
            ``acceleration``, ``sigma``, ``kernel``…), left out or None for the
            task's default; validated as gs-invert validates its flags.

    Raises:
        UserInputError: an unknown task or option, or a value out of range, naming it.
    """
    return SeededOperator(OperatorOptions(task, operator, **options), image_shape, seed, index)


def _numpy(array: Any) -> np.ndarray:
    """float32 numpy copy of a numpy or torch array (any device)."""
    if array_api_compat.is_torch_array(array):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float32)


class MethodCall:
    """A :mod:`gs.methods` method called as ``(y, op)``, built for each task it meets.

    Subclasses give :meth:`method`.
    """

    def method(self, task: str) -> Any:
        """The :class:`gs.methods.Method` that solves problems of ``task``."""
        raise NotImplementedError

    def __call__(self, y: Any, op: SeededOperator | Sequence[SeededOperator], *,
                 on_step: Callable[[StepEvent], None] | None = None
                 ) -> Recovery | list[Recovery]:
        """Recover the image(s) observed as ``y`` through ``op``.

        Args:
            y: one observation (``op.measurement_shape``), or several: a list, or an
                array (B, *measurement_shape); numpy or torch.
            op: the :class:`SeededOperator` of ``y``, or one per observation (all of
                one task and seed). One operator for several observations measures
                each with it (and starts each from the same seeded latents).
            on_step: called after each optimisation step where the method steps
                (:class:`gs.results.StepEvent`); an exception raised there cancels.

        Returns:
            For one observation a :class:`gs.results.Recovery`: ``image`` (C, H, W)
            float32 in [0, 1], ``details`` (what gs-invert's report records under
            ``details``: ``answer``, ``weight``, ``scores``…), ``measurement_loss``,
            ``failure`` (why no answer, else None; ``image`` is then unusable)…; for
            several, a list of them in order.
        """
        ops = list(op) if isinstance(op, Sequence) else [op]
        if not ops or any(not isinstance(o, SeededOperator) for o in ops):
            raise TypeError("op must be what gs.operator returns (a SeededOperator), or a "
                            "non-empty sequence of them")
        single = False
        if not isinstance(op, Sequence) and not isinstance(y, list | tuple):
            shape = tuple(int(s) for s in getattr(y, "shape", ()))
            single = shape == op.measurement_shape
            if not single and shape[1:] != op.measurement_shape:
                raise UserInputError(f"must have the operator's measurement shape "
                                     f"{op.measurement_shape} or be a batch of them, got "
                                     f"shape {shape}", field="y")
        ys = [y] if single else list(y)
        if not isinstance(op, Sequence):
            ops = ops * len(ys)
        if not ys or len(ops) != len(ys):
            raise UserInputError(f"must be one operator or one per observation: "
                                 f"{len(ys)} observations, {len(ops)} operators", field="op")
        if len({(o.task, o.seed) for o in ops}) > 1:
            raise UserInputError("must all be of one task and one seed", field="op")
        problems = [o.problem(item) for o, item in zip(ops, ys)]
        results = self.method(ops[0].task).solve(problems, seed=ops[0].seed, on_step=on_step)
        return results[0] if single else results


class Surgery(MethodCall):
    """Generator Surgery exactly as ``gs-invert`` runs it, called as ``(y, op)``.

    Args:
        artifact: a loaded artifact (:func:`load`), ``.pt`` or ``.onnx``.
        preset: ``recommended`` (the measured defaults recorded in the artifact, answer
            rule included) or ``paper`` (the paper's protocol), for the operator's task.
        init: every input's initial distribution (``--init``); None: the artifact's.
        overrides: any :class:`gs.settings.InversionSettings` field (``steps``,
            ``restarts``, ``lr``, ``optimizer``, ``holdout``, ``answer``…), None
            meaning the preset's value, combined as gs-invert combines its flags:
            ``optimizer`` brings its own step size, step cap and line search;
            ``keep_best=False`` (``--last-iterate``) fits every measurement unless
            ``holdout`` is given; ``holdout=0`` returns the generator's image unless
            ``answer`` is given.

    Raises:
        UserInputError: an unknown preset or setting, or a value out of range.
    """

    def __init__(self, artifact: Artifact, *, preset: str = "recommended",
                 init: InitSpec | None = None, **overrides: Any) -> None:
        if preset not in PRESETS:
            raise UserInputError(f"must be one of {', '.join(PRESETS)}, got {preset!r}",
                                 field="preset")
        unknown = sorted(set(overrides) - set(SETTINGS))
        if unknown:
            raise UserInputError(f"is not an inversion setting; expected one of "
                                 f"{', '.join(SETTINGS)}", field=unknown[0])
        self.artifact = artifact
        self.preset = preset
        self.init = init
        self.overrides = {k: v for k, v in overrides.items() if v is not None}
        self._methods: dict[str, Any] = {}

    def settings(self, task: str) -> InversionSettings:
        """The settings this runs problems of ``task`` with."""
        return self.artifact.metadata.settings_for(task, self.preset).with_user_changes(
            **self.overrides)

    def method(self, task: str) -> Any:
        """The :class:`gs.methods.surgery.Surgery` for problems of ``task``."""
        if task not in self._methods:
            from gs.methods.surgery import Surgery as SurgeryMethod

            self._methods[task] = SurgeryMethod(self.artifact, task=task,
                                                settings=self.settings(task), init=self.init)
        return self._methods[task]


class _Registered(MethodCall):
    def __init__(self, name: str, context: dict[str, Any]) -> None:
        from gs.methods import method_class

        method_class(name)  # refuses an unknown name now, not at the first call
        self.name, self.context = name, context
        self._methods: dict[str, Any] = {}

    def method(self, task: str) -> Any:
        if task not in self._methods:
            from gs.methods import build_method

            self._methods[task] = build_method(self.name, task=task, **self.context)
        return self._methods[task]


def method(name: str, *, artifact: Artifact | None = None, generator: Any = None,
           settings: Any = None, device: str = "cpu") -> MethodCall:
    """Any registered method (:data:`gs.methods.METHODS`: ``classical``, ``bicubic``,
    ``tv-cs``, ``csgm``, ``dip``…) called as ``(y, op)`` like :class:`Surgery`, built
    for the operator's task as ``gs-baseline`` builds it (:func:`gs.methods.build_method`:
    ``artifact``, ``generator``, ``settings``, ``device``)."""
    return _Registered(name, {"artifact": artifact, "generator": generator,
                              "settings": settings, "device": device})
