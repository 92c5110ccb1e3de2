"""A generator with pytorch/examples' DCGAN layout: the network the public face weights fit.

The weights (``weights/dcgan_faces.tar``, key ``netG_state_dict``) were trained with
pytorch/examples' ``dcgan/main.py``; their keys name the children of one ``nn.Sequential``
called ``main``: four (transposed convolution, batch norm, ReLU) stages and a last
transposed convolution with tanh. Any module with that layout loads them, and gs cuts it
with no model class of its own (docs/plugins.md)::

    cd examples/pytorch-dcgan
    gs-export module --module dcgan_generator:Generator --weights ../../weights/dcgan_faces.tar \\
        --weights-key netG_state_dict --blocks main.0-2,main.3-5,main.6-8,main.9-11,main.12-13 \\
        --cut 1 -o faces_c1.pt
"""

from __future__ import annotations

from torch import Tensor, nn


def upsample(channels_in: int, channels_out: int, first: bool = False) -> list[nn.Module]:
    """One stage: ×2 transposed convolution (the first: 1×1 → 4×4), batch norm, ReLU."""
    stride, padding = (1, 0) if first else (2, 1)
    return [nn.ConvTranspose2d(channels_in, channels_out, 4, stride, padding, bias=False),
            nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True)]


class Generator(nn.Module):
    """z (B, nz, 1, 1) → image (B, nc, 64, 64) in [-1, 1]; widths 8, 4, 2, 1 × ngf."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        widths = [ngf * 8, ngf * 4, ngf * 2, ngf]
        layers = upsample(nz, widths[0], first=True)
        for wide, narrow in zip(widths, widths[1:]):
            layers += upsample(wide, narrow)
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)  # (B, 8ngf, 4, 4) … (B, ngf, 32, 32), (B, nc, 64, 64)

    def forward(self, z: Tensor) -> Tensor:
        return self.main(z)
