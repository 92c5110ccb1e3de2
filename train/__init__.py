"""Training generators with Lightning (installed as ``gs.train``)."""
