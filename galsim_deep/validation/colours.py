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
  size and ellipticity.
"""
import numpy as np

from ..errors import InputError
from .summary import distances, mean_difference

__all__ = ["colours", "half_light_radii", "ellipticities", "median_abs", "colour_section"]


def colours(images, reference_index, zero_points):
    """``band - reference`` AB colour of each galaxy in each band, from the image sums.

    Parameters
    ----------
    images : ndarray [N, B, S, S]
        Counts/s per pixel of each band.
    reference_index : int
        The reference band's position.
    zero_points : sequence of float [B]
        AB zero points (:func:`galsim_deep.bands.zero_point`).

    Returns
    -------
    ndarray [N, B]
        NaN where a flux is not positive.
    """
    flux = np.asarray(images, np.float64).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        mags = np.asarray(zero_points, np.float64) - 2.5 * np.log10(flux)
    mags[~(flux > 0)] = np.nan
    return mags - mags[:, [reference_index]]


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


def colour_section(generated, truth, catalog_colour, twin_colour, bands, zero_points,
                   pixel_scale, n_boot=500, seed=0, rotated=None):
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

    Returns
    -------
    dict
        ``bands``; per band after the reference (``per_band[band]``):
        ``colour`` (median ``|generated - catalog|`` colour with its error, the
        same for the truth and the twin), ``hlr_ratio`` (the generated,
        true and Sérsic r_half(band) / r_half(reference): means with errors,
        and the Wasserstein distances of the generated and the Sérsic ratios
        to the true ones), and per band (``shapes[band]``) the mean
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
                "truth": median_abs(true_colour[:, b] - catalog_colour[:, b], n_boot, seed),
                "twin": (None if twin_colour is None else
                         median_abs(twin_colour[:, b] - catalog_colour[:, b], n_boot, seed))},
            "hlr_ratio": {
                "mean": mean_difference(gen_ratio, true_ratio, n_boot, seed),
                "wasserstein_generated": distances(gen_ratio, true_ratio)["wasserstein"],
                "wasserstein_sersic": distances(sersic_ratio, true_ratio)["wasserstein"]}}
        out["per_band"][band] = entry
    if rotated is not None:
        g = ellipticities(rotated, components=True)                          # [N, B, 2]
        zero = np.zeros(len(g))
        out["isotropy"] = {band: {name: mean_difference(g[:, b, k], zero, n_boot, seed)
                                  for k, name in enumerate(("g1", "g2"))}
                           for b, band in enumerate(bands)}
    return out
