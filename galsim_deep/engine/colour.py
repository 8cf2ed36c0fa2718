"""Chromatic modules: component images and SED weights to GalSim chromatic profiles.

A chromatic module (metadata entry ``chromatic``, ``docs/module_format.rst``)
draws, for each galaxy, ``K`` component images ``I_k`` in its reference band
(F814W; their sum is the ``sample`` signature's image) and each component's
weights ``w_kt`` over the SED templates (``sample_components``).  Component
``k``'s SED is the mixture ``sum_t w_kt SED_t(z)`` of the templates at the
galaxy's redshift, each scaled to unit flux in the reference band, so:

* :func:`chromatic_profile` - the galaxy as GalSim draws it through *any*
  bandpass: ``sum_k InterpolatedImage(I_k) * SED_k``, a
  ``galsim.ChromaticObject`` whose SEDs are in photons/s/cm^2/nm, scaled so
  that its AB magnitude in the reference band is the module's (25.94 minus
  2.5 log10 of its F814W flux in the module's counts/s, GalSim's COSMOS
  convention).  Draw it with ``drawImage(bandpass, area=..., exptime=...)``
  like any GalSim chromatic object;
* :func:`band_arrays` - the galaxy's pixels in named bands (``LSST_r``,
  ``F606W``, ...), in each band's counts/s of the module's convention
  (:func:`galsim_deep.bands.zero_point` turns a sum into an AB magnitude),
  from the templates' flux ratios tabulated in redshift.
"""
import numpy as np

from ..bands import (REFERENCE_BAND, flux_ratio_table, get_bandpass, interpolate_ratios,
                     sed_template, zero_point)
from ..errors import InputError

__all__ = ["chromatic_info", "band_arrays", "component_seds", "chromatic_profile",
           "photons_per_count", "ColourGalaxy"]


def chromatic_info(metadata):
    """A module's ``chromatic`` metadata entry, or None for a mono module."""
    return metadata.get("chromatic")


def _mono_error(metadata, what):
    return InputError(f"{what} needs a chromatic module (metadata entry 'chromatic'); "
                      f"{metadata['name']} is mono: draw it in one band, or use a chromatic "
                      f"module such as hub:flow-vae-mock-cosmos-25.2-colour")


def photons_per_count(reference=REFERENCE_BAND):
    """photons/s/cm^2 (GalSim's SED units) of one count/s of the module convention in the
    reference band: ``10**(-0.4 (25.94 - zp_AB))``, ``zp_AB`` GalSim's AB zero point of the
    bandpass."""
    return 10.0 ** (-0.4 * (zero_point(reference) - float(get_bandpass(reference).zeropoint)))


def band_arrays(components, sed_weights, redshift, bands, reference=REFERENCE_BAND):
    """Galaxies in each of ``bands``: ``sum_k f_kb I_k``.

    Parameters
    ----------
    components : ndarray [N, K, S, S]
        Reference-band component images (module flux per pixel).
    sed_weights : ndarray [N, K, T]
        Template weights.
    redshift : ndarray [N]
    bands : sequence of str
        Band names (:data:`galsim_deep.bands.BANDS`).
    reference : str

    Returns
    -------
    ndarray [N, len(bands), S, S]
        float32, each band's counts/s per pixel (module convention).
    """
    ratios = interpolate_ratios(flux_ratio_table(bands, reference), redshift)   # [N, T, B]
    fluxes = np.einsum("nkt,ntb->nkb", np.asarray(sed_weights, np.float64), ratios)
    return np.einsum("nkb,nkxy->nbxy", fluxes, np.asarray(components, np.float64)).astype(
        np.float32)


def component_seds(sed_weights, redshift, templates, reference=REFERENCE_BAND):
    """The SED of each component of one galaxy (``galsim.SED``, photons/s/cm^2/nm per count/s
    of the component's reference-band image).

    Parameters
    ----------
    sed_weights : ndarray [K, T]
    redshift : float
    templates : sequence of str
        The module's ``chromatic.sed_templates``.
    reference : str

    Returns
    -------
    list of galsim.SED
        ``SED_k.calculateFlux(reference) = photons_per_count(reference)``.
    """
    bandpass = get_bandpass(reference)
    scale = photons_per_count(reference)
    unit = [sed_template(name, redshift).withFlux(1.0, bandpass) for name in templates]
    out = []
    for weights in np.asarray(sed_weights, np.float64):
        sed = None
        for w, template in zip(weights, unit):
            if w > 0:
                term = template * (float(w) * scale)
                sed = term if sed is None else sed + term
        out.append(sed)
    return out


def chromatic_profile(component_profiles, seds):
    """``sum_k profile_k * SED_k``: a ``galsim.ChromaticObject`` (a ``galsim.ChromaticSum``)."""
    import galsim

    terms = [p * sed for p, sed in zip(component_profiles, seds)
             if sed is not None and p.flux != 0]
    if not terms:
        raise InputError("a chromatic galaxy with no light: its components are all empty")
    return galsim.Add(terms)


class ColourGalaxy:
    """One chromatic galaxy as achromatic profiles band by band (what a blend simulator
    that draws each band with its own PSF and zero point needs).

    Parameters
    ----------
    components : list of galsim.GSObject
        The reference-band component profiles (module flux units), rotated alike.
    sed_weights : ndarray [K, T]
    redshift : float
    magnitude : float
        The galaxy's AB magnitude in the reference band (the catalog's).
    reference : str
    """

    def __init__(self, components, sed_weights, redshift, magnitude, reference=REFERENCE_BAND):
        self.components = list(components)
        self.fluxes = np.array([c.flux for c in self.components], np.float64)
        self.sed_weights = np.asarray(sed_weights, np.float64)
        self.redshift = float(redshift)
        self.magnitude = float(magnitude)
        self.reference = reference

    def in_band(self, band):
        """``(profile, magnitude)`` in ``band``: the components weighted by their flux in the
        band (a ``galsim.Sum``, total flux 1) and the galaxy's AB magnitude there, the
        reference magnitude plus the model's colour.

        Raises
        ------
        InputError
            For an unknown band or one the templates do not cover at this redshift.
        """
        import galsim

        ratios = interpolate_ratios(flux_ratio_table([band], self.reference),
                                    [self.redshift])[0, :, 0]               # [T]
        fluxes = self.fluxes * (self.sed_weights @ ratios)                    # [K]
        total, reference = fluxes.sum(), self.fluxes.sum()
        if not (total > 0 and reference > 0):
            raise InputError(f"a galaxy with no light in {band}: it cannot be drawn there")
        colour = (zero_point(band) - zero_point(self.reference)
                  - 2.5 * np.log10(total / reference))
        parts = [c.withFlux(float(f / total)) for c, f in zip(self.components, fluxes)
                 if f > 0]
        return galsim.Add(parts), self.magnitude + float(colour)
