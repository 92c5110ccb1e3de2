"""How well an image explains data it was not fitted to: its residual on the held-out
entries of y, or, for a denoiser that needs every entry, Stein's unbiased risk estimate.
The answer rule (:mod:`gs.methods.answer`) and the best-quality candidates
(:mod:`gs.methods.adaptive`) score with these; lower is better."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from gs.problems import Problem
from gs.seeding import Stream, problem_rng


def held_out_residuals(problem: Problem, image: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Squared residuals (k,) float64 of ``image`` (C, H, W) on the ``held`` entries of y
    (bool, flattened y, k of them True)."""
    residual = (problem.operator.A(np.asarray(image, np.float64)[None])[0]
                - np.asarray(problem.y, np.float64)).reshape(-1)
    return residual[held] ** 2


def held_out_score(problem: Problem, image: np.ndarray, held: np.ndarray) -> float:
    """Mean squared residual (≥ 0) of ``image`` (C, H, W) on the ``held`` entries of y."""
    return float(np.mean(held_out_residuals(problem, image, held)))


def sure_score(problem: Problem, method: Any, image: np.ndarray, seed: int) -> float:
    """Stein's unbiased estimate of ``‖image − x*‖²/n + σ²`` for a denoiser ``method``
    (A = I, noise σ known) whose answer to ``problem`` is ``image`` (C, H, W):
    ``‖y − f(y)‖²/n + 2σ²·div f/n``, the divergence by one Monte-Carlo probe
    ``bᵀ(f(y + εb) − f(y))/ε`` (b from stream BASELINE of ``seed``)."""
    y = np.asarray(problem.y, np.float64)
    sigma = problem.operator.noise_std
    n = y.size
    probe = problem_rng(seed, problem.index, Stream.BASELINE).standard_normal(y.shape)
    epsilon = 0.01 * max(sigma, 1e-3)
    nudged = replace(problem, y=(y + epsilon * probe).astype(np.float32))
    moved = np.asarray(method.solve([nudged], seed=seed)[0].image, np.float64)
    divergence = float(np.sum(probe * (moved - image))) / epsilon
    return float(np.sum((y - image) ** 2) / n + 2 * sigma**2 * divergence / n)
