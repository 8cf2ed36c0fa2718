"""Validation: measures of generated galaxies against real, parametric and twin ones.

Needs the ``[validate]`` extra (statmorph, photutils, scikit-learn,
matplotlib) to measure: :func:`validate` and the names below raise an
``ImportError`` naming the extra without it.  The package itself and the
registry of measures (:mod:`~galsim_deep.tools.validation.measures`) import
without it, so that the command line lists the measures and their options
in a lean install.

The run and what every measure shares:

* :mod:`~galsim_deep.tools.validation.pipeline`: :func:`validate`, the whole run
  (``galsim-deep validation report``), every measure beside its references;
* :mod:`~galsim_deep.tools.validation.samples`: the real, parametric, generated
  (rotated as ``model.sample`` gives them) and twin samples of a dataset, with
  matched PSF and noise (observed by :mod:`~galsim_deep.tools.validation.observe`);
  :mod:`~galsim_deep.tools.validation.mock_truth`: the analytic profiles of mock
  galaxies, rebuilt from the build; :mod:`~galsim_deep.tools.validation.references`: the
  references' profiles and smooth images;
* :mod:`~galsim_deep.tools.validation.statistics`: differences of means, binned residuals,
  two-sample distances, failure fractions;
* :mod:`~galsim_deep.tools.validation.report`: the report's Markdown (run, headline table,
  each measure's section); :mod:`~galsim_deep.tools.validation.compare`: several reports in
  one table.

The measures, one package each under :mod:`~galsim_deep.tools.validation.measures`, named
as ``--measures`` names them (``measures/<name>/``: the measure in ``__init__.py``, its
numbers in ``compute.py``, its figures in ``figures.py``, its section in ``markdown.py``):
``twin_check`` (is a twin bias the rendering's or the matching's?), ``isotropy`` (mean
ellipticities, rotated and unrotated), ``shear`` (shear response ``m``, ``c``, REGAUSS),
``c2st`` (two-sample classifier tests, the trainer an argument, and a feature classifier),
``survey_views`` (those tests as surveys observe), ``colours``, ``profiles`` (light in the
border and outside the truth's aperture), ``texture`` (power spectra), ``reconstruction``
(reconstructions beside Sérsic and bulge+disk fits), ``clustering`` (the accuracies of a
mixture-prior model) and ``morphology`` (per-galaxy HSM moments and statmorph Gini, M20, M,
I, D on a noisy PSF-convolved stamp).

Nothing here imports TensorFlow or ``galsim_deep.training`` at import time.
"""
import importlib

from ...core.extras import require

#: Public name -> the module that defines it (imported on first use, after checking the extra).
_EXPORTS = {"validate": "pipeline", "MEASURES": "measures", "load_measurements": "pipeline",
            "draw_samples": "samples", "SAMPLES": "samples",
            "STATISTICS": "measures.morphology.compute",
            "measure_stamp": "measures.morphology.compute",
            "measure_stamps": "measures.morphology.compute",
            "summarize": "summary"}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name != "MEASURES":
        require("validate", "galsim_deep.tools.validation")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
