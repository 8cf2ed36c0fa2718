"""Validation: measures of generated galaxies against real, parametric and twin ones.

Needs the ``[validate]`` extra (statmorph, photutils, scikit-learn,
matplotlib): importing this package without it raises an ``ImportError``
naming the extra.

* :mod:`~galsim_deep.validation.statistics`: per-galaxy HSM moments and
  statmorph Gini, M20, M, I, D on a noisy PSF-convolved stamp;
* :mod:`~galsim_deep.validation.samples`: the real, parametric and generated
  samples of a dataset, with matched PSF and noise;
* :mod:`~galsim_deep.validation.summary`: differences of means, binned
  residuals, two-sample distances, failure fractions;
* :mod:`~galsim_deep.validation.report`: figures, Markdown and JSON;
* :mod:`~galsim_deep.validation.pipeline`: :func:`validate`, the whole run
  (``galsim-deep validate report``);
* :mod:`~galsim_deep.validation.reconstruction`: reconstructions of mock
  galaxies against their truth and Sérsic fits;
* :mod:`~galsim_deep.validation.clustering`, :mod:`~galsim_deep.validation.cluster_figures`:
  clustering accuracy of a mixture-prior (MPCC) model;
* :mod:`~galsim_deep.validation.compare`: several reports in one table.

Nothing here imports TensorFlow at import time.
"""
from .._extras import require

require("validate", "galsim_deep.validation")

from .pipeline import load_measurements, validate  # noqa: E402
from .samples import SAMPLES, draw_samples  # noqa: E402
from .statistics import STATISTICS, measure_stamp, measure_stamps  # noqa: E402
from .summary import summarize  # noqa: E402

__all__ = ["validate", "load_measurements", "draw_samples", "SAMPLES", "STATISTICS",
           "measure_stamp", "measure_stamps", "summarize"]
