"""Shear bias of two samples of the same galaxies, and the galaxies that sway one sample's.

:func:`~.compute.shear_bias_difference` compares independent samples (generated galaxies
against the truths): each is bootstrapped on its own and the errors add in quadrature, so
the difference is as uncertain as the noisier sample.  A distilled student and its teacher
draw the *same* galaxies (the same codes, angles and PSF), and what makes one galaxy's
response extreme (a size at the PSF's, a stamp edge) is there in both: resampling the
galaxies together (:func:`paired_shear_difference`) cancels it, and the difference is as
precise as the two samples are alike.

:func:`galaxy_responses` splits a sample's ``m`` into its galaxies' shares
(``m = mean_i m_i`` exactly, with the sample's responsivity), and
:func:`response_outliers` names the galaxies farthest from the median share and what
``m`` and its error become without them: whether a few galaxies decide a sample's
error.
"""
import numpy as np

from .....core.errors import InputError
from .compute import _CONFIGS, SHEAR, _bias, _galaxy_shears, valid_distortions

__all__ = ["paired_shear_difference", "galaxy_responses", "response_outliers"]

_KEYS = ("m1", "m2", "m", "c1", "c2")


def _check(e, name="e"):
    e = np.asarray(e, np.float64)
    if e.ndim != 4 or e.shape[2:] != (len(_CONFIGS), 2) or e.shape[1] < 1:
        raise InputError(f"{name} must be [N, rotations, {len(_CONFIGS)}, 2] "
                         f"(shear_measurements), got {e.shape}")
    return valid_distortions(e)


def _finite(e):
    """Galaxies measured in every configuration drawn."""
    return np.isfinite(e[:, 0, 0]).all(axis=-1) & np.isfinite(e[:, :, 1:]).all(axis=(1, 2, 3))


def paired_shear_difference(e_a, e_b, shear=SHEAR, n_boot=500, seed=0):
    """Shear bias of sample ``a`` minus sample ``b``, galaxy ``i`` of both being one galaxy.

    Parameters
    ----------
    e_a, e_b : ndarray [N, R, 5, 2]
        :func:`~.compute.shear_measurements` of the two samples through the same PSF,
        row ``i`` of each the same galaxy (e.g. a student's and its teacher's drawing of
        one code).
    shear : float
        The applied shear.
    n_boot : int
        Bootstrap resamples; each draws one set of galaxies for both samples.
    seed : int

    Returns
    -------
    dict
        ``dm1, dm2, dm, dc1, dc2``, each ``(value, error)`` (``(None, None)`` with fewer
        than 3 galaxies measured in both); ``n`` (galaxies measured in both).
    """
    e_a, e_b = _check(e_a, "e_a"), _check(e_b, "e_b")
    if e_a.shape != e_b.shape:
        raise InputError(f"paired samples hold the same galaxies: e_a {e_a.shape} and e_b "
                         f"{e_b.shape} differ; use shear_bias_difference for independent "
                         f"samples")
    both = _finite(e_a) & _finite(e_b)
    e_a, e_b = e_a[both], e_b[both]
    if len(e_a) < 3:
        return {**{f"d{k}": (None, None) for k in _KEYS}, "n": int(len(e_a))}

    def difference(idx):
        a, b = _bias(e_a[idx], shear), _bias(e_b[idx], shear)
        return {k: a[k] - b[k] for k in _KEYS}

    value = difference(slice(None))
    rng = np.random.default_rng([int(seed), 0x9A])
    boots = [difference(rng.integers(0, len(e_a), len(e_a))) for _ in range(int(n_boot))]
    out = {f"d{k}": (float(value[k]), float(np.std([b[k] for b in boots], ddof=1)))
           for k in _KEYS}
    out["n"] = int(len(e_a))
    return out


def galaxy_responses(e, shear=SHEAR):
    """Each galaxy's share of the sample's multiplicative bias.

    ``m_i = (g_i(+g) - g_i(-g)) / (2 g) - 1``, averaged over the two components, with the
    sample's responsivity: the mean over the galaxies measured is the sample's ``m``
    (:func:`~.compute.shear_bias`).

    Parameters
    ----------
    e : ndarray [N, R, 5, 2]
    shear : float

    Returns
    -------
    ndarray [N]
        NaN for a galaxy not measured in every configuration.
    """
    e = _check(e)
    ok = _finite(e)
    out = np.full(len(e), np.nan)
    if ok.any():
        plus, minus, _ = _galaxy_shears(e[ok], shear)
        out[ok] = np.mean((plus - minus) / (2 * shear) - 1.0, axis=0)
    return out


def response_outliers(e, k=5, shear=SHEAR, n_boot=500, seed=0):
    """The ``k`` galaxies whose share of ``m`` lies farthest from the median share, and the
    sample's ``m`` with and without them.

    Parameters
    ----------
    e : ndarray [N, R, 5, 2]
    k : int
    shear, n_boot, seed
        See :func:`~.compute.shear_bias`.

    Returns
    -------
    dict
        ``index`` (rows of ``e``, farthest first) and ``m_i`` of the ``k`` galaxies;
        ``median`` and ``mad`` (median absolute deviation) of the shares; ``all`` and
        ``without``: ``m`` and its bootstrap error with every galaxy and without the
        ``k``.
    """
    from .compute import shear_bias

    e = _check(e)
    shares = galaxy_responses(e, shear)
    ok = np.flatnonzero(np.isfinite(shares))
    median = float(np.median(shares[ok])) if len(ok) else float("nan")
    order = ok[np.argsort(-np.abs(shares[ok] - median), kind="stable")]
    worst = order[:int(k)]
    keep = np.setdiff1d(np.arange(len(e)), worst)
    full, rest = shear_bias(e, shear, n_boot, seed), shear_bias(e[keep], shear, n_boot, seed)
    return {"index": worst.tolist(), "m_i": shares[worst].tolist(), "median": median,
            "mad": float(np.median(np.abs(shares[ok] - median))) if len(ok) else float("nan"),
            "all": [full["m"], full["m_error"]], "without": [rest["m"], rest["m_error"]]}
