"""The conformance suite gs runs on its own models, run on ``upconv``."""

from gs.testing import ModelConformance


class TestUpconv(ModelConformance):
    model_under_test = "upconv"
