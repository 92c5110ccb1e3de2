"""DeepInverse (``deepinv``) and gs: its physics as gs operators, gs's recovery as its model.

* :func:`from_physics` wraps any ``deepinv.physics.LinearPhysics`` as a gs
  :class:`~gs.operators.Operator`: ``A`` and ``A_adjoint`` are the physics' own, and its
  noise model becomes gs's (``GaussianNoise(sigma)`` → ``noise_std = sigma``, no noise →
  0); another noise model is refused, since gs's held-out rule and noise floors assume
  Gaussian noise of known std. deepinv's single-coil ``MRI`` (complex images) measures
  each channel of a real gs image, with gs's MRI layout and held-out groups.
* :class:`GSReconstructor` is gs's surgery as a deepinv reconstructor, called as
  ``model(y, physics)`` → x̂ ``(B, C, H, W)``: the artifact's recommended settings for a
  task, restarts, progressive surgery and the answer rule, exactly as gs-invert runs them;
  a wrapped physics has no classical answer (gs's read their operator's kernel, mask or
  matrix), so the answer is the generator's image.

Both run on torch: a wrapped physics serves TorchScript artifacts only (an ONNX artifact
runs on numpy and onnxruntime, which a deepinv physics cannot join). ``pip install
gs[deepinv]`` installs deepinv; this module imports it only to check types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from gs.errors import UserInputError
from gs.operators import Operator
from gs.operators.validation import as_image_shape


def _deepinv() -> Any:
    try:
        import deepinv
    except ImportError as exc:
        raise ImportError(f"gs.interop.deepinv needs deepinv (pip install 'gs[deepinv]'): "
                          f"{exc}") from exc
    return deepinv


def noise_std_of(physics: Any) -> float:
    """gs's ``noise_std`` of a deepinv physics' noise model: a ``GaussianNoise``'s one
    sigma, 0 for none (``ZeroNoise`` or no model).

    Raises:
        UserInputError: a noise model gs cannot represent (Poisson, uniform, a sigma per
            batch item...), naming it (field ``physics``).
    """
    physics_module = _deepinv().physics
    model = getattr(physics, "noise_model", None)
    if model is None or isinstance(model, physics_module.ZeroNoise):
        return 0.0
    if type(model) is physics_module.GaussianNoise:
        sigma = torch.as_tensor(model.sigma)
        if sigma.numel() != 1:
            raise UserInputError(f"has a GaussianNoise with {sigma.numel()} sigmas; gs needs "
                                 "one noise std for every measurement", field="physics")
        return float(sigma.reshape(()))
    raise UserInputError(f"has the noise model {type(model).__name__}, which gs cannot "
                         "represent: gs models additive Gaussian noise of one known std "
                         "(GaussianNoise or ZeroNoise)", field="physics")


def _physics_dtype(physics: torch.nn.Module) -> torch.dtype:
    """The floating dtype of the physics' buffers and parameters (float32 if it has none)."""
    for tensor in (*physics.buffers(), *physics.parameters()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def _physics_device(physics: torch.nn.Module) -> torch.device:
    for tensor in (*physics.buffers(), *physics.parameters()):
        return tensor.device
    return torch.device("cpu")


class DeepinvOperator(Operator):
    """A deepinv ``LinearPhysics`` as a gs operator (see :func:`from_physics`).

    ``A`` and ``A_adjoint`` take torch tensors, and numpy arrays (converted through torch,
    for gs's own bookkeeping: measurement losses, previews, the norm); they are computed
    in the physics' own dtype and device and returned in the input's. Measurements must
    be real: a physics whose ``A`` returns complex tensors is refused.
    """

    task: ClassVar[str] = "deepinv"
    name: ClassVar[str] = "physics"

    def __init__(self, physics: Any, image_shape: tuple[int, int, int]) -> None:
        physics_module = _deepinv().physics
        if not isinstance(physics, physics_module.LinearPhysics):
            raise UserInputError(f"must be a deepinv LinearPhysics, got "
                                 f"{type(physics).__name__}", field="physics")
        super().__init__(as_image_shape(image_shape), noise_std_of(physics))
        self.physics = physics
        self._dtype = _physics_dtype(physics)
        self._device = _physics_device(physics)
        # deepinv's single-coil MRI images are complex, (B, 2, H, W) real and imaginary
        # parts; gs's are real (B, C, H, W): each channel is measured as a complex image
        # of imaginary part 0, and y takes gs's MRI layout (B, C, 2, H, W)
        self._complex = (type(physics) is physics_module.MRI
                         and not getattr(physics, "three_d", False))
        with torch.no_grad():
            probe = self._forward(torch.zeros((1, *self.image_shape), dtype=self._dtype,
                                              device=self._device))
        if probe.is_complex():
            raise UserInputError("returns complex measurements; gs needs real ones (deepinv's "
                                 "MRI physics gives real and imaginary parts as channels)",
                                 field="physics")
        self._measurement_shape = tuple(int(s) for s in probe.shape[1:])

    @property
    def measurement_shape(self) -> tuple[int, ...]:
        return self._measurement_shape

    def _apply(self, function: Any, array: Any, shape: tuple[int, ...], what: str) -> Any:
        self._check(array, shape, what)
        as_numpy = isinstance(array, np.ndarray)
        tensor = torch.from_numpy(np.ascontiguousarray(array)) if as_numpy else array
        out = function(tensor.to(device=self._device, dtype=self._dtype))
        out = out.to(device=tensor.device, dtype=tensor.dtype)
        return out.detach().numpy() if as_numpy else out

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._complex:
            return self.physics.A(x)
        batch, channels, height, width = x.shape
        images = x.reshape(batch * channels, 1, height, width)
        k = self.physics.A(torch.cat([images, torch.zeros_like(images)], dim=1))
        return k.reshape(batch, channels, 2, height, width)

    def _adjoint(self, y: torch.Tensor) -> torch.Tensor:
        if not self._complex:
            return self.physics.A_adjoint(y)
        batch, channels, _, height, width = y.shape
        images = self.physics.A_adjoint(y.reshape(batch * channels, 2, height, width))
        # the adjoint of taking a real image as complex is taking the real part
        return images[:, 0].reshape(batch, channels, height, width)

    def A(self, x: Any) -> Any:  # noqa: N802 - the conventional name
        """The physics' ``A``: ``(B, C, H, W)`` → ``(B, *measurement_shape)``."""
        return self._apply(self._forward, x, self.image_shape, "images")

    def A_adjoint(self, y: Any) -> Any:  # noqa: N802 - the conventional name
        """The physics' ``A_adjoint``: ``(B, *measurement_shape)`` → ``(B, C, H, W)``."""
        return self._apply(self._adjoint, y, self.measurement_shape, "measurements")

    def measurement_groups(self) -> np.ndarray:
        """gs's own grouping, read off ``A``: entries no image reaches are -1 (never held
        out); the channels of one pixel of an image-shaped ``y`` (C, h, w) are one group,
        since a fit would otherwise read a held-out value off its neighbour channel; any
        other entry stands alone."""
        if self._complex:
            return self._mirror_groups()
        positive = np.random.default_rng(0).uniform(0.5, 1.0, (1, *self.image_shape))
        reach = np.abs(self.A(positive.astype(np.float32))).reshape(-1) > 0
        shape = self.measurement_shape
        if len(shape) == 3 and shape[0] == self.image_shape[0] > 1:
            per_pixel = np.arange(shape[1] * shape[2], dtype=np.int64).reshape(1, *shape[1:])
            groups = np.broadcast_to(per_pixel, shape).reshape(-1).copy()
        else:
            groups = np.arange(self.measurement_size, dtype=np.int64)
        groups[~reach] = -1
        kept = groups >= 0
        groups[kept] = np.unique(groups[kept], return_inverse=True)[1]  # numbered 0, 1, ...
        return groups

    def _mirror_groups(self) -> np.ndarray:
        """MRI: as gs's own MRI operator groups its k-space (a sampled entry with its
        mirror −f, which holds the same information for a real image; both parts and
        every channel together; the imaginary part of a self-conjugate entry, always 0,
        and unsampled entries -1), for the physics' mask, centred as gs's k-space is."""
        from gs.operators.mri import mirror_index

        channels, _, height, width = self.measurement_shape
        mask = self.physics.mask.detach().to("cpu").numpy().reshape(-1, height, width)
        sampled = mask[0] != 0
        rows, cols = mirror_index(height), mirror_index(width)
        self_conjugate = ((rows[:, None] == np.arange(height)[:, None])
                          & (cols[None, :] == np.arange(width)[None, :]))
        kept = np.stack([sampled, sampled & ~self_conjugate])
        flat = np.arange(height * width).reshape(height, width)
        pair = np.minimum(flat, flat[rows[:, None], cols[None, :]])
        groups = np.where(kept, pair[None], -1).astype(np.int64)
        return np.broadcast_to(groups[None], self.measurement_shape).reshape(-1).copy()

    def describe(self) -> str:
        return f"deepinv {type(self.physics).__name__}"

    def spec(self) -> dict[str, Any]:
        """What the operator is; unlike gs's own, it cannot be rebuilt from it (the physics
        is a Python object, not a set of options)."""
        return {"task": self.task, "operator": type(self.physics).__name__,
                "image_shape": list(self.image_shape), "noise_std": self.noise_std}


def from_physics(physics: Any, image_shape: tuple[int, int, int]) -> DeepinvOperator:
    """Any deepinv ``LinearPhysics`` as a gs operator on images of ``image_shape`` (C, H, W).

    The physics' noise model gives ``noise_std`` (:func:`noise_std_of`). Serves
    TorchScript artifacts only; see :class:`DeepinvOperator`.

    Raises:
        UserInputError: not a ``LinearPhysics``, complex measurements, or a noise model
            gs cannot represent (field ``physics``).
    """
    return DeepinvOperator(physics, image_shape)


class GSReconstructor(torch.nn.Module):
    """gs's recovery as a deepinv reconstructor: ``model(y, physics)`` → x̂.

    Args:
        artifact: a TorchScript artifact (``.pt`` path or a loaded artifact).
        task: whose recommended settings to run (the artifact's ``gs.json``): ``cs`` by
            default, the settings gs uses for a general linear operator.
        seed: the seed of the initial latents (image i of a batch uses image index i).
        overrides: settings to change (``steps=2``, ``restarts=1``, ...), None left as is.

    Called with ``y`` ``(B, *measurement_shape)`` (torch) and the physics that measured
    it; returns x̂ ``(B, C, H, W)`` float32 in [0, 1] on ``y``'s device.

    Raises:
        UserInputError: an ONNX artifact (field ``artifact``).
    """

    def __init__(self, artifact: Any, task: str = "cs", seed: int = 0,
                 **overrides: Any) -> None:
        super().__init__()
        from gs import artifacts
        from gs.methods import build_method

        if isinstance(artifact, str | Path):
            artifact = artifacts.load(artifact)
        if artifact.metadata.format != "torchscript":
            raise UserInputError(f"must be a TorchScript artifact (.pt): a deepinv physics runs "
                                 f"on torch, got a {artifact.metadata.format} one",
                                 field="artifact")
        self.artifact = artifact
        self.seed = seed
        settings = artifact.metadata.settings_for(task).override(**overrides)
        self.method = build_method("surgery", task=task, artifact=artifact, settings=settings)

    def problems(self, y: torch.Tensor, physics: Any) -> list[Any]:
        """The gs problems of a batch: image i's operator is the wrapped physics."""
        from gs.problems import Problem

        operator = from_physics(physics, self.artifact.metadata.image_shape)
        expected = (len(y), *operator.measurement_shape)
        if tuple(y.shape) != expected:
            raise UserInputError(f"has shape {tuple(y.shape)}; the physics measures {expected}",
                                 field="y")
        observed = y.detach().to("cpu", torch.float32).numpy()
        return [Problem(Path(f"y[{i}]"), i, operator, observed[i]) for i in range(len(y))]

    def forward(self, y: torch.Tensor, physics: Any, **kwargs: Any) -> torch.Tensor:
        recoveries = self.method.solve(self.problems(y, physics), seed=self.seed)
        images = np.stack([r.image for r in recoveries]).astype(np.float32)
        return torch.from_numpy(images).to(y.device)


__all__ = ["DeepinvOperator", "GSReconstructor", "from_physics", "noise_std_of"]
