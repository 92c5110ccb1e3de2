"""The factory options operators take (:data:`OPTIONS`), each declared once with
:class:`gs.params.Param`: its name (also the spec key and the ``--flag`` stem), type,
help and the values it allows whatever the image. The operators check their arguments
against these declarations; ``gs-invert``'s task flags and the page's request read them.
What depends on the image (``m ≤ n``, a scale that divides the side) the operators
check themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gs.params import Declared, Param

#: Super-resolution factors and downsampling kernels.
SR_SCALES = (2, 4, 8)
SR_METHODS = ("bilinear", "area")
#: MRI undersampling factors and how the lines outside the centre are drawn.
MRI_ACCELERATIONS = (4, 8)
MRI_PATTERNS = ("variable-density", "uniform")
#: Sign-and-transform rounds the structured CS operator allows.
MAX_ROUNDS = 4
#: Gaussian blur's kernel side: ``2 · ceil(GAUSSIAN_RADIUS · sigma) + 1`` pixels.
GAUSSIAN_RADIUS = 3.0
#: Largest kernel side accepted (pixels), from any source.
MAX_KERNEL_SIDE = 255
DEFAULT_SIGMA = 1.5
#: The largest Gaussian sigma whose kernel fits in MAX_KERNEL_SIDE, to one decimal.
MAX_SIGMA = int(10 * (MAX_KERNEL_SIDE - 1) / (2 * GAUSSIAN_RADIUS)) / 10


@dataclass(frozen=True)
class Option:
    """A factory option: its name, Python type and declaration (help and allowed values)."""

    name: str
    type: type
    param: Param

    @property
    def help(self) -> str:
        return self.param.help

    @property
    def choices(self) -> tuple[Any, ...] | None:
        return self.param.choices or None

    @property
    def declared(self) -> Declared:
        """The option as a declared argument (no default: the task's applies)."""
        return Declared(self.name, self.type, None, self.param)

    def check(self, value: Any) -> Any:
        """``value`` converted to :attr:`type`.

        Raises:
            UserInputError: (field :attr:`name`) ``value`` is not allowed.
        """
        return self.declared.check(value)


#: Every option an operator factory takes, by name; tasks list the ones they read.
OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        Option("measurements", int, Param("number of measurements m", min=1)),
        Option("ratio", float, Param("measurement ratio m/n instead of measurements",
                                     min=0, max=1, min_open=True)),
        Option("rounds", int, Param("sign-and-transform rounds of the structured operator",
                                    min=1, max=MAX_ROUNDS)),
        Option("keep", float, Param("fraction of pixels kept", min=0, max=1, min_open=True)),
        Option("scale", int, Param("downsampling factor", choices=SR_SCALES)),
        Option("method", str, Param("downsampling kernel", choices=SR_METHODS)),
        Option("acceleration", int, Param(
            "MRI undersampling factor: W / sampled k-space lines", choices=MRI_ACCELERATIONS)),
        Option("center_fraction", float, Param(
            "fraction of fully sampled centre k-space lines (default: 0.08 at x4, 0.04 at x8, "
            "as fastMRI)", min=0, max=1, min_open=True)),
        Option("pattern", str, Param("how the other k-space lines are drawn",
                                     choices=MRI_PATTERNS)),
        Option("sigma", float, Param(f"Gaussian blur std in pixels (default {DEFAULT_SIGMA})",
                                     min=0, max=MAX_SIGMA, min_open=True)),
        Option("length", float, Param("motion blur length in pixels", min=1,
                                      max=MAX_KERNEL_SIDE - 1)),
        Option("angle", float, Param("motion blur direction in degrees", finite=True)),
        Option("kernel", str, Param("blur kernel file: .png (normalised to sum 1) or .npy")),
        Option("noise_std", float, Param("noise std per measurement", min=0, finite=True)),
    )
}


def check_option(name: str, value: Any) -> Any:
    """``value`` of option ``name`` checked against its declaration and converted."""
    return OPTIONS[name].check(value)
