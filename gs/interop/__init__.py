"""Adapters to the field's libraries: :mod:`gs.interop.deepinv` (DeepInverse's physics as
gs operators, gs's recovery as its reconstructor; ``pip install gs[deepinv]``)."""
