"""Validation statistics comparing real, parametric and generated galaxies.

* :mod:`~galsim_deep.validation.statistics`: per-galaxy HSM moments and
  statmorph Gini, M20, M, I, D on a noisy PSF-convolved stamp;
* :mod:`~galsim_deep.validation.samples`: the real, parametric and generated
  samples of a dataset, with matched PSF and noise;
* :mod:`~galsim_deep.validation.summary`: differences of means, binned
  residuals, two-sample distances, failure fractions;
* :mod:`~galsim_deep.validation.report`: figures, Markdown and JSON;
* :mod:`~galsim_deep.validation.pipeline`: :func:`validate`, the whole run
  (``galsim-deep validate``).

Nothing here imports TensorFlow at import time.
"""
from .pipeline import load_measurements, validate
from .samples import SAMPLES, draw_samples
from .statistics import STATISTICS, measure_stamp, measure_stamps
from .summary import summarize

__all__ = ["validate", "load_measurements", "draw_samples", "SAMPLES", "STATISTICS",
           "measure_stamp", "measure_stamps", "summarize"]
