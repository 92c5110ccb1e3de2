"""Typed inversion settings: the presets models recommend and users override."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Annotated, Any

from gs.errors import UserInputError
from gs.operators.registry import TASKS  # noqa: F401 - re-exported; the registry owns it
from gs.params import Param, declared_params
from gs.solve.options import LINE_SEARCHES

OPTIMIZERS = ("lbfgs", "adam")
PRECISIONS = ("fp32", "bf16", "auto")
PRESETS = ("recommended", "paper")
#: What surgery returns: the generator's image; the task's classical answer (no inversion);
#: or per image the best of the classical answer and its blends with the generator's image
#: by data the fit never saw (:mod:`gs.methods.answer`).
ANSWERS = ("generator", "classical", "held_out")
#: How a blend mixes the classical answer x_cl and the generator's image G with weight β.
BLENDS = ("convex", "detail")
#: fast: the fitted generator's answer (the defaults); best: then, within ``budget``
#: seconds per image, candidates adapted to the image, kept where the held-out
#: measurements prefer them (:mod:`gs.methods.adaptive`).
QUALITIES = ("fast", "best")


@dataclass(frozen=True)
class InversionSettings:
    """How to optimise the latent(s) of a cut generator.

    Each field declares its type, allowed values, default and one-line help once
    (:class:`gs.params.Param`); validation, the ``gs-invert`` flags and the page's form
    read those declarations. What each field means in full:

    Attributes:
        optimizer: ``lbfgs`` (torch semantics) or ``adam``.
        lr: learning rate (L-BFGS step scale or first line-search trial, Adam's lr).
        steps: outer steps; each L-BFGS step runs up to ``inner_iterations``.
        inner_iterations: L-BFGS iterations per outer step (torch's ``max_iter``).
        restarts: independent random initialisations; the best is chosen by the
            held-out residual when ``holdout > 0``, else by the measurement loss.
        history_size: L-BFGS curvature pairs kept per sample.
        tolerance: relative improvement of a sample's score over one outer step
            (Adam: 20 iterations) below which it counts as converged and stops
            costing compute (0 disables: the paper's fixed protocol). The score
            is the held-out residual when ``holdout > 0``, else the loss.
        patience: consecutive outer steps under ``tolerance`` before stopping.
        schedule: cuts solved in order for progressive surgery, ending at the
            artifact's cut; empty means solve at the artifact's cut only.
        precision: ``fp32``, ``bf16`` autocast for the generator's forward and
            backward (latents, residuals and optimiser state stay float32), or
            ``auto``: bf16 where the hardware computes it natively (CUDA, or a
            CPU with AMX/AVX512-BF16), else fp32.
        keep_restarts_after: after this many outer steps only each image's best
            restart so far (by measurement loss) keeps optimising; 0 runs every
            restart to the end (the paper's protocol).
        keep_best: every sample ends at the best point it visited (the lowest held-out
            residual when ``holdout > 0``, else the lowest loss) rather than its last one
            (L-BFGS without line search can step uphill); False reproduces the paper's
            protocol exactly.
        line_search: ``none`` (fixed step ``lr``, the paper) or ``strong_wolfe``
            (L-BFGS only: each sample searches its own step length).
        holdout: fraction of each image's measurement entries held out of the
            fit (a seeded random mask, Stream.HOLDOUT); each sample is scored,
            stopped (``tolerance``/``patience``) and ends at its best point by
            the held-out residual, and restarts are chosen by it —
            cross-validated early stopping (Ward 2009). 0 fits every entry.
        discrepancy: stop a sample once its mean squared residual is at most
            ``discrepancy × σ²`` (σ the operator's noise std): the discrepancy
            principle; 0, or noise-free measurements, disables it.
        min_steps: outer steps of every stage before any stop rule judges a
            sample, so that a warm-started stage gets a fair chance.
        answer: ``generator``: the image of the chosen latents (the paper);
            ``classical``: the task's classical answer, no inversion (where the generator
            measured no better); ``held_out``: per image, the classical answer or one of
            its blends with the generator's image, whichever explains the held-out
            measurements best (denoising, where nothing can be left out of the
            classical answer: the lower estimated risk, SURE against the held-out
            residual); needs ``holdout``. See :mod:`gs.methods.answer`.
        blend: ``convex``: ``(1 − β)·x_cl + β·G`` (β = 1 is the generator's image);
            ``detail``: ``x_cl + β·(G − P(A G))``, the classical answer plus β times the
            generator's detail that the classical reconstructor P does not recover.
        blend_weights: the weights β in (0, 1] the ``held_out`` answer considers beside
            the classical answer itself (β = 0).
        answer_margin: a blend is returned only if its held-out score is lower than the
            classical answer's by this fraction.
        answer_confidence: and only if that lead is this many standard errors of the
            paired per-entry difference of squared held-out residuals (a one-sided
            z-test): with few held-out entries (a 32 px image at SR x4 holds out 6) a
            lower mean is often chance. 0 disables the test.
        quality: ``fast`` (the answer above) or ``best``: then candidates adapted to
            the image (:mod:`gs.methods.adaptive`), each kept only where the held-out
            measurements prefer it by ``answer_margin``.
        budget: seconds per image the ``best`` candidates may take (each stops by its
            held-out residual or at the budget, whichever comes first).
        ensemble: independent fits of each image (each with its own ``restarts`` random
            starts and the whole ``schedule``, all holding out the same entries) whose
            images are averaged into the generator's image: where the measurements leave
            much of the image open, the mean of several fits that explain them is closer
            to the truth than any one of them. 1: a single fit (the paper).
    """

    optimizer: Annotated[str, Param(
        "lbfgs (default) or adam, each with its own measured lr, step cap and line search "
        "unless those are given too.", choices=OPTIMIZERS)] = "lbfgs"
    lr: Annotated[float, Param("Learning rate / L-BFGS step scale.", min=0, min_open=True,
                               finite=True)] = 1.0
    steps: Annotated[int, Param("Outer optimisation steps.", min=1)] = 25
    inner_iterations: Annotated[int, Param("L-BFGS iterations per step.", min=1)] = 20
    restarts: Annotated[int, Param(
        "Random restarts; the best wins (by held-out residual, else by loss).", min=1)] = 3
    history_size: Annotated[int, Param("L-BFGS curvature pairs kept per sample.", min=1)] = 100
    tolerance: Annotated[float, Param(
        "Per-sample relative loss change that counts as converged (0 = never).",
        min=0, max=1)] = 1e-3
    patience: Annotated[int, Param("Consecutive outer steps under the tolerance before a "
                                   "sample stops.", min=1)] = 1
    schedule: Annotated[tuple[int, ...], Param(
        "Cuts solved in increasing order for progressive surgery, ending at the artifact's "
        "cut (none: that cut only).", min=0)] = ()
    precision: Annotated[str, Param(
        "bf16: autocast the generator (CUDA, or CPUs with AMX/AVX512-BF16); auto: bf16 where "
        "the hardware has it.", choices=PRECISIONS)] = "fp32"
    keep_restarts_after: Annotated[int, Param(
        "After N steps only each image's best restart goes on (0 = all, paper).", min=0)] = 0
    keep_best: Annotated[bool, Param(
        "End each sample at its best point, not its last (false: the paper's protocol).")
    ] = True
    line_search: Annotated[str, Param(
        "L-BFGS step lengths: none (fixed lr, the paper) or strong_wolfe.",
        choices=LINE_SEARCHES)] = "none"
    holdout: Annotated[float, Param(
        "Fraction of measurements held out to stop each restart at its best held-out "
        "residual (0 = fit all, fixed budget).", min=0, max=1, max_open=True)] = 0.0
    discrepancy: Annotated[float, Param(
        "Stop a sample once its mean squared residual is at most this many noise variances "
        "(0 = never).", min=0, finite=True)] = 0.0
    min_steps: Annotated[int, Param("Outer steps of every stage before any stop rule judges "
                                    "a sample.", min=0)] = 0
    answer: Annotated[str, Param(
        "held_out (recommended): per image the classical answer, the generator's image or a "
        "blend, whichever explains the held-out measurements best; generator: the "
        "generator's image always (the paper); classical: the task's classical answer.",
        choices=ANSWERS)] = "generator"
    blend: Annotated[str, Param(
        "How a blend mixes the classical answer and the generator's image: convex or detail.",
        choices=BLENDS)] = "convex"
    blend_weights: Annotated[tuple[float, ...], Param(
        "The generator's weights in the blends the held_out answer considers.",
        min=0, max=1, min_open=True)] = ()
    answer_margin: Annotated[float, Param(
        "Fraction by which a blend's held-out score must beat the classical answer's.",
        min=0, max=1, max_open=True)] = 0.0
    answer_confidence: Annotated[float, Param(
        "Standard errors by which a blend's held-out lead must hold (0 = no test).",
        min=0, finite=True)] = 0.0
    quality: Annotated[str, Param(
        "fast (default): the answer above. best: then adapt to each image (the cut "
        "generator fine-tuned with its latent, stopped by the held-out measurements) and "
        "return it where those measurements prefer it (a task whose recorded answer is the "
        "classical one keeps it); needs a .pt artifact.", choices=QUALITIES)] = "fast"
    budget: Annotated[float, Param("Seconds per image that quality best may spend adapting.",
                                   min=0, min_open=True, finite=True)] = 20.0
    ensemble: Annotated[int, Param("Independent fits of each image, their images averaged "
                                   "(1 = a single fit, the paper).", min=1)] = 1

    def __post_init__(self) -> None:
        """Check each field against its declaration, then the rules that tie fields together.

        The values are kept as given (an ``int`` learning rate stays one), so that settings
        written as JSON read back to the same bytes.
        """
        for declared in declared_params(InversionSettings).values():
            declared.check(getattr(self, declared.name))
        if self.holdout > 0 and not self.keep_best:
            raise UserInputError("cannot be combined with {keep_best}: a held-out stop ends each "
                                 "sample at its best held-out point",
                                 field="holdout", refs=("keep_best",))
        if self.answer == "held_out" and self.holdout <= 0:
            raise UserInputError("needs {holdout} > 0: the answer is chosen by the held-out "
                                 "measurements", field="answer", refs=("holdout",))
        if self.quality == "best" and self.holdout <= 0:
            raise UserInputError("needs {holdout} > 0: the candidates are chosen by the "
                                 "held-out measurements", field="quality", refs=("holdout",))
        if list(self.schedule) != sorted(set(self.schedule)):
            raise UserInputError(f"must list increasing cuts, got {self.schedule!r}",
                                 field="schedule")

    def override(self, **changes: Any) -> InversionSettings:
        """A copy with every non-None value of ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def with_user_changes(self, **changes: Any) -> InversionSettings:
        """These settings with a user's changes (None values: unchanged), and the rules
        that tie fields together: a chosen optimiser brings its own measured fields
        (:meth:`with_optimizer`) unless they are given too; the last iterate
        (``keep_best=False``) excludes a held-out best point, so it fits every
        measurement unless ``holdout`` is given; with nothing held out (``holdout=0``)
        there is nothing to choose an answer by, so the generator's image is returned
        unless ``answer`` is given."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes.get("keep_best") is False:
            changes.setdefault("holdout", 0.0)
        if changes.get("holdout") == 0:
            changes.setdefault("answer", "generator")
        return self.with_optimizer(changes.get("optimizer")).override(**changes)

    def with_optimizer(self, optimizer: str | None) -> InversionSettings:
        """These settings run by ``optimizer`` with its own measured step size, step cap
        and line search (:data:`OPTIMIZER_DEFAULTS`); unchanged for None or the optimiser
        they already use. Apply a user's own values afterwards (:meth:`override`)."""
        if optimizer is None or optimizer == self.optimizer:
            return self
        declared_params(InversionSettings)["optimizer"].check(optimizer)
        return replace(self, optimizer=optimizer, **asdict(OPTIMIZER_DEFAULTS[optimizer]))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schedule"] = list(self.schedule)
        data["blend_weights"] = list(self.blend_weights)
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
        if "blend_weights" in values:
            values["blend_weights"] = tuple(float(w) for w in values["blend_weights"])
        return cls(**values)


def paper_settings(lr: float, steps: int) -> InversionSettings:
    """The paper's protocol with a model's Table 1 ``lr`` and ``steps``.

    L-BFGS without line search, 20 iterations per step, 3 restarts all run to
    the end, no tolerance, each restart's last iterate, chosen by measurement
    loss, from noise at the artifact's cut, float32.
    """
    return InversionSettings(optimizer="lbfgs", lr=lr, steps=steps, inner_iterations=20,
                             restarts=3, history_size=100, tolerance=0.0, patience=1,
                             schedule=(), precision="fp32", keep_restarts_after=0,
                             keep_best=False, line_search="none", holdout=0.0,
                             discrepancy=0.0, min_steps=0, answer="generator")


@dataclass(frozen=True)
class OptimizerDefaults:
    """The fields whose best value depends on the optimiser: step size (L-BFGS: the first
    line-search trial; Adam: its learning rate), step cap (L-BFGS outer steps; Adam
    iterations), L-BFGS iterations per step, and the line search (L-BFGS only)."""

    lr: float
    steps: int
    inner_iterations: int
    line_search: str


#: Each optimiser's measured fields (BENCHMARKS.md, "Defaults" and "Adam's own
#: defaults"): choosing an optimiser takes its own unless they are set too.
OPTIMIZER_DEFAULTS: dict[str, OptimizerDefaults] = {
    "lbfgs": OptimizerDefaults(lr=1.0, steps=40, inner_iterations=5, line_search="strong_wolfe"),
    "adam": OptimizerDefaults(lr=0.03, steps=1000, inner_iterations=5, line_search="none"),
}

# The measured engine defaults (BENCHMARKS.md, "Defaults"): DCGAN face weights, real
# faces, CPU. The schedule is filled in per cut by recommended_settings.
_ENGINE = InversionSettings(
    optimizer="lbfgs", **asdict(OPTIMIZER_DEFAULTS["lbfgs"]), restarts=3, history_size=100,
    tolerance=1e-3, patience=1, precision="fp32", keep_restarts_after=1, keep_best=True,
    holdout=0.1, discrepancy=1.0, min_steps=1,
)
_EIGHTHS = tuple(k / 8 for k in range(1, 9))
#: What each task's defaults return (BENCHMARKS.md, "Never worse than the classical
#: answer"), chosen on the validation photos against the task's classical answer:
#: compressed sensing blends TV with the generator's image by the held-out rows;
#: inpainting adds a little of the generator's detail to the biharmonic answer where the
#: held-out pixels ask for it by a clear margin; for super-resolution and denoising no
#: generator-based candidate measured better than bicubic and BM3D, which they return.
MEASURED_DEFAULTS: dict[str, InversionSettings] = {
    "cs": replace(_ENGINE, answer="held_out", blend="convex", blend_weights=_EIGHTHS,
                  answer_margin=0.1),
    "inpaint": replace(_ENGINE, answer="held_out", blend="detail", blend_weights=(0.125, 0.25),
                       answer_margin=0.25),
    "sr": replace(_ENGINE, answer="classical"),
    "denoise": replace(_ENGINE, answer="classical"),
    # MRI adds to TV at most half of the generator's detail that TV cannot recover from
    # the sampled lines (inpainting's rule, β ≤ ½), scored on 20 % of the sampled k-space
    # entries held out: chosen among 180 rules on 10 training slices of colin27-vae
    # (+0.88 / +1.57 dB over TV at x4 / x8, no slice below it) and checked on 10 other
    # training slices (+0.63 / +1.07 dB); on the 20 test slices +0.65 / +2.11 dB. Convex
    # blends up to the generator's own image, the rule before, lost 0.04 dB to TV on the
    # test mean at x4 (BENCHMARKS.md, "MRI and deblurring"). Deblurring blends TV with
    # the generator's image as compressed sensing does; it measured at or above TV on the
    # validation photos, MNIST's training digits and colin27's training slices as it is.
    "mri": replace(_ENGINE, holdout=0.2, answer="held_out", blend="detail",
                   blend_weights=(0.25, 0.5), answer_margin=0.25),
    "deblur": replace(_ENGINE, answer="held_out", blend="convex", blend_weights=_EIGHTHS,
                      answer_margin=0.1),
    "raw": _ENGINE,
}


def recommended_settings(task: str, cut: int) -> InversionSettings:
    """The measured defaults for ``task`` on an artifact cut at ``cut``.

    Progressive surgery from c = 0 to ``cut`` (the shallow solve finds a face,
    the deep one refines it), strong-Wolfe L-BFGS, restarts screened after one
    step, each sample stopped by its held-out residual (and at the noise floor
    where the noise is known); then the answer of :data:`MEASURED_DEFAULTS`.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if cut < 0:
        raise ValueError(f"cut must be non-negative, got {cut}")
    return replace(MEASURED_DEFAULTS.get(task, _ENGINE), schedule=(0, cut) if cut > 0 else ())
