"""Summary numbers comparing the statistics of two or more samples of galaxies.

All functions take plain numpy arrays, ignore NaN (failed measurements, see
:mod:`galsim_deep.tools.validation.measures.morphology.compute`) and return JSON-friendly dicts of
Python floats.  :func:`summarize` assembles them into the summary table of
the validation report:

* differences of means, with bootstrap errors that resample *galaxies*, so
  that the pairing of a galaxy's real, parametric and generated versions is
  kept (:func:`mean_difference`);
* the median and robust scatter of the size and flux residuals of each
  sample against the real one, overall and in bins of each conditioning
  column (:func:`residuals`, :func:`binned_statistics`);
* for each statistic, the 1-D Wasserstein distance and the two-sample
  Kolmogorov-Smirnov statistic between a sample and the real one
  (:func:`distances`);
* the fraction of failed measurements (:func:`failure_fractions`);
* the ratio of two samples' means over the same galaxies, with a bootstrap error
  (:func:`paired_mean_ratio`: the release table's shape lines).
"""
import math

import numpy as np
from ...core.errors import InputError, MissingFieldError

__all__ = [
    "robust_scatter", "mean_difference", "distances", "binned_statistics",
    "size_residual", "magnitude_residual", "residuals", "failure_fractions", "summarize",
    "paired_mean_ratio",
]


def _float(x):
    """A JSON-friendly float: None for NaN or infinity."""
    x = float(x)
    return x if math.isfinite(x) else None


def _as_1d(x, name):
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise InputError(f"{name} must be a 1-D array of per-galaxy values, got shape {arr.shape}")
    return arr


def robust_scatter(x):
    """Half the 16th-84th percentile range of the finite values of ``x``.

    Equal to the standard deviation for a Gaussian distribution, and robust
    to outliers.  NaN when fewer than 2 finite values.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan")
    p16, p84 = np.percentile(x, [15.865525393145708, 84.13447460685429])
    return 0.5 * float(p84 - p16)


def mean_difference(x, y, n_boot=1000, seed=0):
    """Difference of the means of ``x`` and ``y``, with a bootstrap error.

    The samples are paired (``x[i]`` and ``y[i]`` describe the same galaxy):
    each bootstrap resample draws galaxy indices with replacement and takes
    the NaN-ignoring mean of both arrays over them.  For unpaired samples
    of equal length the error is the same as for independent resampling.

    Parameters
    ----------
    x, y : array_like, shape [N]
        Per-galaxy values (NaN for failures).
    n_boot : int
        Number of bootstrap resamples.
    seed : int
        Seed of the bootstrap's ``numpy.random.default_rng``.

    Returns
    -------
    dict
        ``mean_x``, ``mean_y``, ``error_x``, ``error_y`` (bootstrap standard
        errors of each mean), ``difference = mean_x - mean_y``, ``error``
        (its bootstrap standard error), ``relative_difference =
        difference / mean_y`` and ``relative_error``, ``n_x`` and ``n_y`` (the
        numbers of finite values).
    """
    x = _as_1d(x, "x")
    y = _as_1d(y, "y")
    if x.shape != y.shape:
        raise InputError(f"x and y must describe the same galaxies (same length), got "
                         f"{x.size} and {y.size}")
    fx, fy = np.isfinite(x), np.isfinite(y)
    out = {"n_x": int(fx.sum()), "n_y": int(fy.sum())}
    if out["n_x"] == 0 or out["n_y"] == 0:
        out.update({k: None for k in ("mean_x", "mean_y", "error_x", "error_y", "difference",
                                      "error", "relative_difference", "relative_error")})
        return out
    mx, my = float(np.mean(x[fx])), float(np.mean(y[fy]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(int(n_boot), x.size))
    xs, ys = np.where(fx, x, 0.0)[idx], np.where(fy, y, 0.0)[idx]
    cx, cy = fx[idx].sum(axis=1), fy[idx].sum(axis=1)
    ok = (cx > 0) & (cy > 0)
    bx = xs.sum(axis=1)[ok] / cx[ok]
    by = ys.sum(axis=1)[ok] / cy[ok]
    ex = float(np.std(bx, ddof=1)) if bx.size > 1 else float("nan")
    ey = float(np.std(by, ddof=1)) if by.size > 1 else float("nan")
    ed = float(np.std(bx - by, ddof=1)) if bx.size > 1 else float("nan")
    diff = mx - my
    rel = diff / my if my != 0 else float("nan")
    rel_err = ed / abs(my) if my != 0 else float("nan")
    out.update({"mean_x": _float(mx), "mean_y": _float(my), "error_x": _float(ex),
                "error_y": _float(ey), "difference": _float(diff), "error": _float(ed),
                "relative_difference": _float(rel), "relative_error": _float(rel_err)})
    return out


def distances(x, y):
    """Two-sample distances between the distributions of ``x`` and ``y``.

    Parameters
    ----------
    x, y : array_like
        Values (NaN ignored); need not have the same length.

    Returns
    -------
    dict
        ``wasserstein`` (:func:`scipy.stats.wasserstein_distance`, in the
        units of the statistic), ``ks_statistic`` and ``ks_pvalue``
        (:func:`scipy.stats.ks_2samp`), ``n_x``, ``n_y``.  None when either
        sample has no finite value.
    """
    from scipy import stats

    x = _as_1d(x, "x")
    y = _as_1d(y, "y")
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    out = {"n_x": int(x.size), "n_y": int(y.size)}
    if x.size == 0 or y.size == 0:
        out.update(wasserstein=None, ks_statistic=None, ks_pvalue=None)
        return out
    ks = stats.ks_2samp(x, y)
    out.update(wasserstein=_float(stats.wasserstein_distance(x, y)),
               ks_statistic=_float(ks.statistic), ks_pvalue=_float(ks.pvalue))
    return out


def binned_statistics(condition, residual, n_bins=6):
    """Median and robust scatter of ``residual`` in quantile bins of ``condition``.

    Parameters
    ----------
    condition : array_like, shape [N]
        The conditioning column (e.g. ``mag_auto`` in AB mag).
    residual : array_like, shape [N]
        Per-galaxy residuals; pairs where either is NaN are dropped.
    n_bins : int
        Number of bins, with (nearly) equal numbers of galaxies; fewer when
        there are fewer than ``2 * n_bins`` galaxies.

    Returns
    -------
    dict
        ``edges`` (``n + 1`` bin edges in the units of ``condition``), and per
        bin ``center`` (median condition), ``count``, ``median`` and
        ``scatter`` (:func:`robust_scatter`) of the residual.
    """
    c = _as_1d(condition, "condition")
    r = _as_1d(residual, "residual")
    if c.shape != r.shape:
        raise InputError(f"condition and residual must have the same length, got "
                         f"{c.size} and {r.size}")
    ok = np.isfinite(c) & np.isfinite(r)
    c, r = c[ok], r[ok]
    n_bins = int(max(1, min(int(n_bins), c.size // 2)))
    empty = {"edges": [], "center": [], "count": [], "median": [], "scatter": []}
    if c.size == 0:
        return empty
    edges = np.unique(np.quantile(c, np.linspace(0.0, 1.0, n_bins + 1)))
    if edges.size < 2:
        edges = np.array([c.min(), c.max()])
    which = np.clip(np.searchsorted(edges, c, side="right") - 1, 0, edges.size - 2)
    out = dict(empty, edges=[_float(e) for e in edges])
    for b in range(edges.size - 1):
        sel = which == b
        out["center"].append(_float(np.median(c[sel])) if sel.any() else None)
        out["count"].append(int(sel.sum()))
        out["median"].append(_float(np.median(r[sel])) if sel.any() else None)
        out["scatter"].append(_float(robust_scatter(r[sel])))
    return out


def size_residual(sigma, sigma_ref):
    """Relative size residual ``(sigma - sigma_ref) / sigma_ref`` per galaxy (dimensionless)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    sigma_ref = np.asarray(sigma_ref, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = (sigma - sigma_ref) / sigma_ref
    return np.where(np.isfinite(res) & (sigma_ref > 0), res, np.nan)


def magnitude_residual(flux, flux_ref):
    """Magnitude residual ``-2.5 log10(flux / flux_ref)`` per galaxy (mag).

    NaN where either flux is not positive.
    """
    flux = np.asarray(flux, dtype=np.float64)
    flux_ref = np.asarray(flux_ref, dtype=np.float64)
    ok = (flux > 0) & (flux_ref > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = -2.5 * np.log10(np.where(ok, flux, 1.0) / np.where(ok, flux_ref, 1.0))
    return np.where(ok, res, np.nan)


def residuals(measured, reference, conditions, n_bins=6):
    """Size and flux residuals of one sample against the reference, with binned summaries.

    Parameters
    ----------
    measured, reference : dict of ndarray
        Per-galaxy statistics (``sigma_arcsec`` and ``flux`` are used) of the
        sample and of the reference (real) sample, galaxy by galaxy.
    conditions : dict of ndarray
        Conditioning columns, name -> per-galaxy values.
    n_bins : int
        Number of quantile bins per conditioning column.

    Returns
    -------
    dict
        For ``size`` (relative residual of ``sigma_arcsec``) and ``magnitude``
        (mag residual of ``flux``): ``median``, ``scatter`` and ``failed``
        over all galaxies and ``bins`` -> condition name ->
        :func:`binned_statistics`.
    """
    out = {}
    pairs = {"size": size_residual(measured["sigma_arcsec"], reference["sigma_arcsec"]),
             "magnitude": magnitude_residual(measured["flux"], reference["flux"])}
    for key, res in pairs.items():
        finite = res[np.isfinite(res)]
        out[key] = {
            "median": _float(np.median(finite)) if finite.size else None,
            "scatter": _float(robust_scatter(res)),
            "failed": _float(1.0 - finite.size / res.size) if res.size else None,
            "bins": {name: binned_statistics(col, res, n_bins=n_bins)
                     for name, col in conditions.items()},
        }
    return out


def failure_fractions(measured, names, flags=None):
    """Fraction of galaxies whose statistic is NaN, per statistic.

    Parameters
    ----------
    measured : dict of ndarray
        Per-galaxy statistics.
    names : sequence of str
        Statistics to count.
    flags : ndarray of int, optional
        The measurement flags; adds ``any_flag``, the fraction with any flag set.

    Returns
    -------
    dict
        name -> fraction in [0, 1], plus ``any`` (fraction with at least one
        of ``names`` NaN).
    """
    if not names:
        return {}
    arrs = [np.asarray(measured[n], dtype=np.float64) for n in names]
    n = arrs[0].size
    out = {name: _float(np.mean(~np.isfinite(a))) if n else None for name, a in zip(names, arrs)}
    any_bad = np.zeros(n, dtype=bool)
    for a in arrs:
        any_bad |= ~np.isfinite(a)
    out["any"] = _float(any_bad.mean()) if n else None
    if flags is not None:
        out["any_flag"] = _float(np.mean(np.asarray(flags) != 0)) if n else None
    return out


def paired_mean_ratio(a, b, rng, n_boot=200):
    """``mean(a) / mean(b) - 1`` over the galaxies where both are finite, with its bootstrap
    error.

    Parameters
    ----------
    a, b : ndarray [N]
        A measure of each galaxy in the sample and in its truth (paired by catalog row).
    rng : numpy.random.Generator
        Draws the bootstrap resamplings.
    n_boot : int

    Returns
    -------
    dict
        ``ratio``, ``error`` (None where no galaxy has both) and ``n``.
    """
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = np.asarray(a)[ok], np.asarray(b)[ok]
    if not len(a):
        return {"ratio": None, "error": None, "n": 0}
    boots = [np.mean(a[i]) / np.mean(b[i]) - 1
             for i in rng.integers(0, len(a), (n_boot, len(a)))]
    return {"ratio": float(np.mean(a) / np.mean(b) - 1), "error": float(np.std(boots)),
            "n": int(len(a))}


def summarize(measurements, conditions, statistics, reference="real", n_bins=6,
              n_boot=1000, seed=0):
    """The summary table of the validation report.

    Parameters
    ----------
    measurements : dict
        sample name -> dict of per-galaxy arrays (as returned by
        :func:`galsim_deep.tools.validation.measures.morphology.compute.measure_stamps`); every
        sample describes the same galaxies in the same order.
    conditions : dict of ndarray
        Conditioning columns of the galaxies, name -> values.
    statistics : sequence of str
        Names of the statistics to summarise.
    reference : str
        The sample the others are compared with.
    n_bins : int
        Quantile bins per conditioning column for the residuals.
    n_boot : int
        Bootstrap resamples for the errors of means.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``n_galaxies``, ``reference``, ``samples``, ``statistics``, and
        ``means`` (stat -> sample -> mean, error), ``mean_differences``,
        ``distances`` and ``residuals`` (sample -> ...) for every sample but
        the reference, and ``failure_fractions`` (sample -> stat -> fraction).
    """
    if reference not in measurements:
        raise MissingFieldError(f"reference sample {reference!r} is not among the measured samples "
                       f"{sorted(measurements)}; pass one of them as reference")
    ref = measurements[reference]
    n = len(ref[statistics[0]])
    for name, meas in measurements.items():
        for stat in statistics:
            if stat not in meas:
                raise MissingFieldError(
                    f"sample {name!r} has no statistic {stat!r}; measure it with "
                    f"galsim_deep.tools.validation.measures.morphology.compute.measure_stamps")
            if len(meas[stat]) != n:
                raise InputError(f"sample {name!r} has {len(meas[stat])} values of {stat!r}, "
                                 f"the reference has {n}: samples must describe the same galaxies")
    others = [s for s in measurements if s != reference]
    summary = {"n_galaxies": int(n), "reference": reference,
               "samples": list(measurements), "statistics": list(statistics),
               "means": {}, "mean_differences": {s: {} for s in others},
               "distances": {s: {} for s in others}, "residuals": {},
               "failure_fractions": {}}
    for stat in statistics:
        summary["means"][stat] = {}
        for s in measurements:
            md = mean_difference(measurements[s][stat], ref[stat], n_boot=n_boot, seed=seed)
            summary["means"][stat][s] = {"mean": md["mean_x"], "error": md["error_x"],
                                         "n": md["n_x"]}
            if s != reference:
                summary["mean_differences"][s][stat] = md
                summary["distances"][s][stat] = distances(measurements[s][stat], ref[stat])
    for s in others:
        summary["residuals"][s] = residuals(measurements[s], ref, conditions, n_bins=n_bins)
    for s, meas in measurements.items():
        summary["failure_fractions"][s] = failure_fractions(meas, list(statistics),
                                                            meas.get("flags"))
    return summary
