"""The HDF5 stamp-dataset format: names, shapes, units and the parametric row.

One file holds one dataset of galaxy stamps (see ``docs/dataset_format.rst``
for the full specification).  This module is the single place where the
format's names live, so the builder, the readers and the documentation agree:

* root attributes (:data:`REQUIRED_ATTRS`), format name and version;
* per-example fields (:data:`FIELDS`): dtype, shape and description;
* the conditioning columns (:data:`CONDITIONS`) with units;
* the single-Sersic ``parametric`` row and :func:`sersic_from_parametric`,
  which turns a row into a ``galsim.Sersic``.

Flux unit: GalSim's ``COSMOSCatalog`` convention, HST/ACS F814W counts per
second for the HST collecting area (2.4 m mirror, 33% central obscuration)
and a 1 s exposure; AB magnitude ``m`` has flux ``10**(-0.4 (m - 25.94))``.
"""
import json
import math

import numpy as np
from ..core.errors import InputError, InputTypeError
from ..physics.bands import ZERO_POINT  # the flux convention, re-exported

__all__ = [
    "FORMAT_NAME", "FORMAT_VERSION", "ZERO_POINT", "COSMOS_PIXEL_SCALE", "HST_COLLECTING_AREA_M2",
    "FLUX_CONVENTION", "SPLIT_NAMES", "CONDITIONS", "FIELDS", "PARAMETRIC_COLUMNS",
    "REQUIRED_ATTRS", "MIN_STAMP_SIZE", "MAX_STAMP_SIZE", "flux_from_mag", "mag_from_flux",
    "sersic_from_parametric", "field_shape", "BAND_FIELDS", "condition_metadata",
]

#: Value of the root attribute ``format``.
FORMAT_NAME = "galsim_deep.stamps"
#: Value of the root attribute ``format_version``.
FORMAT_VERSION = 1

#: Pixel scale of the COSMOS HST/ACS stamps (arcsec/pixel); ``flux_radius`` is in these pixels.
COSMOS_PIXEL_SCALE = 0.03
#: HST effective collecting area used by ``galsim.COSMOSCatalog`` (m^2).
HST_COLLECTING_AREA_M2 = math.pi * 1.2 ** 2 * (1.0 - 0.33 ** 2)

#: The ``flux_convention`` root attribute (stored as JSON).
FLUX_CONVENTION = {
    "unit": "HST/ACS F814W counts/s (GalSim COSMOSCatalog convention)",
    "zero_point": ZERO_POINT,
    "zero_point_system": "AB",
    "collecting_area_m2": HST_COLLECTING_AREA_M2,
    "exptime_s": 1.0,
    "pixel_values": "flux per pixel (sum of a stamp = flux)",
}

#: Names of the values of the ``split`` field (index = stored value).
SPLIT_NAMES = ("train", "test")

#: Conditioning columns: name -> (unit, description).  Stored as ``conditions/<name>``.
CONDITIONS = {
    "mag_auto": ("mag (AB)", "F814W SExtractor MAG_AUTO magnitude (AB), HST/ACS COSMOS"),
    "flux_radius": ("pixel (0.03 arcsec)",
                    "SExtractor FLUX_RADIUS (half-light radius of the observed, "
                    "PSF-convolved galaxy) in pixels of 0.03 arcsec"),
    "zphot": ("", "photometric redshift (COSMOS 30-band photo-z)"),
}



def condition_metadata(name):
    """``(unit, description)`` of a condition column: one of :data:`CONDITIONS`, or
    ``mag_<band>`` (the AB magnitude of the whole galaxy in a band of a multi-band file)."""
    if name in CONDITIONS:
        return CONDITIONS[name]
    if name.startswith("mag_"):
        return ("mag (AB)", f"{name[4:].upper()} AB magnitude of the whole galaxy (multi-band "
                            f"mock: the sum of its components' fluxes in the band)")
    raise InputError(f"unknown condition column {name!r}: use one of {list(CONDITIONS)} or "
                     f"mag_<band>")


#: Columns of the ``parametric`` field (single-Sersic description).
PARAMETRIC_COLUMNS = ("flux", "half_light_radius", "sersic_n", "q", "beta")
_PARAMETRIC_UNITS = ("HST F814W counts/s", "arcsec", "", "", "radians")

#: Minimum and maximum stamp size (pixels) the builder accepts.
MIN_STAMP_SIZE = 16
MAX_STAMP_SIZE = 1024

# name -> (dtype, shape template, unit, description, required).  Shape templates use
# N (n_examples), S (stamp_size), H (S // 2 + 1), P (number of parametric columns).
FIELDS = {
    "stamp": ("float32", ("N", "S", "S"), "HST F814W counts/s per pixel",
              "observed galaxy: PSF-convolved, with noise, flux per pixel, galaxy at the "
              "stamp's true centre", True),
    "psf": ("float32", ("N", "S", "S"), "",
            "effective PSF (optics and pixel response) at the stamp's pixel scale, unit sum, "
            "centred on pixel (S//2, S//2)", True),
    "noise_variance": ("float32", ("N",), "(HST F814W counts/s)^2",
                       "pixel variance of the noise in the stamp", True),
    "noise_power": ("float32", ("N", "S", "H"), "(HST F814W counts/s)^2",
                    "noise power spectrum, rfft2 layout, E|rfft2(noise)|^2 / S^2 "
                    "(white noise of variance s^2 gives s^2 everywhere)", True),
    "parametric": ("float32", ("N", "P"), ", ".join(
        f"{c} [{u}]" if u else c for c, u in zip(PARAMETRIC_COLUMNS, _PARAMETRIC_UNITS)),
        "single-Sersic description: flux, half_light_radius (arcsec), sersic n, axis "
        "ratio q, position angle beta (radians); see sersic_from_parametric", True),
    "ident": ("int64", ("N",), "", "identifier of the galaxy (catalog IDENT, or the "
                                  "example index for mock galaxies)", True),
    "split": ("uint8", ("N",), "", "0 = train, 1 = test (fixed at build time)", True),
    "truth": ("float32", ("N", "S", "S"), "HST F814W counts/s per pixel",
              "noiseless unconvolved galaxy, drawn with method='no_pixel' at the stamp's "
              "true centre (mock sources only)", False),
    "label": ("int32", ("N",), "", "morphology class, names in the root attribute "
                                  "class_names (mock sources only)", False),
    "psf_id": ("int32", ("N",), "", "which PSF of the source's PSF set the stamp uses "
                                   "(catalog PSF_HDU for cosmos)", False),
    # Multi-band datasets (root attribute `bands`, B of them, the reference band F814W first,
    # whose arrays equal the mono fields above); fluxes in counts/s of each band, AB zero
    # points in the root attribute band_zero_points.
    "stamp_bands": ("float32", ("N", "B", "S", "S"), "counts/s per pixel of each band",
                    "observed galaxy in each band (as stamp)", False),
    "psf_bands": ("float32", ("N", "B", "S", "S"), "", "effective PSF of each band (as psf)",
                  False),
    "noise_variance_bands": ("float32", ("N", "B"), "(counts/s of each band)^2",
                             "pixel noise variance of each band (as noise_variance)", False),
    "noise_power_bands": ("float32", ("N", "B", "S", "H"), "(counts/s of each band)^2",
                          "noise power spectrum of each band (as noise_power)", False),
    "truth_bands": ("float32", ("N", "B", "S", "S"), "counts/s per pixel of each band",
                    "noiseless unconvolved galaxy in each band (as truth)", False),
    "component_sed": ("int32", ("N", "K"), "", "SED template of each component (index into "
                      "the root attribute sed_names; -1: no such component), components "
                      "named in the root attribute component_names", False),
    "component_flux": ("float32", ("N", "K", "B"), "counts/s of each band",
                       "flux of each component in each band", False),
}

#: The fields of a multi-band dataset besides the mono ones.
BAND_FIELDS = ("stamp_bands", "psf_bands", "noise_variance_bands", "noise_power_bands",
               "truth_bands", "component_sed", "component_flux")

#: Root attributes every finished file has.
REQUIRED_ATTRS = ("format", "format_version", "source", "pixel_scale", "stamp_size",
                  "condition_names", "selection", "seed", "n_examples", "galsim_version",
                  "galsim_deep_version", "flux_convention", "psf_description")


def field_shape(name, n_examples, stamp_size, n_bands=1):
    """Return the shape of field ``name`` for a file of ``n_examples`` stamps.

    Parameters
    ----------
    name : str
        A key of :data:`FIELDS`.
    n_examples : int
        Number of examples N.
    stamp_size : int
        Stamp size S in pixels.
    n_bands : int, optional
        Number of bands B of a multi-band file.

    Returns
    -------
    tuple of int
    """
    from .morphology import COMPONENTS

    sizes = {"N": n_examples, "S": stamp_size, "H": stamp_size // 2 + 1,
             "P": len(PARAMETRIC_COLUMNS), "B": n_bands, "K": len(COMPONENTS)}
    return tuple(sizes[t] for t in FIELDS[name][1])


def flux_from_mag(mag):
    """Flux (HST F814W counts/s, GalSim COSMOS convention) of an AB magnitude.

    Parameters
    ----------
    mag : float or array_like
        F814W AB magnitude.

    Returns
    -------
    float or numpy.ndarray
        ``10**(-0.4 (mag - 25.94))``.
    """
    return 10.0 ** (-0.4 * (np.asarray(mag, dtype=float) - ZERO_POINT))


def mag_from_flux(flux):
    """AB magnitude of a flux in HST F814W counts/s (inverse of :func:`flux_from_mag`)."""
    return ZERO_POINT - 2.5 * np.log10(np.asarray(flux, dtype=float))


def sersic_from_parametric(row, gsparams=None, sersic_prec=0.0):
    """Turn a ``parametric`` row into a ``galsim.Sersic`` profile.

    The profile is built the way ``galsim.COSMOSCatalog`` builds its single-Sersic
    parametric galaxies: a circular Sersic of the given half-light radius, then
    sheared to axis ratio ``q`` at position angle ``beta``.

    Parameters
    ----------
    row : array_like of 5 floats
        ``(flux, half_light_radius, sersic_n, q, beta)``: flux in HST F814W counts/s,
        half-light radius in arcsec (of the circular profile before the shear),
        Sersic index (clipped to GalSim's range 0.3-6.2), axis ratio ``q`` in
        (0, 1], position angle ``beta`` in radians (0 = major axis along x).
    gsparams : galsim.GSParams, optional
        Passed to ``galsim.Sersic``.
    sersic_prec : float, optional
        If > 0, round ``n`` to this precision (GalSim caches Sersic profiles by
        ``n``, so rounding speeds up drawing many galaxies).  Default 0: exact.

    Returns
    -------
    galsim.GSObject
        The sheared ``galsim.Sersic`` (a ``galsim.Transformation`` when ``q < 1``).

    Raises
    ------
    ValueError
        If the row does not have 5 finite values, or flux/size/q are out of range.
    """
    import galsim

    row = np.asarray(row, dtype=float).ravel()
    if row.shape != (len(PARAMETRIC_COLUMNS),):
        raise InputError(f"a parametric row has {len(PARAMETRIC_COLUMNS)} values "
                         f"{PARAMETRIC_COLUMNS}, got shape {row.shape}: pass one row of the "
                         "'parametric' field, e.g. arrays['parametric'][i]")
    if not np.all(np.isfinite(row)):
        raise InputError(f"parametric row has non-finite values {row.tolist()}: drop this "
                         "galaxy or rebuild the dataset")
    flux, hlr, n, q, beta = row
    if hlr <= 0:
        raise InputError(f"parametric half_light_radius must be > 0 arcsec, got {hlr}")
    if not 0 < q <= 1:
        raise InputError(f"parametric axis ratio q must be in (0, 1], got {q}")
    n = float(np.clip(n, 0.3, 6.2))
    if sersic_prec > 0:
        n = round(n / sersic_prec) * sersic_prec
    gal = galsim.Sersic(n, half_light_radius=hlr, flux=flux, gsparams=gsparams)
    if q < 1:
        gal = gal.shear(q=q, beta=beta * galsim.radians)
    return gal


def dumps(obj):
    """JSON text of ``obj`` with sorted keys (how dict attributes are stored)."""
    return json.dumps(obj, sort_keys=True, default=_json_default)


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise InputTypeError(f"cannot store {type(obj).__name__} in a JSON attribute")
