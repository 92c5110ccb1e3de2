"""Experiments: plan a grid of recoveries, cache each cell, summarise and plot.

``gs-experiment`` (``gs.experiments.cli``) reproduces the paper's figures: PSNR
against the measurement ratio for surgery, no surgery and the baselines
(:func:`gs.experiments.studies.cs_curve`), the choice of the cut index on
validation images (:func:`gs.experiments.studies.cut_sweep`) and the comparison
of initialisations (:func:`gs.experiments.studies.init_comparison`).
"""
