"""Forward models ``A``, their adjoints and noise, one code path for numpy and torch.

Every operator maps images ``(B, C, H, W)`` to measurements ``(B, *measurement_shape)``
and subclasses :class:`Operator`; the noise model (:mod:`gs.operators.noise`) is kept
apart from ``A``. Which operators solve which task, their options and defaults live in
one registry (:mod:`gs.operators.registry`). Randomness comes only from explicit
``numpy.random.Generator`` arguments, so the same generator yields the same operator and
noise for numpy and torch; :meth:`Operator.spec` plus a generator seeded the same way
rebuilds an operator with :func:`operator_from_spec`. This package never imports torch.
"""

from gs.operators.base import Operator
from gs.operators.cs import (
    CS_REFERENCE_NOISE,
    CS_REFERENCE_SIZE,
    CompressedSensing,
    GaussianCS,
)
from gs.operators.identity import Denoising, Identity
from gs.operators.inpainting import RandomInpainting
from gs.operators.noise import GaussianNoise
from gs.operators.registry import (
    STRUCTURED_FROM_PIXELS,
    TASKS,
    get_task,
    make_operator,
    operator_classes,
    operator_from_spec,
    operator_names,
    register,
    task_defaults,
    tasks,
)
from gs.operators.structured import StructuredCS
from gs.operators.superres import SR_METHODS, SR_SCALES, SuperResolution
from gs.operators.task import OPTIONS, Option, Task

__all__ = [
    "CS_REFERENCE_NOISE",
    "CS_REFERENCE_SIZE",
    "OPTIONS",
    "SR_METHODS",
    "SR_SCALES",
    "STRUCTURED_FROM_PIXELS",
    "TASKS",
    "CompressedSensing",
    "Denoising",
    "GaussianCS",
    "GaussianNoise",
    "Identity",
    "Operator",
    "Option",
    "RandomInpainting",
    "StructuredCS",
    "SuperResolution",
    "Task",
    "get_task",
    "make_operator",
    "operator_classes",
    "operator_from_spec",
    "operator_names",
    "register",
    "task_defaults",
    "tasks",
]
