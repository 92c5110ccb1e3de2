"""pytorch/examples' DCGAN generator (``dcgan/main.py``), copied as it is there.

The public face weights (``weights/dcgan_faces.tar``, key ``netG_state_dict``) are this
network's. gs cuts it with no model class of its own (docs/plugins.md)::

    cd examples/pytorch-dcgan
    gs-export module --module dcgan_generator:Generator --weights ../../weights/dcgan_faces.tar \\
        --weights-key netG_state_dict --blocks main.0-2,main.3-5,main.6-8,main.9-11,main.12-13 \\
        --cut 1 -o faces_c1.pt

pytorch/examples is BSD-3-Clause licensed; the hyperparameters that script takes as flags
are the module constants below, at that script's defaults.
"""

import torch.nn as nn

nz = 100  # size of the latent vector z
ngf = 64  # generator width
nc = 3  # image channels


class Generator(nn.Module):
    def __init__(self, ngpu=1):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(     nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2,     ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(    ngf,      nc, 4, 2, 1, bias=False),
            nn.Tanh()
            # state size. (nc) x 64 x 64
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output
