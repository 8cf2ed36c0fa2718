"""Validation: measures of generated galaxies against real, parametric and twin ones.

Needs the ``[validate]`` extra (statmorph, photutils, scikit-learn,
matplotlib) to measure: :func:`validate` and the names below raise an
``ImportError`` naming the extra without it.  The package itself and the
registry of measures (:mod:`~galsim_deep.tools.validation.measures`) import
without it, so that the command line lists the measures and their options
in a lean install.

* :mod:`~galsim_deep.tools.validation.pipeline`: :func:`validate`, the whole run
  (``galsim-deep validation report``), every measure beside its references;
  :mod:`~galsim_deep.tools.validation.measures`: the registry of measures
  (:data:`MEASURES`), one file per measure;
* :mod:`~galsim_deep.tools.validation.samples`: the real, parametric, generated
  (rotated as ``model.sample`` gives them) and twin samples of a dataset, with
  matched PSF and noise; :mod:`~galsim_deep.tools.validation.mock_truth`: the
  analytic profiles of mock galaxies, rebuilt from the build;
  :mod:`~galsim_deep.tools.validation.twin`: is a twin bias the rendering's or the
  matching's?
* :mod:`~galsim_deep.tools.validation.mean_ellipticity`: mean ellipticities, rotated and
  unrotated; :mod:`~galsim_deep.tools.validation.shear_response`: shear response ``m``, ``c``
  (REGAUSS); :mod:`~galsim_deep.tools.validation.two_sample`: two-sample classifier test
  (the trainer is an argument), :mod:`~galsim_deep.tools.validation.two_sample_features`:
  its feature classifier (boosted trees) and the stronger of several kinds;
  :mod:`~galsim_deep.tools.validation.halo_light`: light in the border and outside the
  truth's aperture;
* :mod:`~galsim_deep.tools.validation.reconstruction_fits`,
  :mod:`~galsim_deep.tools.validation.sersic_fit`: reconstructions in observed space
  beside Sérsic and bulge+disk fits;
* :mod:`~galsim_deep.tools.validation.cluster_match`,
  :mod:`~galsim_deep.tools.validation.cluster_figures`: clustering accuracies (majority
  and one-to-one) of a mixture-prior (MPCC) model;
* :mod:`~galsim_deep.tools.validation.statistics`: per-galaxy HSM moments and
  statmorph Gini, M20, M, I, D on a noisy PSF-convolved stamp;
  :mod:`~galsim_deep.tools.validation.summary`: differences of means, binned
  residuals, two-sample distances, failure fractions;
* :mod:`~galsim_deep.tools.validation.report`: figures, Markdown and JSON;
  :mod:`~galsim_deep.tools.validation.compare`: several reports in one table.

Nothing here imports TensorFlow or ``galsim_deep.training`` at import time.
"""
import importlib

from ...core.extras import require

#: Public name -> the module that defines it (imported on first use, after checking the extra).
_EXPORTS = {"validate": "pipeline", "MEASURES": "measures", "load_measurements": "pipeline",
            "draw_samples": "samples", "SAMPLES": "samples", "STATISTICS": "statistics",
            "measure_stamp": "statistics", "measure_stamps": "statistics",
            "summarize": "summary"}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name != "MEASURES":
        require("validate", "galsim_deep.tools.validation")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
