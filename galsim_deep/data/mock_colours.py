"""Colours of the mock galaxies: an SED per component, and the galaxy in several HST bands.

A multi-band mock-COSMOS galaxy is the mono galaxy of the same seed (the same
F814W profile, stamp, PSF and noise: its F814W arrays are bit-identical) whose
four :data:`~galsim_deep.data.morphology.COMPONENTS` each get one of the
:data:`~galsim_deep.physics.bands.SED_TEMPLATES`, redshifted to the galaxy's
``zphot``.  A component keeps its F814W flux, so the galaxy's F814W
magnitude stays ``mag_auto``; its flux in band ``b`` is that flux times the
template's ratio of photon rates, integrated exactly at the galaxy's redshift
(:func:`galsim_deep.physics.bands.exact_band_fluxes`, the rule validation measures the
truth by; stored as the dataset's ``component_flux``).  A
red bulge inside a blue disk with blue knots then has the colour gradient of
a real spiral: the galaxy is smaller and more concentrated in F814W than in
F606W.

Which template a component gets (:func:`assign_seds`, drawn from its own
random stream so that the F814W draws are untouched): the galaxy draws a
spectral type, E/S0, spiral or irregular, with the probabilities of Benitez
(2000, ApJ 536, 571, Table 1: the F814W-selected Hubble Deep Field North,
35% E/S0 at F814W = 20 falling to 4% at 25) weighted by its morphology class
(spheroids more often E/S0, clumpy galaxies more often irregular:
:data:`TYPE_WEIGHTS`); its bulge and disk take templates of that type, its
star-forming knots, clumps and tails the irregular template.

These rules are the mock's assumptions, not measurements; how the resulting
colours compare with published COSMOS colours is in ``docs/datasets.rst``.

Each band is observed like the F814W stamp: the F814W PSF dilated by the ratio
of the bands' effective wavelengths (diffraction scales with wavelength; the
pixel response, which does not, is dilated with it: an approximation of a few
percent on the core), and noise of the same correlated spectrum scaled so that
every band reaches the F814W depth in AB magnitudes, from an independent seed.
"""
import math

import numpy as np

from ..physics.bands import (REFERENCE_BAND, SED_TEMPLATES, band_name, effective_wavelength,
                             exact_band_fluxes, zero_point)
from ..core.errors import InputError
from .morphology import COMPONENTS

__all__ = ["MOCK_BANDS", "COLOUR_STREAM", "BENITEZ_2000", "TYPE_WEIGHTS", "mock_bands",
           "benitez_fractions", "type_probabilities", "assign_seds", "component_fluxes",
           "band_magnitudes", "band_attrs", "band_fields", "BandObserver"]

#: The bands a mock-COSMOS dataset can have: HST ACS, whose PSF the F814W images stand for.
MOCK_BANDS = ("F435W", "F606W", "F775W", "F814W", "F850LP")
#: Third entry of the seed sequence ``[seed, index, COLOUR_STREAM]`` of a galaxy's colours.
COLOUR_STREAM = 0xC010
_E, _SBC, _SCD, _IM = range(4)


def mock_bands(bands):
    """The canonical band list of a multi-band mock: F814W first, then the others given.

    Raises
    ------
    InputError
        For a band outside :data:`MOCK_BANDS`, a repeated band, or only F814W.
    """
    if isinstance(bands, str):
        bands = [b for b in bands.split(",") if b.strip()]
    names = [band_name(b) for b in bands]
    outside = [b for b in names if b not in MOCK_BANDS]
    if outside:
        raise InputError(f"mock-cosmos draws HST ACS bands only ({', '.join(MOCK_BANDS)}), "
                         f"not {', '.join(outside)}; draw other surveys' bands from a "
                         f"chromatic model instead")
    if len(set(names)) != len(names):
        raise InputError(f"bands {names} repeat a band; give each once")
    out = [REFERENCE_BAND] + [b for b in names if b != REFERENCE_BAND]
    if len(out) < 2:
        raise InputError("bands needs a band besides F814W (e.g. --bands F814W,F606W)")
    return out


#: Benitez (2000, ApJ 536, 571, Table 1): spectral type -> (fraction at F814W = 20, decline
#: per magnitude); irregulars are the rest.
BENITEZ_2000 = {"E/S0": (0.35, 0.450), "spiral": (0.50, 0.147)}
#: How much more often than the HDF-N fractions a morphology class is of each spectral type
#: (E/S0, spiral, irregular): the mock's assumption that spheroids are red and clumpy galaxies
#: blue.
TYPE_WEIGHTS = {"spheroid": (2.0, 1.0, 0.6), "disk": (0.5, 1.0, 1.2),
                "clumpy": (0.1, 0.5, 2.0), "spiral": (0.3, 1.3, 1.0),
                "disturbed": (0.3, 0.8, 1.5), "pair": (1.0, 1.0, 1.0)}
#: Templates of the bulge and the disk of each spectral type: (template indices,
#: probabilities).
_TEMPLATES = {0: {"bulge": ((_E,), (1.0,)), "disk": ((_E, _SBC), (0.7, 0.3))},
              1: {"bulge": ((_E, _SBC), (0.6, 0.4)), "disk": ((_SBC, _SCD), (0.5, 0.5))},
              2: {"bulge": ((_SCD, _IM), (0.3, 0.7)), "disk": ((_SCD, _IM), (0.2, 0.8))}}


def benitez_fractions(mag):
    """The HDF-N fractions of E/S0, spiral and irregular galaxies at F814W AB ``mag``
    (:data:`BENITEZ_2000`; magnitudes brighter than 20 take the values at 20).

    Returns
    -------
    numpy.ndarray [..., 3]
    """
    dm = np.maximum(np.asarray(mag, dtype=float) - 20.0, 0.0)
    e = BENITEZ_2000["E/S0"][0] * np.exp(-BENITEZ_2000["E/S0"][1] * dm)
    s = BENITEZ_2000["spiral"][0] * np.exp(-BENITEZ_2000["spiral"][1] * dm)
    return np.stack([e, s, 1.0 - e - s], axis=-1)


def type_probabilities(mag_auto, class_name):
    """Probabilities of the spectral types (E/S0, spiral, irregular) of a galaxy: the HDF-N
    fractions at its magnitude times :data:`TYPE_WEIGHTS` of its class, normalised."""
    p = benitez_fractions(mag_auto) * np.asarray(TYPE_WEIGHTS[class_name])
    return p / p.sum()


def assign_seds(galaxy, zphot, mag_auto, rng):
    """The template of each component of a mock galaxy.

    The galaxy draws a spectral type (:func:`type_probabilities`); its bulge
    and disk then draw templates of that type; knots, clumps and tails are
    irregular (Im), spiral arms the disk's template or Im in equal parts; a
    companion draws a type of its own at a magnitude one fainter (E, Sbc or
    Im).

    Parameters
    ----------
    galaxy : galsim_deep.data.morphology.MockGalaxy
    zphot : float
        Unused by the rules today (the templates are redshifted later); kept so
        a redshift-dependent rule needs no new signature.
    mag_auto : float
        F814W AB mag.
    rng : numpy.random.Generator
        The galaxy's colour stream (consumed deterministically).

    Returns
    -------
    numpy.ndarray of int32, shape [K]
        One per component (K = 4), index into :data:`~galsim_deep.physics.bands.SED_TEMPLATES`, -1 for a component
        the galaxy lacks.
    """
    kind = int(rng.choice(3, p=type_probabilities(mag_auto, galaxy.class_name)))
    chosen = {}
    for part in ("bulge", "disk"):
        templates, p = _TEMPLATES[kind][part]
        chosen[part] = int(templates[int(rng.choice(len(templates), p=p))])
    # Knots, clumps and tails form stars: the bluest template; arms are the disk's or bluer.
    arms_like_disk = galaxy.class_name == "spiral" and rng.random() < 0.5
    chosen["structure"] = chosen["disk"] if arms_like_disk else _IM
    companion = int(rng.choice(3, p=type_probabilities(mag_auto + 1.0, "pair")))
    chosen["companion"] = (_E, _SBC, _IM)[companion]
    return np.array([chosen[k] if galaxy.components.get(k) is not None else -1
                     for k in COMPONENTS], dtype=np.int32)


def component_fluxes(galaxy):
    """F814W flux (counts/s) of each component, 0 for one the galaxy lacks."""
    return np.array([0.0 if galaxy.components.get(k) is None else
                     float(galaxy.components[k].flux) for k in COMPONENTS])


class BandObserver:
    """Draws the truth and the observed stamp of a galaxy's components in one band.

    Parameters
    ----------
    band : str
        A band of :data:`MOCK_BANDS`.
    psfs : galsim_deep.data.psf._PSFSet
        The source's F814W PSF set (dilated here to the band).
    stamp_size, pixel_scale, binning, fine_scale : int, float, int, float
        The source's stamp geometry (see
        :class:`~galsim_deep.data.mock_cosmos.MockCosmosSource`).
    """

    def __init__(self, band, psfs, stamp_size, pixel_scale, binning, fine_scale):
        self.band = band
        self.psfs = psfs
        self.dilation = effective_wavelength(band) / effective_wavelength(REFERENCE_BAND)
        # noise sigma (counts/s) of the same AB depth: flux of a magnitude scales with 10**(0.4 zp)
        self.noise_scale = 10.0 ** (0.4 * (zero_point(band) - zero_point(REFERENCE_BAND)))
        self.stamp_size, self.pixel_scale = int(stamp_size), float(pixel_scale)
        self.binning, self.fine_scale = int(binning), float(fine_scale)
        self._psf = {}

    def psf(self, psf_id):
        """``(profile, image)`` of the band's effective PSF number ``psf_id``."""
        from .psf import centre_psf, draw_psf_image

        if psf_id not in self._psf:
            profile = centre_psf(self.psfs.profile(psf_id).dilate(self.dilation),
                                 self.psfs.profile_scale)
            image = draw_psf_image(profile, self.stamp_size, self.pixel_scale, self.binning)[0]
            self._psf[psf_id] = (profile, image)
        return self._psf[psf_id]

    def draw(self, components, fluxes, psf_id, unit_noise, variance, noise_seed):
        """Truth, stamp and PSF image of the galaxy in the band.

        Parameters
        ----------
        components : sequence of galsim.GSObject or None
            The F814W components, in the order of
            :data:`~galsim_deep.data.morphology.COMPONENTS`.
        fluxes : array_like [K]
            Their fluxes in this band (counts/s).
        psf_id : int
        unit_noise : galsim.BaseCorrelatedNoise
            The source's unit-variance noise (at ``fine_scale``).
        variance : float
            The F814W noise variance per fine pixel of this stamp.
        noise_seed : int

        Returns
        -------
        dict
            ``truth``, ``stamp``, ``psf`` (float64 ``[S, S]``) and
            ``noise_factor`` (this band's noise variance over F814W's).
        """
        import galsim

        from .binning import bin_pixels, draw_binned
        from .noise import draw_noise

        parts = [c.withFlux(float(f)) for c, f in zip(components, fluxes)
                 if c is not None and f > 0]
        if not parts:
            raise InputError(f"a galaxy with no flux in band {self.band}: the mock is corrupt")
        profile = galsim.Add(parts)
        s, p, f = self.stamp_size, self.pixel_scale, self.binning
        truth = profile.drawImage(nx=s, ny=s, scale=p, method="no_pixel",
                                  dtype=np.float64).array
        psf_profile, psf_image = self.psf(psf_id)
        sigma = math.sqrt(variance) * self.noise_scale
        noise = draw_noise(unit_noise, f * s, self.fine_scale if f > 1 else p, noise_seed)
        stamp = draw_binned(galsim.Convolve(profile, psf_profile), s, p, f)
        stamp = stamp + sigma * (bin_pixels(noise, f) if f > 1 else noise)
        return {"truth": truth, "stamp": stamp, "psf": psf_image,
                "noise_factor": self.noise_scale ** 2}


def band_fields(galaxy, mag_auto, zphot, bands, observers, psf_id, variance, unit_noise, mono,
                rng):
    """The per-example band fields of a multi-band mock galaxy.

    Parameters
    ----------
    galaxy : galsim_deep.data.morphology.MockGalaxy
    mag_auto, zphot : float
    bands : list of str
        :func:`mock_bands` (F814W first).
    observers : list of BandObserver
        One per band after F814W.
    psf_id : int
    variance : float
        F814W noise variance per fine pixel.
    unit_noise : galsim.BaseCorrelatedNoise
    mono : dict
        The galaxy's F814W fields (``truth``, ``stamp``, ``psf``,
        ``noise_variance``, ``noise_power``, ``conditions``).
    rng : numpy.random.Generator
        The galaxy's colour stream (:data:`COLOUR_STREAM`).

    Returns
    -------
    dict
        ``<field>_bands`` ``[B, ...]`` (F814W first, ``mono``'s arrays),
        ``component_sed`` ``[K]``, ``component_flux`` ``[K, B]`` (counts/s,
        :func:`galsim_deep.physics.bands.exact_band_fluxes`) and the
        ``conditions`` with one ``mag_<band>`` per extra band appended.
    """
    seds = assign_seds(galaxy, zphot, mag_auto, rng)
    fluxes = exact_band_fluxes(component_fluxes(galaxy), seds, zphot, bands)     # [K, B]
    components = [galaxy.components[k] for k in COMPONENTS]
    rows = {key: [mono[key]] for key in ("truth", "stamp", "psf", "noise_variance",
                                         "noise_power")}
    for j, observer in enumerate(observers, start=1):
        drawn = observer.draw(components, fluxes[:, j], psf_id, unit_noise, variance,
                              int(rng.integers(1, 2 ** 31 - 1)))
        for key in ("truth", "stamp", "psf"):
            rows[key].append(drawn[key])
        for key in ("noise_variance", "noise_power"):
            rows[key].append(mono[key] * drawn["noise_factor"])
    magnitudes = band_magnitudes(fluxes, bands)[1:]
    out = {f"{key}_bands": np.stack(value) for key, value in rows.items()}
    out.update(component_sed=seds, component_flux=fluxes,
               conditions=np.concatenate([mono["conditions"], magnitudes]))
    return out


def band_magnitudes(fluxes, bands):
    """A galaxy's AB magnitude in each band: the sum of its components' fluxes.

    Parameters
    ----------
    fluxes : ndarray [K, B]
        Each component's flux in each band (counts/s,
        :func:`galsim_deep.physics.bands.exact_band_fluxes`).
    bands : list of str

    Returns
    -------
    list of float
        One AB magnitude per band, as a multi-band build's ``mag_<band>`` conditions.
    """
    return [zero_point(b) - 2.5 * math.log10(fluxes[:, j].sum()) for j, b in enumerate(bands)]


def band_attrs(bands):
    """Root attributes of a multi-band dataset: its bands, their zero points, the SED
    templates and the components."""
    return {
        "bands": list(bands),
        "band_zero_points": [zero_point(b) for b in bands],
        "sed_names": list(SED_TEMPLATES),
        "component_names": list(COMPONENTS),
        "band_description": (
            "each band: the F814W PSF dilated by the ratio of effective wavelengths, "
            "noise of the F814W spectrum scaled to the same AB depth, from its own seed; "
            "components with CWW SED templates redshifted to zphot, F814W flux kept "
            "(galsim_deep.data.mock_colours)"),
    }
