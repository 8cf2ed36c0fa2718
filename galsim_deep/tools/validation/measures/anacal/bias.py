"""The AnaCal measure's estimator: shear bias and paired differences from per-unit sums.

:func:`~.compute.anacal_sums` sums, per unit (a galaxy, or a blended field) and per
magnitude bin, the terms of each detection (:data:`QUANTITIES`, from
:func:`~.compute.detection_terms`) over both rotations and every noise realisation, for
``+g`` then ``-g``.  From the totals ``E`` (sum of ``w e1``) and ``R`` (sum of the
responses ``w de1/dg1 + e1 dw/dg1``) of each sign,

    ``m = (E(+) - E(-)) / (R(+) + R(-)) / g - 1``,  ``c1 = (E(+) + E(-)) / (R(+) + R(-))``,

``c2`` likewise from the second component (no shear along it), ``r_sel`` the selection's
part ``sum(e1 dw/dg1)`` of ``R``, ``response`` the mean response per detection and
``g_plus``, ``g_minus`` each sign's shear estimate.  Errors are bootstrap resamples of the
units, drawn from the seed alone, so every sample gets the same resamples and a paired
difference keeps what the common galaxies and noise cancel (no error from a single unit).
"""
import numpy as np

from .....core.errors import InputError

__all__ = ["SHEAR", "QUANTITIES", "anacal_bias", "paired_difference"]

#: The applied reduced shear, ``g1``, both signs.
SHEAR = 0.02

#: Quantities summed over the detections of one shear sign, in the sums' last axis
#: (:func:`~.compute.detection_terms`); the sums hold them for ``+g`` then ``-g``.
QUANTITIES = ("e1", "r1", "r1_sel", "e2", "r2", "w", "n")

_NQ = len(QUANTITIES)


def _estimates(t, shear):
    """The estimates from totals ``t`` [..., 14] (NaN where a denominator is 0)."""
    ep, rp, sp, e2p, r2p, _, npl = (t[..., i] for i in range(_NQ))
    em, rm, sm, e2m, r2m, _, nmi = (t[..., _NQ + i] for i in range(_NQ))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = rp + rm
        return {"m": (ep - em) / r / shear - 1.0, "c1": (ep + em) / r,
                "c2": (e2p + e2m) / (r2p + r2m), "r_sel": (sp + sm) / r,
                "response": r / (npl + nmi), "g_plus": ep / rp, "g_minus": em / rm}


def _check_sums(sums):
    s = np.asarray(sums, np.float64)
    if s.ndim != 3 or s.shape[2] != 2 * _NQ or s.shape[0] < 1:
        raise InputError(f"sums must be [units, bins, {2 * _NQ}] (anacal_sums), got {s.shape}")
    return s


def _boot_counts(n_units, n_boot, seed):
    rng = np.random.default_rng([int(seed), 0xB007])
    idx = rng.integers(0, n_units, (int(n_boot), n_units))
    return np.stack([np.bincount(row, minlength=n_units) for row in idx]).astype(np.float64)


def _number(v):
    return float(v) if np.isfinite(v) else None


def _groups(n_bins):
    """(name, bin indices) of the reported groups: all detections, each bin, unmatched."""
    return ([("all", list(range(n_bins + 1)))] + [(b, [b]) for b in range(n_bins)]
            + [("unmatched", [n_bins])])


def _summarise(point, boots, prefix="", resampled=True):
    out = {}
    for key, value in point.items():
        good = boots[key][np.isfinite(boots[key])]
        out[prefix + key] = _number(value)
        out[f"{prefix}{key}_error"] = (float(np.std(good, ddof=1)) if resampled and len(good) > 1
                                       and np.isfinite(value) else None)
    return out


def _per_group(sum_list, shear, n_boot, seed, combine):
    """Estimates of each group (:func:`_groups`) of one or two samples' sums."""
    sums = [_check_sums(s) for s in sum_list]
    if any(s.shape != sums[0].shape for s in sums):
        raise InputError(f"the samples' sums differ in shape: {[s.shape for s in sums]}")
    n_units, n_groups = sums[0].shape[0], sums[0].shape[1]
    counts = _boot_counts(n_units, n_boot, seed)
    out = {"bins": []}
    for name, bins in _groups(n_groups - 1):
        totals = [s[:, bins].sum(axis=(0, 1)) for s in sums]
        boots = [counts @ s[:, bins].sum(axis=1) for s in sums]
        est = combine(*[_estimates(t, shear) for t in totals])
        est_b = combine(*[_estimates(b, shear) for b in boots])
        # one unit has no scatter to resample: no error
        result = _summarise(est, est_b, "d" if len(sums) == 2 else "", n_units > 1)
        detected = [float(t[_NQ - 1] + t[2 * _NQ - 1]) for t in totals]
        result["detected"] = detected if len(sums) == 2 else detected[0]
        if name == "all" or name == "unmatched":
            out[name] = result
        else:
            out["bins"].append(result)
    return out


def anacal_bias(sums, shear=SHEAR, n_boot=500, seed=0):
    """``m``, ``c1``, ``c2``, ``r_sel`` (the selection's fraction of the response), the mean
    ``response`` per detection and ``g_plus``, ``g_minus`` (the shear estimates of the
    ``+g`` and ``-g`` fields), each with its bootstrap ``_error`` over units.

    Parameters
    ----------
    sums : ndarray [U, B + 2, 14]
        One sample's :func:`anacal_sums`.
    shear : float
    n_boot : int
    seed : int

    Returns
    -------
    dict
        ``all`` (every detection), ``bins`` (one dict a magnitude bin) and ``unmatched``;
        each also has ``detected``, its detections summed over every image.
    """
    return _per_group([sums], shear, n_boot, seed, lambda a: a)


def paired_difference(sums_a, sums_b, shear=SHEAR, n_boot=500, seed=0):
    """Estimates of sample ``a`` minus sample ``b`` over the same units and noise.

    The same bootstrap resamples of the units for both samples, so the error keeps what
    the common noise and galaxies cancel; ``a`` against itself gives exactly 0.

    Returns
    -------
    dict
        As :func:`anacal_bias`, the keys prefixed with ``d`` (``dm``, ``dm_error``, ...);
        ``detected`` holds ``[n_a, n_b]``.
    """
    return _per_group([sums_a, sums_b], shear, n_boot, seed,
                      lambda a, b: {k: a[k] - b[k] for k in a})
