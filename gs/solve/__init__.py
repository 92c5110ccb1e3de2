"""The inversion engine's building blocks, written once over the array API.

Every module here works on the arrays of whatever namespace the caller hands it
(numpy for the onnxruntime backend, torch for TorchScript), in the manner of scipy's
elementwise solvers: per-row state and stopping, the backend supplying only arrays and
the artifact's ``forward`` / ``image_and_vjp``. Nothing here imports torch.

* :mod:`~gs.solve.arrays`: the few helpers the array API lacks (index of a mask,
  copies, conversion to numpy).
* :mod:`~gs.solve.options`: the optimisers' hyperparameters.
* :mod:`~gs.solve.rows`: per-row bookkeeping (best iterate, convergence windows).
* :mod:`~gs.solve.lbfgs`, :mod:`~gs.solve.adam`: the batched optimisers.
* :mod:`~gs.solve.line_search`: the strong-Wolfe search of one row, a coroutine.
* :mod:`~gs.solve.objective`: latents → image → measurement residual, its gradient.

The package imports nothing of gs outside itself: settings, seeding, operators and
artifacts sit above it. The stage driver (restarts, progressive surgery) is
:func:`gs.invert.invert`, and what a batch starts from and the record of its stages
:mod:`gs.stages`.
"""
