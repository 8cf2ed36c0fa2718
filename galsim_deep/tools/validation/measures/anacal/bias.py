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

Where ``m``'s error comes from: to first order ``m`` moves by ``sum(r_u) / R`` when the
units' residuals ``r_u = (E_u(+) - E_u(-)) / g - (1 + m) (R_u(+) + R_u(-))`` scatter, so its
variance is that of the ``r_u``.  The sums also hold the terms of the detections **on the
selection weight's step** (``w <`` :data:`STEP_WEIGHT`, where the weight responds to the
shear): ``on_step`` is their share of the detections and ``step_variance_share``
(``Cov(r_step, r) / Var(r)``) their share of ``m``'s variance, the rest's share being one
minus it.  ``precision`` is ``m_error`` times the root of the detections, comparable
between runs of different sizes.
"""
import numpy as np

from .....core.errors import InputError

__all__ = ["SHEAR", "QUANTITIES", "STEP_WEIGHT", "anacal_bias", "paired_difference"]

#: The applied reduced shear, ``g1``, both signs.
SHEAR = 0.02

#: Quantities summed over the detections of one shear sign, in the sums' last axis
#: (:func:`~.compute.detection_terms`); the sums hold them for ``+g`` then ``-g``.  The last
#: three are ``e1``, ``r1`` and ``n`` of the detections on the selection step alone.
QUANTITIES = ("e1", "r1", "r1_sel", "e2", "r2", "w", "n", "e1_step", "r1_step", "n_step")

#: A detection whose selection weight is below this is on the weight's step (a fully
#: selected detection has ``w`` = 1, and its weight does not respond to the shear).
STEP_WEIGHT = 0.99

_NQ = len(QUANTITIES)
_Q = {name: i for i, name in enumerate(QUANTITIES)}


def _sign(t, name, sign):
    """Total ``name`` of the ``+g`` (sign 0) or ``-g`` (sign 1) detections."""
    return t[..., sign * _NQ + _Q[name]]


def _estimates(t, shear):
    """The estimates from totals ``t`` [..., 2 * len(QUANTITIES)] (NaN where a
    denominator is 0)."""
    ep, rp, sp, e2p, r2p, npl = (_sign(t, k, 0) for k in ("e1", "r1", "r1_sel", "e2", "r2", "n"))
    em, rm, sm, e2m, r2m, nmi = (_sign(t, k, 1) for k in ("e1", "r1", "r1_sel", "e2", "r2", "n"))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = rp + rm
        return {"m": (ep - em) / r / shear - 1.0, "c1": (ep + em) / r,
                "c2": (e2p + e2m) / (r2p + r2m), "r_sel": (sp + sm) / r,
                "response": r / (npl + nmi), "g_plus": ep / rp, "g_minus": em / rm}


def _scatter_sources(units, m, shear):
    """``on_step`` and ``step_variance_share`` (module docstring) of per-unit sums [U, 2 NQ]."""
    def residual(e, r):
        return ((_sign(units, e, 0) - _sign(units, e, 1)) / shear
                - (1.0 + m) * (_sign(units, r, 0) + _sign(units, r, 1)))

    n = _sign(units, "n", 0) + _sign(units, "n", 1)
    n_step = _sign(units, "n_step", 0) + _sign(units, "n_step", 1)
    r, r_step = residual("e1", "r1"), residual("e1_step", "r1_step")
    var = np.sum((r - r.mean()) ** 2)
    return {"on_step": _number(n_step.sum() / n.sum()) if n.sum() else None,
            "step_variance_share": _number(np.sum((r_step - r_step.mean()) * (r - r.mean()))
                                           / var) if np.isfinite(m) and var > 0 else None}


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
        detected = [float(_sign(t, "n", 0) + _sign(t, "n", 1)) for t in totals]
        result["detected"] = detected if len(sums) == 2 else detected[0]
        if len(sums) == 1:
            error = result["m_error"]
            result["precision"] = (error * np.sqrt(detected[0]) if error is not None
                                   and detected[0] else None)
            result.update(_scatter_sources(sums[0][:, bins].sum(axis=1), est["m"], shear))
        if name == "all" or name == "unmatched":
            out[name] = result
        else:
            out["bins"].append(result)
    return out


def anacal_bias(sums, shear=SHEAR, n_boot=500, seed=0):
    """``m``, ``c1``, ``c2``, ``r_sel`` (the selection's fraction of the response), the mean
    ``response`` per detection and ``g_plus``, ``g_minus`` (the shear estimates of the
    ``+g`` and ``-g`` fields), each with its bootstrap ``_error`` over units; and where
    ``m``'s error comes from: ``precision``, ``on_step`` and ``step_variance_share``
    (module docstring).

    Parameters
    ----------
    sums : ndarray [U, B + 2, 2 * len(QUANTITIES)]
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
