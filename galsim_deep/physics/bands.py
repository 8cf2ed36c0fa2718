"""Bandpasses and SED templates of colour galaxies, named as astronomers name them.

* :data:`BANDS` - the bandpasses GalSim ships, by filter name: HST ACS
  (``F435W``, ``F606W``, ``F775W``, ``F814W``, ``F850LP``), HST WFC3
  (``F275W``, ``F336W``, ``F105W``, ``F125W``, ``F160W``), LSST
  (``LSST_u`` ... ``LSST_y``) and Roman (``Roman_R062`` ... ``Roman_K213``,
  from :func:`galsim.roman.getBandpasses`).  :func:`get_bandpass` also takes
  any ``galsim.Bandpass``.
* :data:`SED_TEMPLATES` - the four Coleman, Wu & Weedman (1980) templates
  GalSim ships, extended to the UV and near-IR (``CWW_E_ext``,
  ``CWW_Sbc_ext``, ``CWW_Scd_ext``, ``CWW_Im_ext``: elliptical, Sbc, Scd
  and irregular); :func:`sed_template` redshifts one.
* :func:`zero_point` - the AB zero point of a band in the flux unit of the
  datasets and modules: counts/s through the HST collecting area, the
  convention of GalSim's ``COSMOSCatalog`` whose F814W zero point is 25.94
  (:data:`ZERO_POINT`).  Other bands keep that
  anchor: ``25.94 + zp_AB(band) - zp_AB(F814W)``, with GalSim's AB zero
  points of the bandpasses; F606W gets 26.50, the published ACS F606W AB zero
  point to 0.01 mag.
* :func:`flux_ratios` - the flux of an SED in each band over its flux in a
  reference band, in those units: what turns a component's F814W flux into
  its flux in any band.
* :func:`band_fluxes` - **the one band-flux rule** of the models: a
  component's flux in a band per unit of its reference-band flux, ``f_kb =
  sum_t w_kt r_tb(z)``, its SED-template weights times the templates' ratios
  tabulated on :data:`REDSHIFT_GRID` (:func:`flux_ratio_table`) and
  interpolated linearly (:func:`interpolate_ratios`).  The numpy pixels
  (:func:`galsim_deep.engine.colour.band_arrays`), the BTK bands
  (:meth:`galsim_deep.engine.colour.ColourGalaxy.in_band`) and, in TensorFlow for
  the gradients, the training's forward model
  (:func:`galsim_deep.physics.forward_model.band_profiles`, tested equal to it) use it.
* :func:`exact_band_fluxes` - the mock truth's fluxes: components of one
  template each, integrated exactly at the galaxy's own redshift (GalSim's
  ``calculateFlux``, :func:`flux_ratios`), as a multi-band mock dataset makes
  them (:mod:`galsim_deep.data.mock_colours`) and validation measures them
  (:func:`galsim_deep.tools.validation.measures.colours.compute.template_fluxes`).  On the redshift
  grid the two rules agree exactly; halfway between grid points a template's
  interpolated colour differs from its exact one by 1e-5 to 7e-5 mag
  (median over templates and redshifts, per band) and by at most about
  2e-3 mag (LSST_u, the elliptical template at z = 0.005).
* :func:`ab_colour` and :func:`colour_flux_ratio` - the AB colour ``m_b - m_ref
  = zp_b - zp_ref - 2.5 log10(F_b / F_ref)`` of a flux ratio (counts/s over
  counts/s), and back.

Plain GalSim; no TensorFlow.
"""
import functools
import math

import numpy as np

from ..core.errors import InputError, InputTypeError

__all__ = ["BANDS", "REFERENCE_BAND", "ZERO_POINT", "SED_TEMPLATES", "get_bandpass", "band_name",
           "zero_point", "band_magnitude_name", "sed_template", "flux_ratios", "check_coverage",
           "effective_wavelength", "REDSHIFT_STEP", "REDSHIFT_GRID", "flux_ratio_table",
           "interpolate_ratios", "band_fluxes", "exact_band_fluxes", "ab_colour",
           "colour_flux_ratio"]

#: Step of :data:`REDSHIFT_GRID`: the one definition of the colour tables' redshift grid
#: (the TensorFlow forward model's :func:`~galsim_deep.physics.forward_model.template_ratios`
#: reads it too).
REDSHIFT_STEP = 0.01

#: Redshifts (0 to 6 in steps of 0.01) at which :func:`flux_ratio_table` tabulates the
#: templates' colours; a galaxy's colours are interpolated linearly in between.
REDSHIFT_GRID = np.round(np.arange(0.0, 6.0 + 1e-9, REDSHIFT_STEP), 2)

#: The band of the catalog magnitudes (``mag_auto``) and of the mono datasets' flux unit.
REFERENCE_BAND = "F814W"

#: AB zero point of GalSim's COSMOS flux convention: ``mag = ZERO_POINT - 2.5 log10(flux)``
#: with flux in HST F814W counts/s (``galsim.GalaxySample.getBandpass``).
ZERO_POINT = 25.94

_ACS = ("F435W", "F606W", "F775W", "F814W", "F850LP")
_WFC3 = {"F275W": "uvis", "F336W": "uvis", "F105W": "ir", "F125W": "ir", "F160W": "ir"}
_ROMAN = ("R062", "Z087", "Y106", "J129", "H158", "F184", "K213", "W146")

#: Band name -> where its throughput comes from (a file of GalSim's share folder, or
#: ``galsim.roman``).
BANDS = {**{b: f"ACS_wfc_{b}.dat" for b in _ACS},
         **{b: f"WFC3_{kind}_{b}.dat" for b, kind in _WFC3.items()},
         **{f"LSST_{b}": f"LSST_{b}.dat" for b in "ugrizy"},
         **{f"Roman_{b}": "galsim.roman.getBandpasses" for b in _ROMAN}}

#: Names of the SED templates (GalSim's ``share/SEDs``), bluest last.
SED_TEMPLATES = ("CWW_E_ext", "CWW_Sbc_ext", "CWW_Scd_ext", "CWW_Im_ext")


def band_name(band):
    """The canonical name of a band (``'f606w'`` -> ``'F606W'``, ``'lsst_r'`` -> ``'LSST_r'``).

    Raises
    ------
    InputError
        For a name not in :data:`BANDS`, listing them.
    """
    if not isinstance(band, str):
        raise InputTypeError(f"a band is a name such as 'F606W' or 'LSST_r', got "
                             f"{type(band).__name__}")
    for name in BANDS:
        if name.lower() == band.strip().lower():
            return name
    raise InputError(f"unknown band {band!r}; use one of {', '.join(BANDS)}, or pass a "
                     f"galsim.Bandpass with an AB zero point")


@functools.lru_cache(maxsize=None)
def _bandpass(name):
    import galsim

    if name.startswith("Roman_"):
        import galsim.roman

        bandpass = galsim.roman.getBandpasses(AB_zeropoint=True)[name[len("Roman_"):]]
    else:
        bandpass = galsim.Bandpass(BANDS[name], wave_type="nm")
    return bandpass.withZeropoint("AB").thin(rel_err=1e-4)


def get_bandpass(band):
    """The ``galsim.Bandpass`` of a band, with its AB zero point.

    Parameters
    ----------
    band : str or galsim.Bandpass
        A name of :data:`BANDS` (any case) or a bandpass (returned as it is;
        it needs a zero point for :func:`zero_point`).
    """
    import galsim

    if isinstance(band, galsim.Bandpass):
        return band
    return _bandpass(band_name(band))


def effective_wavelength(band):
    """Effective wavelength of a band (nm)."""
    return float(get_bandpass(band).effective_wavelength)


def zero_point(band):
    """AB zero point of a band for fluxes in counts/s through the HST collecting area.

    ``mag = zero_point(band) - 2.5 log10(flux)``; 25.94 for F814W (GalSim's
    COSMOS convention), the other bands shifted by the difference of their
    AB zero points (module docstring).
    """
    bandpass = get_bandpass(band)
    if bandpass.zeropoint is None:
        raise InputError("the bandpass has no zero point: pass "
                         "bandpass.withZeropoint('AB')")
    return ZERO_POINT + float(bandpass.zeropoint) - float(
        get_bandpass(REFERENCE_BAND).zeropoint)


def band_magnitude_name(band):
    """The catalog column of a band's AB magnitude (``'F606W'`` -> ``'mag_f606w'``); the
    reference band's is ``mag_auto``."""
    return "mag_auto" if band_name(band) == REFERENCE_BAND else f"mag_{band_name(band).lower()}"


@functools.lru_cache(maxsize=None)
def _template(name):
    import galsim

    return galsim.SED(f"{name}.sed", wave_type="Ang", flux_type="flambda")


def sed_template(name, redshift):
    """One of :data:`SED_TEMPLATES` at a redshift (a ``galsim.SED``, unnormalised).

    Raises
    ------
    InputError
        For an unknown name or a redshift that is not a finite number >= 0.
    """
    if name not in SED_TEMPLATES:
        raise InputError(f"unknown SED template {name!r}; use one of "
                         f"{', '.join(SED_TEMPLATES)}")
    redshift = float(redshift)
    if not (math.isfinite(redshift) and redshift >= 0):
        raise InputError(f"redshift must be a finite number >= 0, got {redshift}")
    return _template(name).atRedshift(redshift)


def _covers(bandpass, redshift):
    """``(covered, blue, red)``: whether the templates at ``redshift`` span the whole of
    ``bandpass``, and their wavelength range there (nm)."""
    blue, red = (float(x) * (1.0 + float(redshift))
                 for x in (_template(SED_TEMPLATES[0]).blue_limit,
                           _template(SED_TEMPLATES[0]).red_limit))
    return bandpass.blue_limit >= blue and bandpass.red_limit <= red, blue, red


def check_coverage(band, redshift):
    """Raise unless the SED templates at ``redshift`` cover the whole of ``band``.

    The templates reach 2205 nm in the rest frame, so a near-IR band needs a
    high enough redshift (``Roman_K213`` ends at 2415 nm: z >= 0.095).
    """
    bandpass = get_bandpass(band)
    covered, blue, red = _covers(bandpass, redshift)
    if not covered:
        name = band if isinstance(band, str) else "the bandpass"
        raise InputError(
            f"{name} ({bandpass.blue_limit:.0f}-{bandpass.red_limit:.0f} nm) is outside the "
            f"SED templates' {blue:.0f}-{red:.0f} nm at redshift {float(redshift):.3g}; draw "
            f"this galaxy in a band inside that range")


def flux_ratios(template, redshift, bands, reference=REFERENCE_BAND):
    """Flux of a template in each band over its flux in ``reference`` (counts/s units).

    Parameters
    ----------
    template : str
        A name of :data:`SED_TEMPLATES`.
    redshift : float
    bands : sequence of str or galsim.Bandpass
    reference : str, optional
        Default F814W.

    Returns
    -------
    numpy.ndarray [len(bands)]
        ``flux(band) / flux(reference)``; a galaxy component of F814W flux
        ``f`` has flux ``f * ratio`` in the band (the ratios of photon rates
        through the same collecting area).
    """
    for band in (reference, *bands):
        check_coverage(band, redshift)
    sed = sed_template(template, redshift)
    return _ratios(sed, [get_bandpass(b) for b in bands], get_bandpass(reference))


def _ratios(sed, bandpasses, reference):
    """``sed``'s flux (GalSim's ``calculateFlux``) through each bandpass over its flux
    through ``reference``: every exact flux ratio here is this one computation."""
    base = sed.calculateFlux(reference)
    return np.array([sed.calculateFlux(bandpass) / base for bandpass in bandpasses])


@functools.lru_cache(maxsize=32)
def _ratio_table(bands, reference):
    out = np.full((len(SED_TEMPLATES), len(bands), len(REDSHIFT_GRID)), np.nan)
    ref = get_bandpass(reference)
    for i, z in enumerate(REDSHIFT_GRID):
        if not _covers(ref, z)[0]:
            continue
        covered = [j for j, band in enumerate(bands) if _covers(get_bandpass(band), z)[0]]
        for t, name in enumerate(SED_TEMPLATES):
            out[t, covered, i] = _ratios(_template(name).atRedshift(float(z)),
                                         [get_bandpass(bands[j]) for j in covered], ref)
    out.setflags(write=False)
    return out


def flux_ratio_table(bands, reference=REFERENCE_BAND):
    """:func:`flux_ratios` of every template in every band on :data:`REDSHIFT_GRID`.

    Parameters
    ----------
    bands : sequence of str
        Band names (:data:`BANDS`).
    reference : str, optional
        Default F814W.

    Returns
    -------
    numpy.ndarray [len(SED_TEMPLATES), len(bands), len(REDSHIFT_GRID)]
        Read-only; NaN where the templates at that redshift do not cover the
        band (:func:`check_coverage`).
    """
    return _ratio_table(tuple(band_name(b) for b in bands), band_name(reference))


def interpolate_ratios(table, redshift):
    """A :func:`flux_ratio_table` at given redshifts, linearly interpolated.

    Parameters
    ----------
    table : numpy.ndarray [T, B, Z]
    redshift : array_like [N]
        In ``[0, 6]``.

    Returns
    -------
    numpy.ndarray [N, T, B]

    Raises
    ------
    InputError
        For a redshift outside the grid or a band the templates do not cover
        at that redshift.
    """
    z = np.atleast_1d(np.asarray(redshift, dtype=float))
    top = REDSHIFT_GRID[-1]
    if not np.all(np.isfinite(z)) or np.any(z < 0) or np.any(z > top):
        raise InputError(f"redshifts must be in [0, {top:g}] for the SED templates, got "
                         f"{z.min():.3g} .. {z.max():.3g}")
    x = z / REDSHIFT_STEP
    i = np.minimum(np.floor(x).astype(int), len(REDSHIFT_GRID) - 2)
    w = (x - i)[:, None, None]
    out = (1 - w) * np.moveaxis(table[..., i], -1, 0) + w * np.moveaxis(table[..., i + 1], -1, 0)
    if np.isnan(out).any():
        raise InputError("a band lies outside the SED templates' wavelength range at some of "
                         "these redshifts (see galsim_deep.physics.bands.check_coverage); draw "
                         "those galaxies in bands the templates cover")
    return out



def band_fluxes(sed_weights, redshift, bands, reference=REFERENCE_BAND):
    """The one band-flux rule of the models: each component's flux in each band per unit
    of its reference-band flux.

    Component ``k``'s SED is the mixture ``sum_t w_kt SED_t(z)`` of the templates, each
    scaled to unit flux in ``reference``, so its flux in band ``b`` is its reference
    flux times ``f_kb = sum_t w_kt r_tb(z)``, ``r_tb(z)`` template ``t``'s
    band-to-reference flux ratio (:func:`flux_ratio_table`) interpolated linearly in
    redshift (:func:`interpolate_ratios`).  The numpy pixels
    (:func:`galsim_deep.engine.colour.band_arrays`), the BTK bands
    (:meth:`galsim_deep.engine.colour.ColourGalaxy.in_band`) and, in TensorFlow, the
    training's forward model (:func:`galsim_deep.physics.forward_model.band_profiles`,
    tested equal to this) use it; GalSim's own SEDs
    (:func:`galsim_deep.engine.colour.component_seds`) integrate to it on the grid.

    Parameters
    ----------
    sed_weights : array_like [N, K, T]
        Template weights of each component (``T = len(SED_TEMPLATES)``).
    redshift : array_like [N]
        In ``[0, 6]``.
    bands : sequence of str
        Band names (:data:`BANDS`).
    reference : str, optional
        Default F814W.

    Returns
    -------
    numpy.ndarray [N, K, len(bands)]
        float64, counts/s in each band per count/s in ``reference`` (1 in the
        reference band itself).

    Raises
    ------
    InputError
        For an unknown band (listing :data:`BANDS`), a redshift outside the grid or a
        band the templates do not cover there (:func:`interpolate_ratios`).
    """
    ratios = interpolate_ratios(flux_ratio_table(bands, reference), redshift)   # [N, T, B]
    return np.einsum("nkt,ntb->nkb", np.asarray(sed_weights, np.float64), ratios)


def exact_band_fluxes(reference_flux, templates, redshift, bands, reference=REFERENCE_BAND):
    """Fluxes in ``bands`` of components with one SED template each, integrated exactly: the
    mock truth's rule.

    Component ``k``, of template ``t_k`` and flux ``F_k`` in ``reference``, has flux
    ``F_k flux_ratios(t_k, z, b)`` in band ``b``: the template at the galaxy's own
    redshift integrated through both bandpasses by GalSim (``SED.calculateFlux``), no
    table.  A multi-band mock dataset makes its components' band fluxes so
    (:func:`galsim_deep.data.mock_colours.band_fields`, its ``component_flux``), and
    validation measures the truth's colours in other bands so
    (:func:`galsim_deep.tools.validation.measures.colours.compute.template_fluxes`).  The models' rule,
    :func:`band_fluxes` with one-hot weights, equals it on :data:`REDSHIFT_GRID`.

    Parameters
    ----------
    reference_flux : array_like [..., K]
        Each component's flux in ``reference`` (counts/s).
    templates : array_like of int [..., K]
        Its template's index in :data:`SED_TEMPLATES`, -1 for a component the galaxy
        lacks.
    redshift : float or array_like [...]
        One per galaxy, >= 0.
    bands : sequence of str or galsim.Bandpass
        Band names (:data:`BANDS`) or bandpasses.
    reference : str, optional
        Default F814W.

    Returns
    -------
    numpy.ndarray [..., K, len(bands)]
        float64 counts/s of each component in each band; 0 for a missing component.

    Raises
    ------
    InputError
        For an unknown band (listing :data:`BANDS`), a template index outside
        ``-1 .. len(SED_TEMPLATES) - 1``, shapes that do not match, a redshift that is not
        a finite number >= 0, or a band the templates do not cover at some galaxy's
        redshift (:func:`check_coverage`).
    """
    flux = np.asarray(reference_flux, np.float64)
    sed = np.asarray(templates)
    z = np.asarray(redshift, np.float64)
    if flux.ndim < 1 or sed.shape != flux.shape or z.shape != flux.shape[:-1]:
        raise InputError(f"exact_band_fluxes needs reference_flux and templates of one shape "
                         f"[..., K] and one redshift per galaxy [...], got {flux.shape}, "
                         f"{sed.shape} and {z.shape}")
    if sed.size and not (np.issubdtype(sed.dtype, np.integer) and sed.min() >= -1
                         and sed.max() < len(SED_TEMPLATES)):
        raise InputError(f"templates are indices into SED_TEMPLATES (0 .. "
                         f"{len(SED_TEMPLATES) - 1}) or -1 for no component, got "
                         f"{sed.dtype} values {np.unique(sed)[:8]}")
    bandpasses = [get_bandpass(b) for b in bands]
    base = get_bandpass(reference)
    k = flux.shape[-1]
    flux, sed, z = flux.reshape(-1, k), sed.reshape(-1, k), z.reshape(-1)
    out = np.zeros(flux.shape + (len(bandpasses),))
    lit = np.flatnonzero((sed >= 0).any(axis=1))
    if lit.size:
        if not np.all(np.isfinite(z[lit])) or np.any(z[lit] < 0):
            raise InputError(f"redshifts must be finite numbers >= 0, got "
                             f"{np.min(z[lit]):.3g} .. {np.max(z[lit]):.3g}")
        for band in (reference, *bands):   # a band is covered on an interval of redshifts
            for end in (np.min(z[lit]), np.max(z[lit])):
                check_coverage(band, end)
    for n in lit:
        for t in np.unique(sed[n][sed[n] >= 0]):
            ratios = _ratios(_template(SED_TEMPLATES[t]).atRedshift(float(z[n])),
                             bandpasses, base)
            mine = sed[n] == t
            out[n, mine] = flux[n, mine, None] * ratios
    return out.reshape(np.shape(reference_flux) + (len(bandpasses),))


def ab_colour(ratio, band, reference=REFERENCE_BAND):
    """The AB colour ``m_band - m_reference`` (mag) of a flux ratio.

    ``m_b - m_ref = zp_b - zp_ref - 2.5 log10(F_b / F_ref)``, the fluxes in the
    counts/s of each band's :func:`zero_point`.

    Parameters
    ----------
    ratio : float or array_like
        ``F_band / F_reference`` (> 0; 0 gives +inf, a negative ratio NaN).
    band, reference : str or galsim.Bandpass
        :data:`BANDS` names (any case) or bandpasses with a zero point.

    Returns
    -------
    float or numpy.ndarray
        AB mag, the shape of ``ratio``.
    """
    return zero_point(band) - zero_point(reference) - 2.5 * np.log10(ratio)


def colour_flux_ratio(colour, band, reference=REFERENCE_BAND):
    """The flux ratio ``F_band / F_reference`` (counts/s over counts/s) of an AB colour
    ``m_band - m_reference``: the inverse of :func:`ab_colour`,
    ``10**(-0.4 (colour - (zp_b - zp_ref)))``."""
    return 10.0 ** (-0.4 * (colour - (zero_point(band) - zero_point(reference))))
