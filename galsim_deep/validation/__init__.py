"""Validation statistics comparing real, parametric and generated galaxies."""
