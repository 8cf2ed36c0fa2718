"""Colours of chromatic galaxies: integrated colours, colour gradients and per-band shapes.

Pure NumPy functions of unconvolved, noiseless band images ``[N, B, S, S]``
(the truths of a multi-band dataset, or a chromatic model's
:meth:`~galsim_deep.GenerativeGalaxyModel.sample_arrays` with ``bands``):

* :func:`colours` - ``band - reference`` AB colours from the images' fluxes
  and the bands' zero points;
* :func:`half_light_radii` - each image's half-light radius, interpolated
  between pixel radii (continuous, unlike a pixel count);
* :func:`colour_section` - the measure ``colours`` of a validation report:
  colour against the catalog's, the half-light radius ratio between bands
  (the colour gradient) against the truth's and against a single-SED
  Sérsic's (1 exactly: the same profile in every band), and each band's
  size and ellipticity;
* :func:`template_fluxes` and :func:`held_out_section` - colours in bands
  the model was not trained on (LSST, Roman) against the mock truth's, whose
  components' SED templates and F814W fluxes the dataset stores: measured as
  the mock made them, each template integrated exactly at the galaxy's
  redshift (:func:`galsim_deep.physics.bands.exact_band_fluxes`).
"""
import numpy as np

from .....core.errors import InputError
from ...statistics import distances, mean_difference


__all__ = ["colours", "flux_colours", "catalog_colours", "half_light_radii",
           "matched_filter_fluxes", "centre_outskirts_colours", "ellipticities", "median_abs",
           "colour_section", "wasserstein_margin", "colour_slope", "HELD_OUT_BANDS",
           "template_fluxes", "held_out_section"]

#: Bands a two-band (F814W, F606W) model never saw, from the UV to the near-IR, in which
#: the ``colours`` measure compares its colours with the truth's.
HELD_OUT_BANDS = ("F435W", "LSST_u", "LSST_g", "LSST_z", "LSST_y", "Roman_H158")


def colours(images, reference_index, zero_points):
    """``band - reference`` AB colour of each galaxy in each band, from the image sums.

    Parameters
    ----------
    images : ndarray [N, B, S, S]
        Counts/s per pixel of each band.
    reference_index : int
        The reference band's position.
    zero_points : sequence of float [B]
        AB zero points (:func:`galsim_deep.physics.bands.zero_point`).

    Returns
    -------
    ndarray [N, B]
        NaN where a flux is not positive.
    """
    return flux_colours(np.asarray(images, np.float64).sum(axis=(-2, -1)), reference_index,
                        zero_points)


def flux_colours(flux, reference_index, zero_points):
    """:func:`colours` from fluxes ``[N, B]`` (counts/s) instead of images."""
    flux = np.asarray(flux, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mags = np.asarray(zero_points, np.float64) - 2.5 * np.log10(flux)
    mags[~(flux > 0)] = np.nan
    return mags - mags[:, [reference_index]]


def catalog_colours(conditions, condition_names, bands):
    """Catalog colours ``mag_band - mag_auto`` (AB mag) of the rows of a condition table.

    Parameters
    ----------
    conditions : ndarray [N, C]
        Condition rows, their columns named by ``condition_names``.
    condition_names : sequence of str
    bands : sequence of str
        The bands, the reference (F814W, ``mag_auto``) first; each one's magnitude
        column is :func:`galsim_deep.physics.bands.band_magnitude_name`.

    Returns
    -------
    ndarray [N, B]
        float64 (the differences taken in the table's own precision); column 0, the
        reference's, is 0.
    """
    from .....physics.bands import band_magnitude_name

    names = list(condition_names)
    magnitudes = np.asarray(conditions)[:, [names.index(band_magnitude_name(b)) for b in bands]]
    return (magnitudes - magnitudes[:, [0]]).astype(np.float64)


def half_light_radii(images, pixel_scale, subsample=4):
    """Half-light radius of each image about the stamp's true centre (arcsec).

    Each pixel is split into ``subsample x subsample`` equal parts, their
    light sorted by the parts' distance to the stamp's geometric centre and
    accumulated, and the radius where it reaches half the total interpolated
    linearly: within 1% of a Gaussian's for sigma >= 2 pixels.

    Parameters
    ----------
    images : ndarray [..., S, S]
    pixel_scale : float
    subsample : int

    Returns
    -------
    ndarray [...]
        NaN where the total is not positive.
    """
    images = np.asarray(images, np.float64)
    s, f = images.shape[-1], int(subsample)
    offsets = (np.arange(f) + 0.5) / f - 0.5
    centre = np.arange(s) - (s - 1) / 2.0
    fine = (centre[:, None] + offsets[None, :]).ravel()                  # [S f]
    radius = np.hypot(fine[:, None], fine[None, :]).ravel()
    order = np.argsort(radius, kind="stable")
    r = radius[order]
    flat_images = images.reshape((-1, s, s))
    out = np.full(len(flat_images), np.nan)
    for start in range(0, len(flat_images), 64):
        chunk = flat_images[start:start + 64]
        fine_images = np.repeat(np.repeat(chunk, f, axis=1), f, axis=2).reshape(
            (len(chunk), -1))[:, order]
        cumulative = np.cumsum(fine_images, axis=1)
        for i, c in enumerate(cumulative):
            total = c[-1]
            if not total > 0:
                continue
            j = min(max(int(np.searchsorted(c, 0.5 * total)), 1), len(c) - 1)
            t = 0.0 if c[j] == c[j - 1] else (0.5 * total - c[j - 1]) / (c[j] - c[j - 1])
            out[start + i] = (r[j - 1] + t * (r[j] - r[j - 1])) * pixel_scale
    return out.reshape(images.shape[:-2])


def matched_filter_fluxes(stamps, truth, psfs):
    """Each band's flux from a fit of the true profile's shape to the noisy stamp.

    The truth convolved with the band's PSF is the template ``P``; its
    amplitude is the least-squares ``sum(P d) / sum(P^2)`` (the weights of
    white noise, whose variance, one number per stamp, cancels; the stamps'
    correlated noise makes it a little less than optimal).  With the exact
    shape known, this is about the best flux, and so colour, that one noisy
    stamp allows: a reference for a model that must also learn the shape
    (an oracle, not a reachable estimator).

    Parameters
    ----------
    stamps, truth, psfs : ndarray [N, B, S, S]
        Observed stamps, unconvolved truths, effective PSFs (unit sum, centred
        on pixel ``(S//2, S//2)``).

    Returns
    -------
    ndarray [N, B]
        Fluxes in the stamps' units (NaN where the template has no light).
    """
    stamps, truth = np.asarray(stamps, np.float64), np.asarray(truth, np.float64)
    size = stamps.shape[-2:]
    kernel = np.fft.rfft2(np.fft.ifftshift(np.asarray(psfs, np.float64), axes=(-2, -1)))
    template = np.fft.irfft2(np.fft.rfft2(truth) * kernel, s=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        amplitude = (template * stamps).sum(axis=(-2, -1)) / (template ** 2).sum(axis=(-2, -1))
    return amplitude * truth.sum(axis=(-2, -1))


def centre_outskirts_colours(images, radius, zero_points, reference_index=0):
    """Colour of each galaxy's centre minus that of its outskirts, per band.

    The centre is the light of the pixels whose centres lie within ``radius``
    of the stamp's true centre, the outskirts the rest of the stamp; a
    galaxy whose profile is the same in every band (a single-SED Sérsic)
    gives 0, a red bulge in a blue disk a positive ``F606W - F814W``
    difference.

    Parameters
    ----------
    images : ndarray [N, B, S, S]
    radius : ndarray [N]
        Pixels (e.g. the reference band's half-light radius).
    zero_points : sequence of float [B]
    reference_index : int

    Returns
    -------
    ndarray [N, B]
        ``(band - reference)_centre - (band - reference)_outskirts`` (mag);
        NaN where either part has no light.
    """
    images = np.asarray(images, np.float64)
    s = images.shape[-1]
    y, x = np.indices((s, s)) - (s - 1) / 2.0
    inside = (np.hypot(x, y)[None] <= np.asarray(radius, np.float64)[:, None, None])
    centre = np.einsum("nbxy,nxy->nb", images, inside)
    outskirts = images.sum(axis=(-2, -1)) - centre
    return (flux_colours(centre, reference_index, zero_points)
            - flux_colours(outskirts, reference_index, zero_points))


def ellipticities(images, components=False):
    """``|g|`` of each unconvolved image from its adaptive moments (HSM); NaN on failure
    (``components``: ``(g1, g2)`` as a last axis of 2)."""
    import galsim

    images = np.asarray(images, np.float64)
    out = np.full((int(np.prod(images.shape[:-2])), 2), np.nan)
    for i, image in enumerate(images.reshape((-1,) + images.shape[-2:])):
        try:
            moments = galsim.hsm.FindAdaptiveMom(galsim.Image(image), strict=True)
        except galsim.GalSimHSMError:
            continue
        out[i] = moments.observed_shape.g1, moments.observed_shape.g2
    if components:
        return out.reshape(images.shape[:-2] + (2,))
    return np.hypot(out[:, 0], out[:, 1]).reshape(images.shape[:-2])


def median_abs(values, n_boot=500, seed=0):
    """Median of ``|values|`` (NaN ignored) and its bootstrap error."""
    values = np.abs(np.asarray(values, np.float64))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"median": None, "error": None, "n": 0}
    rng = np.random.default_rng(seed)
    boot = np.median(values[rng.integers(0, values.size, (n_boot, values.size))], axis=1)
    return {"median": float(np.median(values)), "error": float(np.std(boot, ddof=1)),
            "n": int(values.size)}


def _paired_bootstrap(statistic, arrays, n_boot, seed):
    """``statistic(*arrays)`` of values of the same galaxies (rows with a NaN in any array
    dropped), its bootstrap error (the galaxies resampled together) and the number of rows."""
    values = np.stack([np.asarray(a, np.float64) for a in arrays])
    values = values[:, np.isfinite(values).all(axis=0)]
    n = values.shape[1]
    rng = np.random.default_rng(seed)
    boots = [statistic(*values[:, rng.integers(0, n, n)]) for _ in range(n_boot)]
    return float(statistic(*values)), float(np.std(boots, ddof=1)), int(n)


def colour_slope(colour, catalog_colour, n_boot=500, seed=0):
    """Least-squares slope of galaxies' colours on their catalog colours, with its bootstrap
    error (rows with a NaN dropped): 1 where the colours follow the catalog's, 0 where they
    ignore it (every galaxy given the mean colour).  A median ``|colour - catalog|`` does not
    tell the two apart from noise; the slope does.

    Returns
    -------
    dict
        ``slope``, ``error``, ``n`` (``slope`` None with fewer than 3 rows or no spread).
    """
    x = np.asarray(catalog_colour, np.float64)
    x = x[np.isfinite(x) & np.isfinite(np.asarray(colour, np.float64))]
    if x.size < 3 or np.ptp(x) == 0:
        return {"slope": None, "error": None, "n": int(x.size)}

    def slope(x, y):
        dx = x - x.mean()
        return np.sum(dx * (y - y.mean())) / np.sum(dx * dx)

    value, error, n = _paired_bootstrap(slope, (catalog_colour, colour), n_boot, seed)
    return {"slope": value, "error": error, "n": n}


def colour_section(generated, truth, catalog_colour, twin_colour, bands, zero_points,
                   pixel_scale, n_boot=500, seed=0, rotated=None, other_colours=None):
    """The ``colours`` section of a validation report.

    Parameters
    ----------
    generated, truth : ndarray [N, B, S, S]
        The model's band images and the true ones (unconvolved, noiseless), band
        0 the reference.
    catalog_colour : ndarray [N, B]
        Each galaxy's catalog colour ``mag_<band> - mag_auto`` (column 0 is 0).
    twin_colour : ndarray [N, B] or None
        Its twin's catalog colour (the galaxy of the nearest conditions): the
        scatter of colours at fixed conditions.
    bands : sequence of str
    zero_points : sequence of float
    pixel_scale : float
    n_boot, seed : int
        The bootstrap of the errors.
    rotated : ndarray [N, B, S, S], optional
        The generated galaxies rotated by their random angles: each band's mean
        ``g1``, ``g2`` (``isotropy[band]``), which must be 0 within its error.
    other_colours : dict of ndarray [N, B], optional
        More colours of the same galaxies to compare with the catalog's, each
        reported as ``colour[label]``: ``'network'``, the network's own SED
        weights where ``generated`` had its colours matched to the catalog's
        (``colours='catalog'``); ``'autoencoder'``, the module's reconstruction
        of each observed test galaxy (what the autoencoder alone reaches);
        ``'matched_filter'``, the true profiles fitted to the noisy stamps
        (:func:`matched_filter_fluxes`: the colour information of the data).

    Returns
    -------
    dict
        ``bands``; per band after the reference (``per_band[band]``):
        ``colour`` (median ``|generated - catalog|`` colour with its error, the
        same for the truth and the twin, and ``off_by_0.01`` the number of
        generated galaxies more than 0.01 mag off or without light), ``colour_slope`` (the
        slope of each of those colours on the catalog's, :func:`colour_slope`, keyed as
        ``colour``), ``hlr_ratio`` (the generated,
        true and Sérsic r_half(band) / r_half(reference): means with errors,
        and the Wasserstein distances of the generated and the Sérsic ratios
        to the true ones, with ``margin`` the second minus the first and its
        bootstrap error, :func:`wasserstein_margin`), ``centre_outskirts`` (the same of the colour
        inside the reference band's r_half minus the colour outside,
        :func:`centre_outskirts_colours`; a Sérsic's is 0), and per band (``shapes[band]``) the mean
        half-light radius and ``|g|`` of generated against true.
    """
    generated, truth = np.asarray(generated), np.asarray(truth)
    if generated.shape != truth.shape or generated.ndim != 4:
        raise InputError(f"generated and truth must both be [N, B, S, S], got "
                         f"{generated.shape} and {truth.shape}")
    gen_colour = colours(generated, 0, zero_points)
    true_colour = colours(truth, 0, zero_points)
    gen_r, true_r = half_light_radii(generated, pixel_scale), half_light_radii(truth,
                                                                                pixel_scale)
    gen_g, true_g = ellipticities(generated), ellipticities(truth)
    gen_co = centre_outskirts_colours(generated, gen_r[:, 0] / pixel_scale, zero_points)
    true_co = centre_outskirts_colours(truth, true_r[:, 0] / pixel_scale, zero_points)
    out = {"bands": list(bands), "n": int(len(generated)), "per_band": {}, "shapes": {}}
    for b, band in enumerate(bands):
        out["shapes"][band] = {
            "hlr_arcsec": mean_difference(gen_r[:, b], true_r[:, b], n_boot, seed),
            "g": mean_difference(gen_g[:, b], true_g[:, b], n_boot, seed)}
        if b == 0:
            continue
        gen_ratio = gen_r[:, b] / gen_r[:, 0]
        true_ratio = true_r[:, b] / true_r[:, 0]
        sersic_ratio = np.ones_like(true_ratio)
        entry = {
            "colour": {
                "generated": median_abs(gen_colour[:, b] - catalog_colour[:, b], n_boot, seed),
                "off_by_0.01": int(np.sum(~(np.abs(gen_colour[:, b] - catalog_colour[:, b])
                                            <= 0.01))),
                "truth": median_abs(true_colour[:, b] - catalog_colour[:, b], n_boot, seed),
                "twin": (None if twin_colour is None else
                         median_abs(twin_colour[:, b] - catalog_colour[:, b], n_boot, seed)),
                **{label: median_abs(c[:, b] - catalog_colour[:, b], n_boot, seed)
                   for label, c in (other_colours or {}).items()}},
            "colour_slope": {
                label: colour_slope(c[:, b], catalog_colour[:, b], n_boot, seed)
                for label, c in (("generated", gen_colour), ("truth", true_colour),
                                 *(other_colours or {}).items())},
            "hlr_ratio": _gradient(gen_ratio, sersic_ratio, true_ratio, n_boot, seed),
            "centre_outskirts": _gradient(gen_co[:, b], np.zeros(len(true_co)), true_co[:, b],
                                          n_boot, seed)}
        out["per_band"][band] = entry
    if rotated is not None:
        g = ellipticities(rotated, components=True)                          # [N, B, 2]
        zero = np.zeros(len(g))
        out["isotropy"] = {band: {name: mean_difference(g[:, b, k], zero, n_boot, seed)
                                  for k, name in enumerate(("g1", "g2"))}
                           for b, band in enumerate(bands)}
    return out


def wasserstein_margin(generated, reference, truth, n_boot=500, seed=0):
    """How much closer ``generated`` is to ``truth`` than ``reference`` is, in Wasserstein
    distance: ``W(reference, truth) - W(generated, truth)``, > 0 where ``generated`` is
    closer, with its bootstrap error (the galaxies resampled together: the three are values
    of the same galaxies; rows with a NaN dropped).

    Returns
    -------
    dict
        ``difference``, ``error``, ``n``.
    """
    from scipy.stats import wasserstein_distance

    def margin(g, r, t):
        return wasserstein_distance(r, t) - wasserstein_distance(g, t)

    value, error, n = _paired_bootstrap(margin, (generated, reference, truth), n_boot, seed)
    return {"difference": value, "error": error, "n": n}


def _gradient(generated, sersic, truth, n_boot, seed):
    """A colour-gradient statistic of the generated galaxies and of single-SED Sérsics
    against the truth's: means, Wasserstein distances and their margin."""
    return {"mean": mean_difference(generated, truth, n_boot, seed),
            "wasserstein_generated": distances(generated, truth)["wasserstein"],
            "wasserstein_sersic": distances(sersic, truth)["wasserstein"],
            "margin": wasserstein_margin(generated, sersic, truth, n_boot, seed)}


def template_fluxes(reference_flux, component_sed, redshift, bands):
    """Fluxes in ``bands`` of galaxies made of components with one SED template each (the
    mock truth), measured the way the mock made them: ``sum_k f_k r(t_k, z, band)``, each
    ratio ``r`` the template at the galaxy's redshift integrated exactly through both
    bandpasses (:func:`galsim_deep.physics.bands.exact_band_fluxes`, the rule of the
    dataset's ``component_flux``), not the models' table interpolated in redshift.

    Parameters
    ----------
    reference_flux : ndarray [N, K]
        Each component's F814W flux (counts/s; the dataset's ``component_flux[..., 0]``).
    component_sed : ndarray of int [N, K]
        Its template's index in :data:`galsim_deep.physics.bands.SED_TEMPLATES`, -1 for none.
    redshift : ndarray [N]
        The galaxies' ``zphot``.
    bands : sequence of str
        Band names (:data:`galsim_deep.physics.bands.BANDS`).

    Returns
    -------
    ndarray [N, len(bands)]
        float64 counts/s of each band (module convention).

    Raises
    ------
    InputError
        For an unknown band (listing the known ones) or one the templates do not cover at
        some galaxy's redshift.
    """
    from .....physics.bands import exact_band_fluxes

    return exact_band_fluxes(reference_flux, np.asarray(component_sed), redshift,
                             bands).sum(axis=-2)


def held_out_section(generated, truth, twin, bands, zero_points, n_boot=500, seed=0):
    """Colours ``band - F814W`` in bands outside the model's training against the truth's.

    Parameters
    ----------
    generated : dict of ndarray [N, 1 + B]
        Per colour mode (``'catalog'``, ``'model'``), the generated galaxies'
        fluxes in F814W and ``bands``.
    truth, twin : ndarray [N, 1 + B]
        The true galaxies' fluxes (:func:`template_fluxes`) and their twins'
        (the test galaxy of the nearest conditions: the scatter of colours at
        fixed conditions, what a perfect conditional model would show), or
        None.
    bands : sequence of str
    zero_points : sequence of float [1 + B]
        F814W's first.
    n_boot, seed : int

    Returns
    -------
    dict
        ``bands`` and per band: for each mode ``generated[mode]`` the median
        ``|generated - truth|`` colour with its error (:func:`median_abs`) and
        the mean colour difference (``bias``, with its bootstrap error), and
        ``twin`` the same of the twins.
    """
    def colour(flux):
        return flux_colours(flux, 0, zero_points)[:, 1:]

    true = colour(truth)

    def compare(values):
        return [{"median_abs": median_abs(values[:, b] - true[:, b], n_boot, seed),
                 "bias": mean_difference(values[:, b], true[:, b], n_boot, seed)}
                for b in range(len(bands))]

    modes = {mode: compare(colour(flux)) for mode, flux in generated.items()}
    twins = None if twin is None else compare(colour(twin))
    return {"bands": list(bands),
            "per_band": {band: {"generated": {m: modes[m][b] for m in modes},
                                "twin": None if twins is None else twins[b]}
                         for b, band in enumerate(bands)}}
