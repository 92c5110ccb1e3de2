"""The operator contract gs runs on its own operators, run on ``spc``."""

from gs.testing import OperatorConformance


class TestSinglePixelCamera(OperatorConformance):
    task_under_test = "spc"
    example_options = {"ratio": 0.25}
