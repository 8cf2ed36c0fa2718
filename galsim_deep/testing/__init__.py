"""Conformance checks for those who extend galsim_deep, as scikit-learn's
``check_estimator``: :func:`check_family` runs the checks every family's exported module
must pass (:mod:`galsim_deep.testing.family`), :func:`check_measure` those of a validation
measure (:mod:`galsim_deep.testing.measure`)."""
from .family import FAMILY_CHECKS, check_family, default_catalog
from .measure import MEASURE_CHECKS, check_measure

__all__ = ["check_family", "FAMILY_CHECKS", "default_catalog", "check_measure",
           "MEASURE_CHECKS"]
