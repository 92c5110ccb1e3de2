"""Candidates of the best-quality mode: fits that adapt to one image after the defaults.

The defaults fit the latent ``h`` of the cut generator ``G_c`` on the measurements except
a held-out subset (:func:`gs.invert.invert`). A candidate here is judged by the same
held-out entries, which it never fits either:

* ``adaptive-surgery``: IAGAN's image-adaptive fine-tuning (Abu Hussein, Tirer & Giryes
  2020) applied after the cut: Adam on ``h`` and a copy of ``G_c``'s weights jointly,
  from the defaults' ``h`` and the artifact's weights.
* ``dip``: Deep Image Prior (Ulyanov et al. 2018; :class:`gs.methods.dip.SkipNet`, a
  narrower network than its paper's) from its own random start, its input perturbed at
  every step as in DIP, fitted to the same entries with the held-out stop instead of
  DIP's fixed budget. It does not start from the defaults, so it can leave the
  generator's range entirely; it is returned only where the held-out entries prefer it.
* ``dip-warm``: an untrained Deep Image Prior network (:class:`gs.methods.dip.SkipNet`)
  first fitted to reproduce the defaults' image, then to the measurements.

Every candidate's fit is Adam (:func:`gs.methods.fitting.adam_rows`) on the mean squared
residual over the fitted entries of y. The held-out residual of every iterate is read off
the same forward pass that computes the loss (the residual of all of y is computed
anyway), so tracking it costs nothing; the iterate with the lowest held-out residual is
returned, and the fit stops when that residual has not improved for ``patience`` steps,
when another step and the last evaluation would overrun the wall-clock budget, or after
``max_steps``. For the candidates that continue from the defaults, the starting point (the
defaults' answer itself) is an iterate too, so their held-out residual is never above the
defaults'.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gs.errors import UserInputError
from gs.methods.base import StepCallback
from gs.methods.fitting import adam_rows, to_image, to_tensor, torch_generator
from gs.problems import Problem
from gs.results import Recovery, step_event

#: The candidates ``quality = "best"`` runs, in order, sharing its budget
#: (:class:`AdaptiveSettings` says why these).
DEFAULT_CANDIDATES = ("adaptive-surgery", "dip")
#: The least lead of a candidate over the answer, in standard errors of the paired
#: per-entry difference of their squared held-out residuals, for it to be returned; of
#: several, the surest lead wins (:meth:`gs.methods.answer.AnswerRule`'s ``_adapt``).
#: Chosen on the 3 + 3 validation photos at CS 2 % and 8 % (12 problems, 25 and 98
#: held-out entries, against the defaults' generator image; ``benchmarks/adaptive.py``
#: then ``benchmarks/candidate_rule.py``; 27 s per image on cores shared with another
#: run, where dip ran 470–710 steps): 1.0 to 1.5 gained the most, +1.72 dB on the mean,
#: with one photo −0.14 dB (as the 25 % margin before it: +1.50 dB); 2.0 +1.59 with that
#: same photo; 2.5 left no photo below and gained +1.44, 3.0 +1.21. Returning the lowest
#: score instead of the surest lead gained +1.56 at 1.5. 2.5, tried first, kept almost
#: no candidate on the test photos at CS 2 % (BENCHMARKS.md, "Best quality"): there the
#: answer is often a blend with TV, closer to the truth than the generator's image these
#: runs compare with, so the leads are smaller.
CANDIDATE_CONFIDENCE = 1.5


@dataclass(frozen=True)
class AdaptiveSettings:
    """Hyperparameters of the candidates, measured by ``benchmarks/adaptive.py`` on the
    validation photos (3 faces + 3 other photos, 64 px, face DCGAN cut at c = 1,
    compressed sensing m/n = 8 %, 40 s per image on 2 shared CPU cores, where a step of
    adaptive-surgery took 0.2–0.7 s), never on the test split.

    adaptive-surgery's Adam steps (``latent_lr``, ``weights_lr``), mean PSNR gain over
    the defaults' generator image (faces / other photos; the worst photo):

    * (1e-3, 3e-4): +1.20 / +0.57 dB (worst +0.07), the defaults here;
    * (3e-4, 3e-4): +1.04 / +0.41 dB (worst +0.07);
    * (3e-3, 1e-3): +0.73 / +0.30 dB (worst −0.27: a lower held-out residual, chosen
      from about 98 held-out entries, and a worse image);
    * (1e-2, 3e-3): +0.00: the first steps raise the held-out residual and it never
      comes back below the start's within ``patience``, so the start is returned.

    ``patience`` (at those step sizes): 15 steps, +0.68 dB (on one photo the held-out
    residual rose for the first ~20 steps before falling, and the start was returned);
    30, +0.88 dB; 60, +0.89 dB. At 30 the held-out minimum came after 12–53 steps and 5
    of the 6 fits stopped by it within the budget. Given 20 s instead of 40 (the two
    candidates sharing 40 s), adaptive-surgery gained the same +0.88 dB.
    Back-projecting the result onto the fitted entries changed the PSNR by at most
    +0.03 dB (held-out residual lower on 3 photos, higher on 1, equal on 2), so
    ``back_projection`` is off.

    dip (added after; the same 3 + 3 validation photos, 20 s per image, 2 idle cores,
    ``benchmarks/adaptive.py``): Deep Image Prior's own widths (128 per scale) cost
    about 10× more per step than 8 per scale and, on a validation face fitted for 2000
    steps, did no better: 8 per scale reached 32.97 dB after 1000 steps and 34.02 after
    1500, 16 per scale 32.77 / 33.78, 32 per scale 31.87 / 32.82 (Adam 2e-2 instead of
    1e-2: lower at every step). With 8 per scale (about 20 ms a step here) and the budget
    left after adaptive-surgery, which stops by its held-out residual within about 2 s,
    dip ran 920–980 steps and gained over the defaults' generator image, at CS 8 %:
    +2.64 dB on faces and +1.41 on other photos (worst photo −0.01), where
    adaptive-surgery gained +1.21 / +0.57; at CS 2 %: +0.13 (worst −0.99) / +3.49, where
    adaptive-surgery gained +0.58 / +0.53. Both run (:data:`DEFAULT_CANDIDATES`), and the
    held-out choice keeps either only where it explains the held-out entries better.
    ``dip_patience`` 300: at CS 8 % the budget stopped dip on 5 of the 6 photos (770–1110
    steps, its held-out residual still falling) and the held-out stop on one (1014
    steps); at CS 2 % the held-out stop on 5 (380–800 steps).

    dip-warm at these settings, given 20 s per image (its warm-up fit of the defaults'
    image cut to 5 s, then about 20 steps), returned images −2.53 dB (faces) and
    −6.71 dB (other photos) below the defaults' generator image: at this budget it is
    not worth its share, and :func:`adaptive_candidates` runs it only when asked.

    The generator plus a DIP (Daniels, Hand & Heckel 2020's hybrid, here
    ``G_c(h) + D(θ) − D(θ₀)`` with dip's network, ``h`` and ``θ`` fitted jointly from the
    defaults' ``h``; 2 validation faces, CS 8 %, 12 s per image on cores shared with
    another run, 50–275 steps; measured with a candidate since removed): with ``dip_lr``
    1e-2 or 1e-3 no step lowered the held-out residual below the start's, so it
    returned the defaults' image (+0.00 dB); with 1e-4 it lowered it by 2–6 % and the
    image by 0.12 and 0.21 dB. With DIP's input perturbation its first step left the
    defaults' image far behind (held-out residual 4× the start's, −5.7 and −7.7 dB at the
    budget). It is not offered.

    Attributes:
        latent_lr: Adam's step on ``h`` (adaptive-surgery).
        weights_lr: Adam's step on ``G_c``'s weights (adaptive-surgery).
        patience: steps without a lower held-out residual before a fit stops.
        max_steps: steps at most per candidate, whatever the budget.
        back_projection: adaptive-surgery's image moved onto the fitted measurements
            (IAGAN's last step), kept only where it lowers the held-out residual.
        dip_lr: Adam's step on the DIP network's weights (dip, dip-warm).
        dip_warm_steps: steps fitting the network to the defaults' image (dip-warm), at
            most a quarter of its share of the budget.
        dip_channels: the DIP network's width per scale (dip-warm).
        dip_input_depth: channels of its fixed noise input (dip, dip-warm).
        dip_scales: the widths of dip's network, one per scale.
        dip_input_noise: std of dip's fresh perturbation of its input at every step.
        dip_patience: dip's steps without a lower held-out residual before it stops
            (its steps are cheaper and its held-out residual noisier than
            adaptive-surgery's).
    """

    latent_lr: float = 1e-3
    weights_lr: float = 3e-4
    patience: int = 30
    max_steps: int = 2000
    back_projection: bool = False
    dip_lr: float = 1e-2
    dip_warm_steps: int = 200
    dip_channels: tuple[int, ...] = (32, 32, 32, 32)
    dip_input_depth: int = 32
    dip_scales: tuple[int, ...] = (8, 8, 8, 8, 8)
    dip_input_noise: float = 1 / 30
    dip_patience: int = 300


@dataclass
class Candidate:
    """One candidate's answer for one image.

    Attributes:
        name: the candidate (``adaptive-surgery``, ``dip-warm``).
        image: (C, H, W) float32 in [0, 1], its iterate with the lowest held-out residual.
        held_out_residuals: that image's squared residuals (k,) float64 on the held-out
            entries of y (:attr:`held_out_score` is their mean).
        seconds: wall time the candidate took.
        steps: Adam steps taken on the measurements.
        stopped_by: ``held-out`` (no improvement for ``patience`` steps), ``budget``
            (another step and the last evaluation would overrun the seconds given, at
            the mean step's time) or ``steps`` (``max_steps``).
    """

    name: str
    image: np.ndarray
    held_out_residuals: np.ndarray
    seconds: float
    steps: int
    stopped_by: str

    @property
    def held_out_score(self) -> float:
        """The image's mean squared residual (≥ 0) on the held-out entries of y."""
        return float(np.mean(self.held_out_residuals))


class _HeldOutTrack:
    """The fit loss, held-out residual and stop of one candidate's Adam loop.

    :meth:`losses` computes the residual of all of y for an image, records the held-out
    residual of the iterate that made it (the i-th call sees iterate i: the start, then
    the parameters after each step) and keeps the image of the lowest; it returns the
    mean squared residual of the fitted entries, what Adam minimises. :meth:`stop` is
    :func:`adam_rows`'s stop after step ``step``.
    """

    def __init__(self, problem: Problem, held: np.ndarray, device: Any, patience: int,
                 max_steps: int, deadline: float, report: Callable[[int, Tensor, float], None]
                 ) -> None:
        self.operator = problem.operator
        self.y = to_tensor(problem.y, device).reshape(1, -1)
        self.held = torch.as_tensor(np.asarray(held, dtype=bool).reshape(-1), device=device)
        self.patience, self.max_steps, self.deadline = patience, max_steps, deadline
        self.report = report
        self.started = time.perf_counter()
        self.evaluated = 0  # iterates seen so far
        self.best_score = math.inf
        self.best_iterate = -1
        self.best_image: Tensor | None = None
        self.steps = 0
        self.stopped_by = "steps"

    def losses(self, images: Tensor) -> Tensor:
        residual = (self.operator.A(images).reshape(images.shape[0], -1) - self.y) ** 2
        score = float(residual[0, self.held].detach().mean())
        score = math.inf if math.isnan(score) else score  # an overflowed iterate never wins
        if self.best_image is None or score < self.best_score:
            self.best_score, self.best_iterate = score, self.evaluated
            self.best_image = images[0].detach().clone()
        self.evaluated += 1
        return residual[:, ~self.held].mean(dim=1)

    def stop(self, step: int, losses: Tensor) -> bool:
        """After step ``step`` (iterates 0 … step − 1 scored): whether to stop now."""
        self.steps = step
        self.report(step, losses, self.best_score)
        now = time.perf_counter()
        if (step - 1) - self.best_iterate >= self.patience:
            self.stopped_by = "held-out"
        elif now + 2 * (now - self.started) / step > self.deadline:  # a step, then finish
            self.stopped_by = "budget"
        elif step >= self.max_steps:
            self.stopped_by = "steps"
        else:
            return False
        return True


def adaptive_candidates(
    artifact: Any,
    problem: Problem,
    recovery: Recovery,
    *,
    budget_seconds: float,
    seed: int,
    names: Sequence[str] = DEFAULT_CANDIDATES,
    on_step: StepCallback | None = None,
    settings: AdaptiveSettings | None = None,
) -> list[Candidate]:
    """The candidates ``names`` for one image, continued from the defaults' ``recovery``.

    Args:
        artifact: the TorchScript artifact (``gs.artifacts.load`` of a ``.pt`` file) that
            made ``recovery``; its cut generator's weights are copied, never changed.
        problem: the image's operator and y.
        recovery: the defaults' result for ``problem`` (:func:`gs.invert.invert`), with
            its fitted latents and held-out entries.
        budget_seconds: wall seconds for all candidates together; each gets what is left
            divided by the candidates still to run.
        seed: the job's seed (dip-warm's network and input, from stream BASELINE).
        names: which candidates, in order (:data:`CANDIDATES`).
        on_step: called with a :class:`gs.results.StepEvent` after every step (stage:
            the candidate's position in ``names``; ``scores``: the lowest held-out
            residual so far); an exception it raises propagates (cancel).
        settings: hyperparameters (default :class:`AdaptiveSettings`).

    Raises:
        UserInputError: an ONNX artifact (its weights cannot be fine-tuned), an unknown
            candidate, or a recovery without held-out entries or latents.
    """
    from gs.artifacts.torchscript import TorchScriptArtifact

    if not isinstance(artifact, TorchScriptArtifact):
        path = getattr(artifact, "path", None)
        what = ("is an ONNX artifact, whose weights cannot be fine-tuned"
                if str(path).endswith(".onnx") else "is not a loaded TorchScript artifact")
        raise UserInputError(f"{what}; the best-quality mode needs the TorchScript (.pt) "
                             "artifact of the same generator (gs.artifacts.load)",
                             field="artifact", value=path)
    unknown = [name for name in names if name not in CANDIDATES]
    if unknown:
        raise UserInputError(f"is not a candidate; expected one of {', '.join(CANDIDATES)}",
                             field="names", value=unknown[0])
    if recovery.held_out is None or recovery.latents is None:
        raise UserInputError("needs the defaults' recovery with held-out measurements "
                             "(holdout > 0) and its latents", field="recovery")
    shapes = [tuple(np.shape(a)) for a in recovery.latents]
    if shapes != [tuple(shape) for shape in artifact.spec.shapes]:
        raise UserInputError(f"has latents of shapes {shapes}, not those of the artifact's "
                             f"cut {artifact.metadata.cut} {list(artifact.spec.shapes)}; "
                             "continue from a recovery of the same artifact",
                             field="recovery")
    s = settings or AdaptiveSettings()
    start = time.perf_counter()
    results = []
    for stage, name in enumerate(names):
        left = budget_seconds - (time.perf_counter() - start)
        deadline = time.perf_counter() + left / (len(names) - stage)
        fit = _FITS[name]
        report = _reporter(on_step, problem.index, stage, len(names), artifact.metadata.cut,
                           s.max_steps)
        results.append(fit(artifact, problem, recovery, s, deadline, seed, report))
    return results


def _reporter(on_step: StepCallback | None, index: int, stage: int, stages: int, cut: int,
              steps: int) -> Callable[[Callable[[], Tensor]], Callable[[int, Tensor, float], None]]:
    """``bind(render)`` → the report after a step: the step's fit loss and the lowest
    held-out residual so far, as a :class:`StepEvent`; ``current`` renders ``render()``."""

    def bind(render: Callable[[], Tensor]) -> Callable[[int, Tensor, float], None]:
        def report(step: int, losses: Tensor, score: float) -> None:
            if on_step is None:
                return

            def current(_: np.ndarray) -> np.ndarray:
                with torch.no_grad():
                    return to_image(render()[0])[None]

            values = losses.to(torch.float64).cpu().numpy().reshape(-1)
            on_step(step_event(stage, cut, step, steps, values, 1, current,
                               scores=np.array([score]), image=index, restarts=1,
                               stages=stages))

        return report

    return bind


def _finish(name: str, problem: Problem, track: _HeldOutTrack, started: float,
            back_projection: bool = False) -> Candidate:
    """The candidate of a finished fit: its best iterate, scored as the answer rule does."""
    from gs.methods.answer_scores import held_out_residuals

    held = np.asarray(track.held.cpu().numpy(), dtype=bool)
    image = to_image(track.best_image)  # type: ignore[arg-type]
    residuals = held_out_residuals(problem, image, held)
    if back_projection:
        projected = project_on_fitted(problem, image, held)
        projected_residuals = held_out_residuals(problem, projected, held)
        if np.mean(projected_residuals) < np.mean(residuals):
            image, residuals = projected, projected_residuals
    return Candidate(name, image, residuals, time.perf_counter() - started, track.steps,
                     track.stopped_by)


def project_on_fitted(problem: Problem, image: np.ndarray, held: np.ndarray) -> np.ndarray:
    """IAGAN's back-projection onto the fitted entries only: the smallest change of
    ``image`` whose measurements match y on the entries not ``held``, clipped to [0, 1]."""
    from gs.methods.iagan import back_project

    fitted = ~np.asarray(held, dtype=bool).reshape(-1)
    return np.clip(back_project(_Rows(problem.operator, fitted), image,
                                np.asarray(problem.y).reshape(-1)[fitted]), 0, 1
                   ).astype(np.float32)


class _Rows:
    """An operator restricted to some entries of its flattened y (numpy only)."""

    def __init__(self, operator: Any, rows: np.ndarray) -> None:
        self.operator, self.rows = operator, rows

    def A(self, x: np.ndarray) -> np.ndarray:  # noqa: N802 - the conventional name
        return np.asarray(self.operator.A(x)).reshape(x.shape[0], -1)[:, self.rows]

    def A_adjoint(self, y: np.ndarray) -> np.ndarray:  # noqa: N802 - the conventional name
        full = np.zeros((y.shape[0], self.rows.size), dtype=y.dtype)
        full[:, self.rows] = y
        return self.operator.A_adjoint(full.reshape(y.shape[0],
                                                    *self.operator.measurement_shape))


def _adaptive_surgery(artifact: Any, problem: Problem, recovery: Recovery, s: AdaptiveSettings,
                      deadline: float, seed: int, bind: Callable) -> Candidate:
    """Adam on the defaults' ``h`` and a copy of ``G_c``'s weights (IAGAN after the cut)."""
    started = time.perf_counter()
    device = artifact.device
    model = copy.deepcopy(artifact.module.tail)  # the artifact's own weights stay as they are
    weights = list(model.parameters())
    for weight in weights:
        weight.requires_grad_(True)
    latents = [to_tensor(np.asarray(a)[None], device, requires_grad=True)
               for a in recovery.latents]  # type: ignore[union-attr]

    def render() -> Tensor:
        return model(*latents)

    track = _HeldOutTrack(problem, recovery.held_out, device, s.patience,  # type: ignore[arg-type]
                          s.max_steps, deadline, bind(render))
    _adam_rows([{"params": latents, "lr": s.latent_lr},
                {"params": weights, "lr": s.weights_lr}],
               lambda: track.losses(render()), s.max_steps, s.latent_lr, stop=track.stop)
    return _finish("adaptive-surgery", problem, track, started, s.back_projection)


def _dip_network(problem: Problem, channels: Sequence[int], input_depth: int, seed: int,
                 device: Any) -> tuple[torch.nn.Module, Tensor, torch.Generator]:
    """A DIP network seeded from (seed, problem index), its fixed input (uniform × 0.1)
    and the generator that drew them (for the input's perturbations)."""
    from gs.methods.deep_decoder import reset_parameters_seeded
    from gs.methods.dip import SkipNet, check_sides, scales_for

    c, h, w = problem.operator.image_shape
    channels = scales_for(min(h, w), channels)
    check_sides((c, h, w), len(channels), "the DIP candidate")
    gen = torch_generator(seed, problem.index)
    net = SkipNet(input_depth, channels, 4, c)
    reset_parameters_seeded(net, gen)
    net.to(device).train()
    inputs = (torch.rand((1, input_depth, h, w), generator=gen) * 0.1).to(device)
    return net, inputs, gen


def _dip(artifact: Any, problem: Problem, recovery: Recovery, s: AdaptiveSettings,
         deadline: float, seed: int, bind: Callable) -> Candidate:
    """Deep Image Prior from its random start on the fitted entries, the held-out stop.

    Each step's image is the network's output for its perturbed input (DIP's own output);
    that image is scored, kept if it is the best, and shown by the step's event."""
    started = time.perf_counter()
    device = artifact.device
    net, inputs, gen = _dip_network(problem, s.dip_scales, s.dip_input_depth, seed, device)
    from gs.methods.deep_decoder import input_perturbation

    shaken = input_perturbation(inputs, s.dip_input_noise, gen)
    scored: list[Tensor] = []  # the last image scored: what DIP itself shows and returns

    def perturbed() -> Tensor:
        image = net(shaken())
        scored[:] = [image.detach()]
        return image

    def render() -> Tensor:
        return scored[0] if scored else net(inputs)

    track = _HeldOutTrack(problem, recovery.held_out, device,  # type: ignore[arg-type]
                          s.dip_patience, s.max_steps, deadline, bind(render))
    _adam_rows(list(net.parameters()), lambda: track.losses(perturbed()), s.max_steps,
               s.dip_lr, stop=track.stop)
    return _finish("dip", problem, track, started)


def _dip_warm(artifact: Any, problem: Problem, recovery: Recovery, s: AdaptiveSettings,
              deadline: float, seed: int, bind: Callable) -> Candidate:
    """A DIP network fitted to the defaults' image, then to the fitted measurements."""
    started = time.perf_counter()
    device = artifact.device
    net, inputs, _ = _dip_network(problem, s.dip_channels, s.dip_input_depth, seed, device)
    target = to_tensor(recovery.image[None], device)
    params = list(net.parameters())
    warm_deadline = started + (deadline - started) / 4  # at most a quarter of its share

    def warm_stop(step: int, _: Tensor) -> bool:
        return time.perf_counter() > warm_deadline

    _adam_rows(params, lambda: (net(inputs) - target).pow(2).flatten(1).mean(dim=1),
               s.dip_warm_steps, s.dip_lr, stop=warm_stop)

    def render() -> Tensor:
        return net(inputs)

    track = _HeldOutTrack(problem, recovery.held_out, device, s.patience,  # type: ignore[arg-type]
                          s.max_steps, deadline, bind(render))
    _adam_rows(params, lambda: track.losses(render()), s.max_steps, s.dip_lr, stop=track.stop)
    return _finish("dip-warm", problem, track, started)


def _adam_rows(*args: Any, **kwargs: Any) -> Tensor:
    """:func:`gs.methods.fitting.adam_rows` with torch's fused Adam: the candidates run on
    a wall-clock budget, so their step rate is their quality (dip, CS 8 %, 15 s on shared
    cores: 410 and 445 steps fused against 354 and 326)."""
    return adam_rows(*args, fused=True, **kwargs)


#: Each candidate's fit, by name.
_FITS = {"adaptive-surgery": _adaptive_surgery, "dip": _dip, "dip-warm": _dip_warm}
#: The candidates :func:`adaptive_candidates` knows.
CANDIDATES = tuple(_FITS)
