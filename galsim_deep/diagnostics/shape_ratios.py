"""Mean shapes of images over their truths', galaxy by galaxy: the release table's shape
lines.

Two views of the same question, does a sample hold the truths' shapes:

* :func:`~galsim_deep.diagnostics.sample_scores.shape_scores` measures the unconvolved
  profiles through a round 0.1" PSF, noiseless: what the network draws;
* :func:`observed_shape_scores` measures the stamps a survey view observed, samples and
  truths alike (the same PSFs, the same noise level, no PSF correction): the comparison
  Lanusse et al. (2020) make at COSMOS depth, and the one a user with real data can make.

Both give the ratio of the mean over the truths' mean, minus 1, with a bootstrap error
over galaxies (:func:`~galsim_deep.tools.validation.statistics.paired_mean_ratio`).
"""
import numpy as np

from galsim_deep.tools.validation.statistics import paired_mean_ratio

__all__ = ["observed_shapes", "observed_shape_scores", "observed_shape_row",
           "OBSERVED_SHAPES_VIEW"]


def observed_shapes(stamps):
    """HSM ``|g|`` and adaptive-moments size (pixels) of observed stamps, as observed (the
    PSF left in); NaN where the moments fail, as on a noisy faint galaxy.

    Parameters
    ----------
    stamps : ndarray [N, S, S]

    Returns
    -------
    g, sigma : ndarray [N]
    """
    from galsim_deep.tools.validation.measures.isotropy.compute import measure_shape

    g, sigma = np.full(len(stamps), np.nan), np.full(len(stamps), np.nan)
    for i, stamp in enumerate(stamps):
        shape = measure_shape(stamp)
        g[i], sigma[i] = np.hypot(shape["g1"], shape["g2"]), shape["sigma"]
    return g, sigma


def observed_shape_scores(stamps, truth_stamps, groups, labels, n_boot=200):
    """Mean observed ``|g|`` and size of a sample's stamps over its truths' in the same view.

    Parameters
    ----------
    stamps, truth_stamps : ndarray [N, S, S]
        The same galaxies' sample and truth, each observed in one survey view (its PSFs
        and noise, :func:`~galsim_deep.tools.validation.measures.survey_views.views.observe_in_view`).
    groups : ndarray [N] of int
        Each galaxy's ``mag_auto`` bin; ``labels`` names them.
    labels : sequence of str
    n_boot : int

    Returns
    -------
    dict
        ``g`` and ``size``: ``ratio``, ``error``, ``n`` and ``bins`` (per bin label);
        ``measured``: the share of galaxies whose moments succeeded, sample and truth.
    """
    rng = np.random.default_rng(0)
    g, size = observed_shapes(stamps)
    g_t, size_t = observed_shapes(truth_stamps)
    out = {}
    for name, a, b in (("g", g, g_t), ("size", size, size_t)):
        out[name] = paired_mean_ratio(a, b, rng, n_boot)
        out[name]["bins"] = {label: paired_mean_ratio(a[groups == k], b[groups == k], rng, n_boot)
                             for k, label in enumerate(labels)}
    out["measured"] = {"sample": float(np.mean(np.isfinite(g))),
                       "truth": float(np.mean(np.isfinite(g_t)))}
    return out


#: The survey view of the like-for-like shapes: HST at COSMOS depth, the training stamps'.
OBSERVED_SHAPES_VIEW = "hst-cosmos"


def observed_shape_row(profiles, galaxies, cache_dir, stream_seed, seed, observed=None):
    """A release-table row's like-for-like shapes (:func:`observed_shape_scores` in
    :data:`OBSERVED_SHAPES_VIEW`), or None where the references hold no truths observed
    in that view.

    Parameters
    ----------
    profiles : sequence of galsim.GSObject or None
        The row's profiles as the views observe them; None for the Sérsic rows, observed
        here as the references observe them.
    galaxies : EvaluationGalaxies
    cache_dir : Path
        The references' folder.
    stream_seed, seed : int
        The row's noise seed and the table's.
    observed : ndarray [N, S, S], optional
        The row's stamps in that view, when the classifier test just observed them.
    """
    from galsim_deep.diagnostics.sample_scores import _observed

    kept = cache_dir / f"{OBSERVED_SHAPES_VIEW}-truth.npz"
    if not kept.is_file():
        return None
    with np.load(kept) as ref:
        truth = ref["stamps"]
    if observed is None and profiles is None:
        from galsim_deep.tools.validation.references import reference_profiles

        observed = _observed(galaxies, OBSERVED_SHAPES_VIEW,
                             reference_profiles(galaxies, "parametric"), "parametric", seed)[0]
    elif observed is None:
        observed = _observed(galaxies, OBSERVED_SHAPES_VIEW, profiles, "generated",
                             stream_seed)[0]
    groups, labels = galaxies.magnitude_bins()
    return {"view": OBSERVED_SHAPES_VIEW,
            **observed_shape_scores(observed, truth, groups, labels)}
