"""What a client asks of a page job: the form's fields, their ranges and the checks made
before a job is queued."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Annotated

from gs.errors import UserInputError
from gs.operators import OPTIONS, get_task
from gs.operators.cs import measurements_from_options
from gs.params import Param, declared_params
from gs.problems import OperatorOptions
from gs.serve.catalog import Catalog
from gs.settings import InversionSettings

#: The tasks the page offers (the registry's ``raw`` identity task has nothing to show).
PAGE_TASKS = ("cs", "inpaint", "sr", "denoise", "deblur")
#: Upper bounds a request may ask for (a public page must not book the CPU for hours).
MAX_STEPS = 500
MAX_RESTARTS = 8
#: Seconds per photo a ``best`` request may spend adapting (gs-invert's default budget).
PAGE_BUDGET = InversionSettings.budget
#: Fewest measured values a CS or random-inpainting request may ask for: below this the
#: result says nothing about the method.
MIN_MEASUREMENTS = 16


#: The declarations of the inversion settings a request may override (narrowed below).
_SETTING = {name: d.param for name, d in declared_params(InversionSettings).items()}


@dataclass(frozen=True)
class PageRequest:
    """What a client asks for; field names are the API's form fields.

    Each field declares its type, allowed values, default and help once
    (:class:`gs.params.Param`); the checks below, the form's parsing and its OpenAPI
    description read them. The operator's fields take the help of the task registry's
    options (:data:`gs.operators.OPTIONS`) and the settings' fields the declaration of
    :class:`gs.settings.InversionSettings`, each within the page's own limits.

    Attributes:
        artifact: id of a served artifact (``GET /api/artifacts``).
        task: ``cs``, ``inpaint``, ``sr``, ``denoise`` or ``deblur`` (the Gaussian
            kernel of σ 1.5 px, noise 0.01: the task's defaults).
        ratio: CS measurement ratio m/n in (0, 1]; m = round(ratio · n) must be at
            least :data:`MIN_MEASUREMENTS`.
        keep: inpainting without a painted mask: fraction of random pixels kept.
        scale: super-resolution factor 2, 4 or 8.
        noise_std: measurement noise std (None: the task's default).
        seed: draws the operator, the noise and the initial latents.
        steps, restarts: overrides of the artifact's recommended settings.
        quality: ``fast`` (the artifact's defaults) or ``best`` (then adapt to the photo
            within :data:`PAGE_BUDGET` seconds: ``gs-invert --quality best``).
        compare: also run the no-surgery (c = 0) artifact when one is served.
        classical: also recover with the task's classical answer (:mod:`gs.methods.classical`).
    """

    artifact: Annotated[str, Param("Id of a served artifact (GET /api/artifacts).")]
    task: Annotated[str, Param("What to recover the photo from.", choices=PAGE_TASKS)] = "cs"
    ratio: Annotated[float, OPTIONS["ratio"].param] = 0.1
    keep: Annotated[float, OPTIONS["keep"].param] = 0.1
    scale: Annotated[int, OPTIONS["scale"].param] = 4
    noise_std: Annotated[float | None, replace(
        OPTIONS["noise_std"].param, help=f"{OPTIONS['noise_std'].help} (none: the task's "
        "default)", max=1)] = None
    seed: Annotated[int, Param("Draws the operator, the noise and the initial latents.",
                               min=0)] = 0
    steps: Annotated[int | None, replace(_SETTING["steps"], max=MAX_STEPS)] = None
    restarts: Annotated[int | None, replace(_SETTING["restarts"], max=MAX_RESTARTS)] = None
    quality: Annotated[str, _SETTING["quality"]] = InversionSettings.quality
    compare: Annotated[bool, Param("Also run the no-surgery (c = 0) artifact when one is "
                                   "served.")] = True
    classical: Annotated[bool, Param("Also recover with the task's classical answer.")] = True

    def __post_init__(self) -> None:
        """Check each given field against its declaration (the error names the field)."""
        for declared in declared_params(PageRequest).values():
            value = getattr(self, declared.name)
            if value is not None:
                declared.check(value)

    def options(self) -> OperatorOptions:
        """The forward model's options, as ``gs-invert`` flags would give them."""
        given = {"ratio": self.ratio, "keep": self.keep, "scale": self.scale,
                 "noise_std": self.noise_std}
        reads = get_task(self.task).options
        return OperatorOptions(task=self.task, **{k: v for k, v in given.items() if k in reads})


def _ceil_2_digits(value: float) -> float:
    """``value`` rounded up to two significant digits (a bound that still holds when shown)."""
    unit = 10.0 ** (math.floor(math.log10(value)) - 1)
    return math.ceil(value / unit - 1e-9) * unit


def check_request(request: PageRequest, catalog: Catalog, painted: bool = False) -> None:
    """Refuse a request for an unknown artifact or for fewer than MIN_MEASUREMENTS values
    (``painted``: the inpainting mask comes with the request, so ``keep`` is unused)."""
    c, h, w = catalog.get(request.artifact).metadata.image_shape
    if request.task == "cs":
        n = c * h * w
        m = measurements_from_options({"ratio": request.ratio}, n)
        if m < MIN_MEASUREMENTS:
            raise UserInputError(
                f"ratio {request.ratio:g} gives {m} of the {n} values of this artifact's "
                f"images; at least {MIN_MEASUREMENTS} measurements are needed (ratio ≥ "
                f"{_ceil_2_digits(MIN_MEASUREMENTS / n):g})")
    if request.task == "inpaint" and not painted:
        kept = max(1, round(request.keep * h * w))  # as the random mask draws it
        if kept * c < MIN_MEASUREMENTS:
            raise UserInputError(
                f"keep {request.keep:g} keeps {kept} of the {h * w} pixels of this artifact's "
                f"images; at least {math.ceil(MIN_MEASUREMENTS / c)} are needed (keep ≥ "
                f"{_ceil_2_digits(math.ceil(MIN_MEASUREMENTS / c) / (h * w)):g})")
