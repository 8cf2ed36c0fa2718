"""Conformance checks for those who extend galsim_deep, as scikit-learn's
``check_estimator``: :func:`check_family` runs the checks every family's exported module
must pass (:mod:`galsim_deep.testing.family`)."""
from .family import FAMILY_CHECKS, check_family, default_catalog

__all__ = ["check_family", "FAMILY_CHECKS", "default_catalog"]
