"""Scores of a decoder's heads on a checkpoint's codes, for the checkpoint scores.

:mod:`~galsim_deep.diagnostics.checkpoint_scores` adds these where a model has the
head: :func:`smooth_head_scores` for a decoder with a smooth bulge + disk (does each
galaxy get its own?), :func:`colour_scores` for a chromatic model's SED head (do its
reconstructions' colours follow the catalog's?), with :func:`held_out_r2`.
"""
import numpy as np
import tensorflow as tf

from galsim_deep.core.batches import batched_call

__all__ = ["colour_scores", "held_out_r2", "smooth_head_scores"]

def colour_scores(model, codes, conditions, condition_names, bands, mag_bins, batch_size=100):
    """A chromatic checkpoint's reconstructions' colours against the catalog's.

    The codes are decoded with the network's own SED weights (at each galaxy's ``zphot``
    where the SED head reads it) and drawn in every band (the ``colours`` measure's
    "autoencoder" entries, for a checkpoint rather than a module).

    Parameters
    ----------
    model : FlowVAE
        A chromatic model.
    codes : ndarray [N, L]
        The encoder's means of the galaxies.
    conditions : ndarray [N, C]
        Their dataset conditions, named by ``condition_names``.
    bands : sequence of str
        The dataset's bands, the reference (F814W) first.
    mag_bins : sequence of float
        Edges of the ``mag_auto`` bins of ``median_abs_bins`` (AB mag, from -inf to inf).
    batch_size : int

    Returns
    -------
    dict
        Per band after the first: ``median_abs`` (median ``|band - F814W - catalog|``,
        AB mag, with its bootstrap error), ``slope`` (of the colours on the catalog's,
        :func:`~galsim_deep.tools.validation.measures.colours.compute.colour_slope`), and how much of
        the catalog colour's variance a linear function of ``[code, zphot]`` explains, ``code_r2``
        (beside ``zphot`` alone, ``redshift_r2``; :func:`held_out_r2`): whether the codes
        carry the colour at all; ``median_abs_bins``, the median in each ``mag_auto`` bin of
        ``mag_bins`` (where the colour error lives).
    """
    from galsim_deep.engine.colour import band_arrays
    from galsim_deep.physics.bands import zero_point
    from galsim_deep.tools.validation.measures.colours.compute import (catalog_colours,
                                                                       colour_slope, flux_colours,
                                                                       median_abs)

    redshift = conditions[:, condition_names.index("zphot")].astype(np.float32)
    catalog = catalog_colours(conditions, condition_names, bands)[:, 1:].astype(np.float32)
    # (a head that does not read the redshift or the colours ignores them)
    parts = batched_call(model.decode_components,
                         {"z": codes, "redshift": redshift, "colours": catalog}, batch_size)
    flux = band_arrays(parts["components"], parts["sed_weights"], redshift,
                       bands).sum(axis=(-2, -1))
    colour = flux_colours(flux, 0, [zero_point(b) for b in bands])
    which = np.digitize(conditions[:, condition_names.index("mag_auto")], mag_bins[1:-1])
    out = {}
    for b, band in enumerate(bands[1:], start=1):
        target = catalog[:, b - 1]
        out[band] = {"median_abs": median_abs(colour[:, b] - target),
                     "median_abs_bins": [median_abs((colour[:, b] - target)[which == k])
                                         for k in range(len(mag_bins) - 1)],
                     "slope": colour_slope(colour[:, b], target),
                     "code_r2": held_out_r2(np.column_stack([codes, redshift]), target),
                     "redshift_r2": held_out_r2(redshift[:, None], target)}
    return out


def held_out_r2(features, target, seed=0):
    """The fraction of ``target``'s variance a least-squares linear function of ``features``
    explains on held-out rows: fitted on a random half (``seed``), scored on the other.

    Parameters
    ----------
    features : ndarray [N, F]
    target : ndarray [N]

    Returns
    -------
    float
        ``1 - var(residual) / var(target)`` on the held-out half (0: no better than the
        mean; can be negative).
    """
    features, target = np.asarray(features, np.float64), np.asarray(target, np.float64)
    order = np.random.default_rng(seed).permutation(len(target))
    fit, held = order[:len(target) // 2], order[len(target) // 2:]
    design = np.column_stack([features, np.ones(len(target))])
    coef, *_ = np.linalg.lstsq(design[fit], target[fit], rcond=None)
    residual = target[held] - design[held] @ coef
    return float(1.0 - np.var(residual) / np.var(target[held]))


def smooth_head_scores(model, codes, truth):
    """How much the bulge + disk a decoder reads from each code varies from galaxy to galaxy.

    Parameters
    ----------
    model : FlowVAE
        A live model whose decoder has a smooth bulge + disk.
    codes : ndarray [N, L]
        The galaxies' codes (encoder means).
    truth : ndarray [N, S, S]
        Their unconvolved truths (flux per pixel).

    Returns
    -------
    dict
        ``percentiles`` (5, 50, 95) of the bulge + disk's ``flux`` (flux per pixel summed,
        the truth's units), of the truth's flux (``truth_flux``), of ``bulge_fraction``,
        ``disk_half_light_radius`` (pixels) and the disk's ``|g|``; ``flux_range_ratio``:
        the 5-95% range of ``log flux`` over the truth's (1: as spread as the truth, 0:
        one flux for all); ``log_flux_correlation`` with the truth's; ``mean_disk_shear``:
        the modulus of the mean disk ``(g1, g2)`` (0 for an isotropic population: a
        preferred direction shows here).
    """
    p = {k: v.numpy().astype(np.float64)
         for k, v in model.decoder.smooth.parameters(tf.constant(codes, tf.float32)).items()}
    flux = p["flux"] * float(model.flux_scale.numpy())
    truth_flux = np.asarray(truth, np.float64).sum(axis=(1, 2))
    ok = (flux > 0) & (truth_flux > 0)
    log_f, log_t = np.log(flux[ok]), np.log(truth_flux[ok])

    def spread(v):
        lo, hi = np.percentile(v, [5, 95])
        return hi - lo

    def pct(v):
        return [float(x) for x in np.percentile(v, [5, 50, 95])]
    disk_g = np.hypot(p["disk_g1"], p["disk_g2"])
    return {"percentiles": {"flux": pct(flux), "truth_flux": pct(truth_flux),
                            "bulge_fraction": pct(p["bulge_fraction"]),
                            "disk_half_light_radius": pct(p["disk_half_light_radius"]),
                            "disk_g": pct(disk_g)},
            "flux_range_ratio": float(spread(log_f) / spread(log_t)),
            "log_flux_correlation": float(np.corrcoef(log_f, log_t)[0, 1]),
            "mean_disk_shear": float(np.hypot(p["disk_g1"].mean(), p["disk_g2"].mean()))}
