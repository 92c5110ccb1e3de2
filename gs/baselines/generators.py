"""Where the baselines that need the whole pretrained generator get it from."""

from __future__ import annotations

from pathlib import Path

from gs.models.base import StagedGenerator


def load_full_generator(weights: str | Path, model: str | None = None) -> StagedGenerator:
    """The whole pretrained generator stored at ``weights`` (eval mode, frozen weights).

    Accepts what ``gs-export`` accepts (a pytorch-examples state dict with ``model``,
    a gs-train checkpoint, a BigGAN folder).

    Raises:
        UserInputError: unreadable file, unknown or mismatching model.
    """
    # Weight loading is moving into gs.models; until then it lives with the exporter.
    from gs.export.weights import load_generator

    return load_generator(weights, model).model
