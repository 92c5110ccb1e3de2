"""Typed inversion settings: the presets models recommend and users override."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from gs.operators.registry import TASKS  # noqa: F401 - re-exported; the registry owns it

OPTIMIZERS = ("lbfgs", "adam")
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class InversionSettings:
    """How to optimise the latent(s) of a cut generator.

    Attributes:
        optimizer: ``lbfgs`` (torch semantics, no line search) or ``adam``.
        lr: learning rate (L-BFGS step scale or Adam's lr).
        steps: outer steps; each L-BFGS step runs up to ``inner_iterations``.
        inner_iterations: L-BFGS iterations per outer step (torch's ``max_iter``).
        restarts: independent random initialisations; the best is chosen by
            measurement loss.
        history_size: L-BFGS curvature pairs kept per sample.
        tolerance: relative improvement of a sample's loss over one outer step
            (Adam: 20 iterations) below which it counts as converged and stops
            costing compute (0 disables: the paper's fixed protocol).
        patience: consecutive outer steps under ``tolerance`` before stopping.
        schedule: cuts solved in order for progressive surgery, ending at the
            artifact's cut; empty means solve at the artifact's cut only.
        precision: ``fp32``, or ``bf16`` autocast for the generator's forward and
            backward (latents, residuals and optimiser state stay float32).
        keep_restarts_after: after this many outer steps only each image's best
            restart so far (by measurement loss) keeps optimising; 0 runs every
            restart to the end (the paper's protocol).
        keep_best: every sample ends at the lowest-loss point it visited rather
            than its last one (L-BFGS without line search can step uphill);
            False reproduces the paper's protocol exactly.
    """

    optimizer: str = "lbfgs"
    lr: float = 1.0
    steps: int = 25
    inner_iterations: int = 20
    restarts: int = 3
    history_size: int = 100
    tolerance: float = 1e-3
    patience: int = 1
    schedule: tuple[int, ...] = ()
    precision: str = "fp32"
    keep_restarts_after: int = 0
    keep_best: bool = True

    def __post_init__(self) -> None:
        if self.keep_restarts_after < 0:
            raise ValueError(
                f"keep_restarts_after must be non-negative, got {self.keep_restarts_after}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        for name in ("steps", "inner_iterations", "restarts", "history_size", "patience"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.tolerance < 0:
            raise ValueError(f"tolerance must be non-negative, got {self.tolerance}")
        if list(self.schedule) != sorted(set(self.schedule)):
            raise ValueError(f"schedule must list increasing cuts, got {self.schedule}")

    def override(self, **changes: Any) -> InversionSettings:
        """A copy with every non-None value of ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schedule"] = list(self.schedule)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InversionSettings:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown inversion settings {sorted(unknown)}")
        values = dict(data)
        if "schedule" in values:
            values["schedule"] = tuple(int(c) for c in values["schedule"])
        return cls(**values)
