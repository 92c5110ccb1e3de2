"""The conformance kit for plug-ins: the checks gs runs on its own models and operators.

``pip install gs[testing]`` (pytest is its one extra requirement), then in a test file
of the plug-in package::

    from gs.testing import ModelConformance

    class TestMyGenerator(ModelConformance):
        model_under_test = "mygen"  # the registered model name

and ``pytest`` runs, on the model's ``smoke_config``: the shapes at every cut, head +
tail = the whole generator, the gs.json record, TorchScript and ONNX export parity (the
ONNX artifact's gradients against autograd), a tiny inversion that lowers its loss, the
checkpoint contract and a training smoke run where a trainer is registered.

For a task's operators (a ``gs.operators`` plug-in)::

    from gs.testing import OperatorConformance

    class TestMyOperator(OperatorConformance):
        task_under_test = "mytask"          # every operator of the registered task
        example_options = {"ratio": 0.25}   # values of its options without a default

runs the operator contract (:mod:`gs.testing.operators`): the dot-product test in float64
on numpy and torch, the adjoint against autograd's vector–Jacobian product, shapes,
dtypes, devices, batches, the noise model, held-out groups, the norm estimate, seeding
and the spec round trip.

Also here: float32 tolerances derived from the arithmetic (:mod:`gs.testing.tolerances`)
and small image folders (:func:`write_images`).
"""

from gs.testing.conformance import ModelConformance, first_state, required_options
from gs.testing.images import write_images
from gs.testing.operators import OperatorConformance
from gs.testing.tolerances import (
    F32_EPS,
    assert_close_f32,
    assert_gradients_close,
    f32_atol,
    gradient_atol,
    network_atol,
)

__all__ = [
    "F32_EPS", "ModelConformance", "OperatorConformance", "assert_close_f32",
    "assert_gradients_close", "f32_atol",
    "first_state", "gradient_atol", "network_atol", "required_options", "write_images",
]
