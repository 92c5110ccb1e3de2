"""The models ``gs-train`` trains: importing this module registers their LightningModules.

To train a new model, write its module in a file of this package, decorate it with
:func:`gs.train.module.register_trainer` and import the file here.
"""

from gs.train import began, dcgan, vae
from gs.train.module import TRAINERS

__all__ = ["TRAINERS", "began", "dcgan", "vae"]
