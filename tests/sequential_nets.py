"""Networks that the ``module`` model's tests name with --module (tests/ is importable)."""

from __future__ import annotations

from torch import Tensor, nn


class Decoder(nn.Module):
    """z (6,) → fc → unflatten (width, 4, 4) → ups.0 (2, 8, 8) → ups.1 image (3, 16, 16)
    in [0, 1]: a linear head, blocks kept in a list, a final sigmoid."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.fc = nn.Linear(6, width * 16)
        self.unflatten = nn.Unflatten(1, (width, 4, 4))
        self.ups = nn.ModuleList([
            nn.Sequential(nn.ConvTranspose2d(width, 2, 4, 2, 1), nn.BatchNorm2d(2), nn.ReLU()),
            nn.Sequential(nn.ConvTranspose2d(2, 3, 4, 2, 1), nn.Sigmoid()),
        ])

    def forward(self, z: Tensor) -> Tensor:
        h = self.unflatten(self.fc(z))
        for up in self.ups:
            h = up(h)
        return h


DECODER_BLOCKS = "fc+unflatten,ups.*"


def narrow_decoder() -> Decoder:
    """The decoder at another width: its weights do not fit :class:`Decoder`."""
    return Decoder(width=2)


def plain_sequential() -> nn.Sequential:
    """An ``nn.Sequential`` itself: z (4, 1, 1) → (3, 4, 4) → image (3, 8, 8) in [-1, 1]."""
    return nn.Sequential(nn.ConvTranspose2d(4, 3, 4, 1, 0), nn.ReLU(),
                         nn.ConvTranspose2d(3, 3, 4, 2, 1), nn.Tanh())


def conv_first() -> nn.Sequential:
    """A first layer that does not say the latent's shape."""
    return nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Tanh())


def no_final_activation() -> nn.Sequential:
    """A last layer that does not say the output's range."""
    return nn.Sequential(nn.ConvTranspose2d(4, 3, 4, 1, 0))


class WithSkip(nn.Module):
    """A forward that adds its input back: its children in turn are not its forward."""

    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Sequential(nn.ConvTranspose2d(3, 3, 3, 1, 1), nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x) + x


def flat_output() -> nn.Sequential:
    """Ends in a vector, not an image."""
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh())


def not_a_network() -> list[int]:
    return [1, 2]


def fails() -> nn.Module:
    raise RuntimeError("no GPU driver found")


NOT_CALLABLE = 3
