"""Chromatic modules: component images and SED weights to GalSim chromatic profiles.

A chromatic module (metadata entry ``chromatic``, ``docs/module_format.rst``)
draws, for each galaxy, ``K`` component images ``I_k`` in its reference band
(F814W; their sum is the ``sample`` signature's image) and each component's
weights ``w_kt`` over the SED templates (``sample_components``).  Component
``k``'s SED is the mixture ``sum_t w_kt SED_t(z)`` of the templates at the
galaxy's redshift, each scaled to unit flux in the reference band, so:

* :func:`chromatic_profile` - the galaxy as GalSim draws it through *any*
  bandpass: ``sum_k InterpolatedImage(I_k) * SED_k``, a
  :class:`~galsim_deep.engine.colour_object.ComponentGalaxy` (drawn through a band from
  one image; its ``band_profile`` is that image, one FFT per band through an achromatic
  PSF) whose SEDs are in photons/s/cm^2/nm, scaled so
  that its AB magnitude in the reference band is the module's (25.94 minus
  2.5 log10 of its F814W flux in the module's counts/s, GalSim's COSMOS
  convention).  Draw it with ``drawImage(bandpass, area=..., exptime=...)``
  like any GalSim chromatic object;
* :func:`band_arrays` - the galaxy's pixels in named bands (``LSST_r``,
  ``F606W``, ...), in each band's counts/s of the module's convention
  (:func:`galsim_deep.physics.bands.zero_point` turns a sum into an AB magnitude),
  by the one band-flux rule, :func:`galsim_deep.physics.bands.band_fluxes` (the
  templates' flux ratios tabulated in redshift);
* :func:`match_colours` - the SED weights tilted, galaxy by galaxy, so that
  its colours in the module's training bands are the catalog's (what
  ``GenerativeGalaxyModel(..., colours="catalog")`` does, as the reference
  band's flux is scaled to the catalog magnitude);
* :class:`ColourGalaxy` - the galaxy band by band for a simulator whose PSFs are
  achromatic (the BTK generator): in each band one ``galsim.InterpolatedImage``, drawn
  with one FFT, and its AB magnitude.
"""
import numpy as np

from ..physics.bands import (REFERENCE_BAND, ab_colour, band_fluxes, band_magnitude_name,
                             colour_flux_ratio, flux_ratio_table, get_bandpass,
                             interpolate_ratios, sed_template, zero_point)
from ..core.errors import InputError
from .profiles import galaxy_profile, grid_frame

# band_fluxes, the one band-flux rule, is galsim_deep.physics.bands.band_fluxes (imported
# here for the callers that import it from this module).
__all__ = ["chromatic_info", "COLOUR_MODES", "colour_mode", "colour_conditions",
           "band_arrays", "match_colours",
           "catalog_sed_weights", "component_seds", "chromatic_profile", "photons_per_count",
           "ColourGalaxy"]


def chromatic_info(metadata):
    """A module's ``chromatic`` metadata entry, or None for a mono module."""
    return metadata.get("chromatic")


def colour_conditions(metadata):
    """``{band: condition}`` of a chromatic module's training bands after the reference whose
    AB magnitude (``mag_<band>``, :func:`galsim_deep.physics.bands.band_magnitude_name`) is one of
    its conditions: the catalog colours :func:`catalog_sed_weights` can match."""
    info = chromatic_info(metadata) or {}
    names = {c["name"] for c in metadata["conditions"]}
    return {band: band_magnitude_name(band) for band in info.get("bands", [])[1:]
            if band_magnitude_name(band) in names}


def head_reads_colours(metadata):
    """Whether a chromatic module's SED head reads the catalog colours (recipe
    ``vae.sed_colours``: its ``decode_components`` signature takes the band magnitudes), so
    that its own colours (``colours='model'``) follow the catalog's too."""
    decode = metadata.get("signatures", {}).get("decode_components") or {}
    return any(name in decode.get("inputs", {}) for name in colour_conditions(metadata).values())


#: What ``GenerativeGalaxyModel(..., colours=)`` takes.
COLOUR_MODES = ("catalog", "model")


def colour_mode(metadata, colours=None):
    """A chromatic module's colour mode: ``'catalog'`` (each galaxy's colours in the module's
    training bands are its catalog row's, :func:`catalog_sed_weights`) or ``'model'`` (the
    network's own SED weights).  The default, None, is ``'catalog'`` where the module is
    conditioned on a colour (:func:`colour_conditions`), else ``'model'``.  (A one-band
    kind refuses any colour mode: :class:`~galsim_deep.engine.kinds.SamplingKind`.)

    Raises
    ------
    InputError
        For another value, or ``'catalog'`` of a module without a colour condition.
    """
    if colours is None:
        return "catalog" if colour_conditions(metadata) else "model"
    if colours not in COLOUR_MODES:
        raise InputError(f"colours must be one of {COLOUR_MODES}, got {colours!r}")
    if colours == "catalog" and not colour_conditions(metadata):
        raise InputError(f"colours='catalog' needs a module conditioned on a band magnitude "
                         f"(mag_<band>); {metadata['name']} is not: use colours='model'")
    return colours


def photons_per_count(reference=REFERENCE_BAND):
    """photons/s/cm^2 (GalSim's SED units) of one count/s of the module convention in the
    reference band: ``10**(-0.4 (25.94 - zp_AB))``, ``zp_AB`` GalSim's AB zero point of the
    bandpass."""
    return 10.0 ** (-0.4 * (zero_point(reference) - float(get_bandpass(reference).zeropoint)))


def band_arrays(components, sed_weights, redshift, bands, reference=REFERENCE_BAND):
    """Galaxies in each of ``bands``: ``sum_k f_kb I_k``, ``f_kb`` the one band-flux rule
    (:func:`galsim_deep.physics.bands.band_fluxes`).

    Parameters
    ----------
    components : ndarray [N, K, S, S]
        Reference-band component images (module flux per pixel).
    sed_weights : ndarray [N, K, T]
        Template weights.
    redshift : ndarray [N]
    bands : sequence of str
        Band names (:data:`galsim_deep.physics.bands.BANDS`).
    reference : str

    Returns
    -------
    ndarray [N, len(bands), S, S]
        float32, each band's counts/s per pixel (module convention).
    """
    fluxes = band_fluxes(sed_weights, redshift, bands, reference)
    return np.einsum("nkb,nkxy->nbxy", fluxes, np.asarray(components, np.float64)).astype(
        np.float32)


def match_colours(fluxes, sed_weights, ratios, targets, max_iter=100, tol=1e-7,
                  max_tilt=200.0):
    """Tilt each galaxy's SED weights so that its band-to-reference flux ratios are
    ``targets``.

    Every component's weights are multiplied by ``exp(sum_c beta_c s_tc)``
    and renormalised, ``s_tc = -ln r_tc`` the template's colour (in nepers)
    in colour band ``c``, with one ``beta`` per galaxy and colour band shared
    by its components: the galaxy turns redder (``beta > 0``) or bluer as a
    whole (each component's colour moves the same way), and its
    reference-band images are untouched (every template has unit reference
    flux).  ``beta`` solves ``ln F_c(beta) =
    ln target_c`` by damped Newton steps (one band: ``F_c`` falls
    monotonically with ``beta``, a unique root).  A target beyond what the
    templates reach (redder than all-reddest) ends at the nearest reachable
    colour, ``|beta| = max_tilt``.

    Parameters
    ----------
    fluxes : ndarray [N, K]
        Each component's reference-band flux.
    sed_weights : ndarray [N, K, T]
        Template weights (each row sums to 1, all > 0 as a softmax's).
    ratios : ndarray [N, T, C]
        The templates' flux ratios in the ``C`` colour bands at each galaxy's
        redshift (:func:`galsim_deep.physics.bands.interpolate_ratios`).
    targets : ndarray [N, C]
        Wanted ``flux(band) / flux(reference)`` of each galaxy, > 0.

    Returns
    -------
    ndarray [N, K, T]
        float64 weights; a galaxy without reference light keeps its own.
    """
    fluxes = np.asarray(fluxes, np.float64)
    weights = np.asarray(sed_weights, np.float64)
    ratios = np.asarray(ratios, np.float64)
    goal = np.log(np.asarray(targets, np.float64))                      # [N, C]
    s = -np.log(ratios)                                                 # [N, T, C]
    log_w = np.log(np.maximum(weights, 1e-300))
    total = np.maximum(fluxes.sum(axis=1), 1e-300)

    def state(i, beta):
        """Tilted weights, band fluxes and log residuals of the galaxies ``i``."""
        logits = log_w[i] + np.einsum("ntc,nc->nt", s[i], beta)[:, None, :]
        w = np.exp(logits - logits.max(axis=-1, keepdims=True))
        w /= w.sum(axis=-1, keepdims=True)                              # [n, K, T]
        band = np.einsum("nk,nkt,ntc->nc", fluxes[i], w, ratios[i]) / total[i, None]
        return w, band, np.log(band) - goal[i]

    beta = np.zeros(goal.shape)
    damping = np.full(len(beta), 1e-3)
    w, band, res = weights.copy(), np.ones(goal.shape), np.zeros(goal.shape)
    todo = np.flatnonzero(fluxes.sum(axis=1) > 0)  # a galaxy without light keeps its weights
    w[todo], band[todo], res[todo] = state(todo, beta[todo])
    for _ in range(max_iter):
        todo = todo[np.sum(res[todo] ** 2, axis=1) >= tol ** 2]
        if not todo.size:
            break
        i = todo
        normal, gradient, scale, cost = _normal_equations(i, fluxes, w, ratios, s, total,
                                                          band, res)
        moved = np.zeros(len(i), bool)
        pending = np.arange(len(i))
        # Levenberg-Marquardt: a galaxy's step that does not lower its squared residual
        # is retried with more damping (towards a short gradient step).
        for _ in range(40):
            j = i[pending]
            lam = damping[j][:, None] * scale[pending]
            step = -np.linalg.solve(normal[pending] + lam[:, :, None] * np.eye(len(lam[0])),
                                    gradient[pending][..., None])[..., 0]
            step *= np.minimum(1.0, 5.0 / np.maximum(np.linalg.norm(step, axis=1),
                                                     1e-300))[:, None]
            trial = np.clip(beta[j] + step, -max_tilt, max_tilt)
            w_t, band_t, res_t = state(j, trial)
            better = np.sum(res_t ** 2, axis=1) < cost[pending]
            k = j[better]
            beta[k], w[k], band[k], res[k] = trial[better], w_t[better], band_t[better], \
                res_t[better]
            damping[k] = np.maximum(damping[k] / 3.0, 1e-9)
            damping[j[~better]] *= 4.0
            moved[pending[better]] = True
            pending = pending[~better]
            if not pending.size:
                break
        todo = i[moved]                           # a galaxy no step improves is done
    return w


def _normal_equations(i, fluxes, w, ratios, s, total, band, res):
    """The linearised problem of :func:`match_colours` for the galaxies ``i`` at their
    weights ``w``: ``J^T J``, ``J^T res``, its diagonal (the damping's scale) and the
    squared residual, ``J`` the derivative of the log band fluxes by the tilts."""
    mean_s = np.einsum("nkt,ntc->nkc", w[i], s[i])                 # [n, K, C]
    # d ln F_c / d beta_d = sum_k f_k sum_t w_kt r_tc (s_td - mean_s_kd) / F_c
    jac = np.einsum("nk,nkt,ntc,nktd->ncd", fluxes[i], w[i], ratios[i],
                    s[i][:, None, :, :] - mean_s[:, :, None, :]) / (
        total[i, None] * band[i])[:, :, None]
    normal = np.einsum("nec,ned->ncd", jac, jac)
    gradient = np.einsum("nec,ne->nc", jac, res[i])
    scale = np.einsum("ncc->nc", normal) + 1e-300                   # diag(J^T J)
    cost = np.sum(res[i] ** 2, axis=1)
    return normal, gradient, scale, cost


def catalog_sed_weights(components, sed_weights, conditions, metadata):
    """A chromatic module's SED weights matched to the catalog's colours
    (:func:`match_colours`), for ``GenerativeGalaxyModel(..., colours="catalog")``.

    Parameters
    ----------
    components : ndarray [N, K, S, S]
    sed_weights : ndarray [N, K, T]
    conditions : dict of ndarray [N]
        The rows' conditions, with the redshift and the magnitude of every
        band of :func:`colour_conditions` and the reference's
        (``flux.magnitude_condition``).
    metadata : dict
        The module's.

    Returns
    -------
    ndarray [N, K, T]
        float32.
    """
    info, colour = chromatic_info(metadata), colour_conditions(metadata)
    reference = metadata["flux"]["magnitude_condition"]
    bands = list(colour)
    ratios = interpolate_ratios(flux_ratio_table(bands, info["reference_band"]),
                                conditions[info["redshift_condition"]])
    mag_ref = np.asarray(conditions[reference], np.float64)
    targets = np.stack([colour_flux_ratio(np.asarray(conditions[colour[b]], np.float64)
                                          - mag_ref, b, info["reference_band"])
                        for b in bands], axis=1)
    fluxes = np.asarray(components, np.float64).sum(axis=(-2, -1))
    return match_colours(fluxes, sed_weights, ratios, targets).astype(np.float32)


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


def chromatic_profile(components, seds, pixel_scale=None, angle=None, stamp_size=None,
                      calculate_maxk=False, **options):
    """``sum_k I_k * SED_k``: a ``galsim.ChromaticObject`` in photons/s/cm^2/nm.

    Parameters
    ----------
    components : ndarray [K, S, S] or sequence of galsim.GSObject
        The reference-band component images (flux per pixel, with ``pixel_scale``), or
        component profiles (e.g. a parametric truth's bulge and disk; None for a component
        the galaxy lacks).
    seds : sequence of galsim.SED or None
        One per component (:func:`component_seds`); None for a component without light.
    pixel_scale : float, optional
        arcsec per pixel of image components.
    angle, stamp_size, calculate_maxk, **options
        How each image is wrapped (:func:`~galsim_deep.engine.profiles.galaxy_profile`).

    Returns
    -------
    galsim.ChromaticSum
        For images a :class:`~galsim_deep.engine.colour_object.ComponentGalaxy` (drawn
        through a bandpass from one image, ``band_profile`` for one FFT per band through
        an achromatic PSF); for profiles ``galsim.Add`` of the terms.

    Raises
    ------
    InputError
        For a galaxy with no light, or images and SEDs that do not match.
    """
    import galsim

    given = [c for c in components if c is not None]  # a profile's missing components
    if not (given and isinstance(given[0], (galsim.GSObject, galsim.ChromaticObject))):
        from .colour_object import ComponentGalaxy

        if pixel_scale is None:
            raise InputError("chromatic_profile of component images needs their pixel_scale")
        return ComponentGalaxy(components, pixel_scale, seds, angle, stamp_size,
                               calculate_maxk, **options)
    terms = [p * sed for p, sed in zip(components, seds)
             if p is not None and sed is not None and p.flux != 0]
    if not terms:
        raise InputError("a chromatic galaxy with no light: its components are all empty")
    return galsim.Add(terms)


class ColourGalaxy:
    """One chromatic galaxy band by band: in each band one achromatic
    ``galsim.InterpolatedImage`` (what a blend simulator that draws each band with its own
    achromatic PSF and zero point needs, such as the BTK generator).

    In band ``b`` the galaxy is ``sum_k f_kb I_k``, ``f_kb`` component ``k``'s flux in the
    band per unit of its reference-band flux (the one rule,
    :func:`galsim_deep.physics.bands.band_fluxes`): one image, so drawing
    it through a PSF costs one FFT, not one per component.  A chromatic PSF needs the
    ``galsim.ChromaticObject`` of :func:`chromatic_profile` instead.

    Parameters
    ----------
    arrays : ndarray [K, S, S]
        The reference-band component images, rotated alike (module flux per pixel, the
        arrays of ``SampledBatch``; kept as float32, read-only).
    pixel_scale : float
        arcsec per pixel of ``arrays``.
    sed_weights : ndarray [K, T]
        The components' SED-template weights.
    redshift : float
    magnitude : float
        The galaxy's AB magnitude in the reference band (the catalog's).
    reference : str
        The reference band (:data:`galsim_deep.physics.bands.BANDS`).
    angle : float or array_like [2, 2], optional
        An exact rotation (radians, counter-clockwise) of the images' pixel grid, or a
        catalog shape's linear map of it (:func:`~galsim_deep.engine.profiles.stamp_profile`);
        None for an axis-aligned grid.
        Each image is wrapped by :func:`~galsim_deep.engine.profiles.galaxy_profile` with its
        default options.
    stamp_size : int, optional
        The module's stamp side (pixels), which ``galaxy_profile``'s padding counts in
        when ``arrays`` are a resampled rotation's larger grid (default: their side).

    Attributes
    ----------
    arrays : ndarray [K, S, S]
        The component images (float32, read-only).
    fluxes : ndarray [K]
        float64, each component's reference-band flux (module flux units).
    """

    def __init__(self, arrays, pixel_scale, sed_weights, redshift, magnitude,
                 reference=REFERENCE_BAND, angle=None, stamp_size=None):
        arrays = np.asarray(arrays, np.float32).view()
        arrays.flags.writeable = False
        if arrays.ndim != 3:
            raise InputError(f"a colour galaxy's component arrays are [K, S, S], got shape "
                             f"{arrays.shape}")
        self.arrays, self.pixel_scale = arrays, float(pixel_scale)
        self.angle = grid_frame(angle)
        self.stamp_size = stamp_size
        self.fluxes = arrays.sum(axis=(1, 2), dtype=np.float64)
        self.sed_weights = np.asarray(sed_weights, np.float64)
        self.redshift = float(redshift)
        self.magnitude = float(magnitude)
        self.reference = reference
        self._components = None

    def _profile(self, array):
        return galaxy_profile(array, self.pixel_scale, self.angle, stamp_size=self.stamp_size)

    @property
    def components(self):
        """The reference-band component profiles (``galsim.InterpolatedImage``, module flux
        units), made at the first use."""
        if self._components is None:
            self._components = [self._profile(a) for a in self.arrays]
        return list(self._components)

    def in_band(self, band):
        """``(profile, magnitude)`` in ``band``: the galaxy's image there as one
        ``galsim.InterpolatedImage``, ``sum_k f_kb I_k / F_b`` (``F_b = sum_k f_kb
        flux_k``, so a total flux of 1; a component of non-positive flux in the band adds
        nothing, so that a negative one leaves a total above 1), and its AB magnitude
        there, the reference magnitude plus the model's colour.

        Raises
        ------
        InputError
            For an unknown band, one the templates do not cover at this redshift, or a
            galaxy with no light in the band.
        """
        ratios = band_fluxes(self.sed_weights[None], [self.redshift], [band],
                             self.reference)[0, :, 0]                             # [K]
        fluxes = self.fluxes * ratios
        total, reference = fluxes.sum(), self.fluxes.sum()
        if not (total > 0 and reference > 0):
            raise InputError(f"a galaxy with no light in {band}: it cannot be drawn there")
        colour = ab_colour(total / reference, band, self.reference)
        # Component k at flux f_kb flux_k / F_b is its image times f_kb / F_b.
        weights = np.where(fluxes > 0, ratios / total, 0.0)
        image = np.einsum("k,kxy->xy", weights, self.arrays, dtype=np.float64)
        return self._profile(image), self.magnitude + float(colour)
