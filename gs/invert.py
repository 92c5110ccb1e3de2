"""Torch inversion engine: find latents whose cut-generator image explains y.

B images × R restarts are optimised as one batch of B·R independent rows
(see :mod:`gs.optim`): per-row L-BFGS history, step and convergence, and a
per-image choice of the best restart by measurement loss (never by ground
truth). The loss of a row is the mean squared measurement residual
``mean((A(G_c(h)) - y)²)``.

Progressive surgery (``settings.schedule``, e.g. ``(0, 1)``) solves at the first
cut with R restarts, keeps the best row per image, maps it through the blocks
in front of the next cut (``h_{c'} = B_{c'} ∘ … ∘ B_{c+1}(h_c)``) and continues
from there with that single warm start.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from gs.artifact import Artifact
from gs.errors import UserInputError
from gs.inversion_plan import StageTally, noise_floor, plan_batch
from gs.latent import InitSpec, LatentSpec
from gs.operators import Operator
from gs.optim import BatchedAdam, BatchedLBFGS, OptimResult
from gs.results import InversionResult, StepEvent
from gs.settings import ADAM_WINDOW, InversionSettings, make_optimizer


def resolve_device(device: str | None) -> str:
    """``auto``/None → ``cuda`` when available else ``cpu``; other values are checked."""
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not (device == "cpu" or re.fullmatch(r"cuda(:\d+)?", device)):
        raise UserInputError(f"must be auto, cpu, cuda or cuda:N, got {device!r}", field="device")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"{device} was asked for but CUDA is not available", field="device")
    return device


@functools.cache
def _cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16), from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            flags = next((line for line in info if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"amx_bf16", "avx512_bf16"} & set(flags.split()))


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``auto`` → ``bf16`` on CUDA with bf16 support or a CPU with native bf16, else ``fp32``."""
    if precision != "auto":
        return precision
    if torch.device(device).type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if _cpu_has_native_bf16() else "fp32"


def simulate(image: np.ndarray, operator: Operator, rng: np.random.Generator) -> np.ndarray:
    """Measurements y = A x + noise of a ground-truth (C, H, W) image in [0, 1]."""
    return operator.measure(image[None].astype(np.float32), rng)[0]


class _Problem:
    """The batched objective: rows → latents → images → per-row residual loss.

    ``held[i]`` (None, or a (numel(y_i),) bool tensor) marks the measurement
    entries of image i left out of the fit and used for the score.
    """

    def __init__(self, generator: Callable[..., Tensor], spec: LatentSpec,
                 operators: Sequence[Operator], ys: Sequence[Tensor], rows_per_image: int,
                 precision: str = "fp32", held: Sequence[Tensor | None] | None = None) -> None:
        self.generator = generator
        self.bf16 = precision == "bf16"
        self.shapes = spec.shapes
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.operators = operators
        self.ys = ys
        self.rows_per_image = rows_per_image
        self.held = list(held) if held is not None else [None] * len(ys)

    def unflatten(self, x: Tensor) -> list[Tensor]:
        parts = torch.split(x, self.sizes, dim=1)
        return [p.reshape(x.shape[0], *s) for p, s in zip(parts, self.shapes)]

    def images(self, x: Tensor) -> Tensor:
        """The generator's images (n, C, H, W) float32 of rows ``x`` (n, D)."""
        # bf16 covers the generator only; residuals and the optimiser stay in float32.
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            images = self.generator(*self.unflatten(x))
        return images.float()

    def losses(self, x: Tensor, idx: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per-row fit loss, held-out score, loss over all entries (each (n,)), images."""
        images = self.images(x)
        image_of_row = idx // self.rows_per_image
        groups, counts = torch.unique_consecutive(image_of_row, return_counts=True)
        fit, score, full = [], [], []
        for img_index, chunk in zip(groups.tolist(), torch.split(images, counts.tolist())):
            squared = (self.operators[img_index].A(chunk) - self.ys[img_index]).pow(2).flatten(1)
            held = self.held[img_index]
            full.append(squared.mean(dim=1))
            if held is None:
                fit.append(full[-1])
                score.append(full[-1])
            else:
                fit.append(squared[:, ~held].mean(dim=1))
                score.append(squared[:, held].mean(dim=1))
        return torch.cat(fit), torch.cat(score), torch.cat(full), images

    def __call__(self, x: Tensor, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            loss, score, _, _ = self.losses(x, idx)
            (grad,) = torch.autograd.grad(loss.sum(), x)
        return loss.detach(), grad, score.detach()


def _planned_steps(settings: InversionSettings) -> int:
    """Outer steps of one stage: L-BFGS steps, or Adam iterations in windows."""
    if settings.optimizer == "adam":
        return -(-settings.steps // ADAM_WINDOW)
    return settings.steps


def _restart_pruner(after: int, rows_per_image: int):
    """A step hook that, after ``after`` outer steps, stops every row but its image's best."""

    def hook(step: int, loss: Tensor, done: Tensor) -> Tensor:
        if not after or step != after or rows_per_image == 1:
            return torch.zeros_like(done)
        per_image = loss.reshape(-1, rows_per_image)
        best = per_image.argmin(dim=1, keepdim=True)
        losing = torch.ones_like(per_image, dtype=torch.bool).scatter_(1, best, False)
        return losing.reshape(-1)

    return hook


def _step_hook(problem: _Problem, stage: int, cut: int, steps: int, n_images: int,
               rows_per_image: int, keep_restarts_after: int,
               on_step: Callable[[StepEvent], None] | None):
    """The optimiser's step hook: restart pruning, then the caller's progress report."""
    prune = _restart_pruner(keep_restarts_after, rows_per_image)
    pruned = torch.zeros(n_images * rows_per_image, dtype=torch.bool)

    def hook(step: int, loss: Tensor, done: Tensor, points: Callable[[], Tensor]) -> Tensor:
        stop = prune(step, loss, done)
        pruned.logical_or_(stop.cpu())
        if on_step is None:
            return stop
        live = ~pruned.to(loss.device)
        masked = torch.where(live & ~torch.isnan(loss), loss.double(), float("inf"))
        per_image = masked.reshape(n_images, rows_per_image)
        lowest, best = per_image.min(dim=1)
        rows = torch.arange(n_images, device=loss.device) * rows_per_image + best

        def current() -> np.ndarray:
            with torch.no_grad():
                return problem.images(points()[rows]).clamp(0, 1).cpu().numpy()

        on_step(StepEvent(stage, cut, step, steps, lowest.cpu().numpy(), current))
        return stop

    return hook


def invert(
    artifact: Artifact,
    operators: Sequence[Operator],
    observations: Sequence[np.ndarray],
    settings: InversionSettings,
    *,
    seed: int = 0,
    image_indices: Sequence[int] | None = None,
    init: InitSpec | None = None,
    initial: Sequence[Sequence[np.ndarray]] | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
) -> list[InversionResult]:
    """Recover one image per (operator, observation) pair, all in one batch.

    Args:
        artifact: a loaded artifact (``gs.artifact.load``); its device is used.
        operators: one forward model per image.
        observations: y per image, arrays of ``operator.measurement_shape``.
        settings: optimiser, steps, restarts, schedule (see InversionSettings).
        seed: with the image index, selects the initial latents (Stream.INIT).
        image_indices: the index of each image in the job (default 0…B-1), so
            that a batch of a folder draws what a single-image run would.
        init: override of every input's initial distribution.
        initial: explicit starting latents instead of random ones: per image, one
            array per input at the first cut of the schedule (shapes without batch);
            every restart of that image starts there (a warm start, e.g. LassoInv).
        on_step: called with a :class:`StepEvent` after every outer step of every
            stage; an exception it raises propagates out of ``invert`` (cancel).

    Returns:
        One :class:`InversionResult` per image, in order.
    """
    device = torch.device(artifact.device)
    meta = artifact.metadata
    start = time.perf_counter()
    plan = plan_batch(meta, operators, observations, settings, seed, image_indices, init, initial)
    schedule = plan.schedule
    ys = [torch.as_tensor(np.asarray(y, dtype=np.float32), device=device) for y in observations]
    held = [None if mask is None else torch.as_tensor(mask, device=device) for mask in plan.held]
    precision = resolve_precision(settings.precision, device)
    x = torch.as_tensor(plan.x0, device=device)
    rows_per_image = settings.restarts
    n_images = len(plan.indices)
    tally = StageTally(n_images)
    for stage_number, c in enumerate(schedule):
        spec = meta.spec_at(c)
        problem = _Problem(artifact.generator_at(c), spec, operators, ys, rows_per_image,
                           precision, held)
        rows = torch.arange(x.shape[0], device=device)
        with torch.no_grad():
            _, _, first_loss, _ = problem.losses(x, rows)
        floor = noise_floor(operators, settings.discrepancy, rows_per_image)
        hook = _step_hook(problem, stage_number, c, _planned_steps(settings), n_images,
                          rows_per_image, settings.keep_restarts_after, on_step)
        optimizer = make_optimizer(settings, BatchedLBFGS, BatchedAdam)
        result: OptimResult = optimizer.minimize(
            problem, x, settings.steps, hook,
            None if floor is None else torch.as_tensor(floor, device=device))
        with torch.no_grad():
            _, final_score, final_loss, images = problem.losses(result.x, rows)
        choice = final_score if settings.holdout > 0 else final_loss
        chosen = torch.as_tensor(tally.add_stage(
            stage_number, c, rows_per_image, *(t.double().cpu().numpy() for t in (
                choice, first_loss, final_loss)), result.evaluations.cpu().numpy()),
            device=device)
        x_best = result.x[chosen]
        if stage_number + 1 < len(schedule):
            with torch.no_grad():
                state = artifact.carry(c, schedule[stage_number + 1], problem.unflatten(x_best))
            x = torch.cat([s.reshape(s.shape[0], -1) for s in state], dim=1).float()
            rows_per_image = 1
    final_images = images[chosen].clamp(0, 1).cpu().numpy()
    latents = [t.cpu().numpy() for t in problem.unflatten(x_best)]
    return tally.results(final_images, latents, (time.perf_counter() - start) / n_images)
