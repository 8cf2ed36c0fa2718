"""The error measures of a reconstruction, per galaxy, and their summaries.

The per-galaxy measures of :mod:`galsim_deep.tools.validation.measures.reconstruction.compute`:

* :func:`observed_chi2` (the primary measure): PSF-convolved estimates against
  the noiseless observed truth, as a chi-squared per pixel in units of the
  stamp's noise variance;
* :func:`reconstruction_residuals` (the secondary one): unconvolved estimates
  against the unconvolved truth, ``sum((estimate - truth)^2) / sum(truth^2)``;
* :func:`reconstruction_error`: observed stamps against their PSF-convolved
  reconstructions (no truth needed), as the clustering report and the MPCC
  training checks use it;

and their summaries over galaxies: :func:`chi2_summary` (median and mean with
their errors), :func:`residual_summary` and :func:`by_class` (per mock
morphology class), each with the fraction of galaxies where the module's
reconstruction does better.
"""
import numpy as np

from .....core.errors import InputError


__all__ = ["reconstruction_residuals", "observed_chi2", "chi2_summary", "reconstruction_error",
           "residual_summary", "by_class"]


def reconstruction_residuals(truth, estimate):
    """Relative residual of each estimate: ``sum((estimate - truth)^2) / sum(truth^2)``.

    Parameters
    ----------
    truth, estimate : ndarray [N, S, S]
        Unconvolved stamps (flux per pixel).

    Returns
    -------
    ndarray [N]
    """
    truth = np.asarray(truth, dtype=np.float64)
    diff = np.asarray(estimate, dtype=np.float64) - truth
    axes = tuple(range(1, truth.ndim))
    return (diff ** 2).sum(axis=axes) / (truth ** 2).sum(axis=axes)


def observed_chi2(truth_observed, estimates_observed, noise_variance):
    """Chi-squared per pixel of PSF-convolved estimates against the noiseless observed truth.

    Parameters
    ----------
    truth_observed : ndarray [N, S, S]
        The noiseless, PSF-convolved truth (flux per pixel).
    estimates_observed : ndarray [N, S, S]
        Estimates convolved with the same PSFs.
    noise_variance : ndarray [N]
        Pixel noise variance of each stamp.

    Returns
    -------
    ndarray [N]
        ``mean((estimate - truth)^2) / noise_variance``: in units of the noise,
        0 for a perfect estimate (the noisy stamp itself scores about 1).
    """
    t = np.asarray(truth_observed, np.float64)
    e = np.asarray(estimates_observed, np.float64)
    var = np.asarray(noise_variance, np.float64)
    if t.shape != e.shape or t.ndim != 3 or var.shape != (len(t),):
        raise InputError(f"truth {t.shape}, estimates {e.shape} and noise_variance {var.shape} "
                         f"must be [N, S, S], [N, S, S] and [N]")
    return ((e - t) ** 2).mean(axis=(1, 2)) / var


def chi2_summary(values, reference=None, key="fraction_model_better", seed=0):
    """Median (bootstrap error) and mean (standard error) of per-galaxy chi-squared values.

    Parameters
    ----------
    values : ndarray [N]
    reference : ndarray [N], optional
        The module's values: ``key`` is the fraction of galaxies where it is lower.
    key : str
    seed : int

    Returns
    -------
    dict
        ``median``, ``median_error``, ``mean``, ``mean_error``, ``n`` and ``key``.
    """
    x = np.asarray(values, np.float64)
    ok = np.isfinite(x)
    out = {"n": int(ok.sum()), key: None}
    if ok.sum() < 2:
        out.update(median=None, median_error=None, mean=None, mean_error=None)
        return out
    y = x[ok]
    rng = np.random.default_rng([int(seed), 0xC2])
    meds = np.median(y[rng.integers(0, y.size, (300, y.size))], axis=1)
    out.update(median=float(np.median(y)), median_error=float(np.std(meds, ddof=1)),
               mean=float(y.mean()), mean_error=float(y.std(ddof=1) / np.sqrt(y.size)))
    if reference is not None:
        r = np.asarray(reference, np.float64)
        both = ok & np.isfinite(r)
        out[key] = float(np.mean(r[both] < x[both])) if both.any() else None
    return out


def reconstruction_error(stamps, reconstructions, psfs, noise_variance, mode="zero",
                         truth=None):
    """Observed stamps against their PSF-convolved reconstructions (and the truth, if known).

    Parameters
    ----------
    stamps : array_like [N, S, S]
        Observed stamps, flux per pixel.
    reconstructions : array_like [N, S, S]
        Unconvolved reconstructions (``decode(encode(x))``), flux per pixel.
    psfs : array_like [N, S, S]
        The stamps' PSFs.
    noise_variance : array_like [N]
        Pixel noise variance of each stamp, (flux per pixel)**2.
    mode : {'zero', 'circular'}
        PSF convolution mode.
    truth : array_like [N, S, S], optional
        The noiseless, unconvolved profiles (mock sources), flux per pixel.

    Returns
    -------
    dict of numpy.ndarray [N]
        ``reduced_chi2``: mean over pixels of ``(x - PSF * r)**2 / variance``
        (1 when the residual is pure noise; exact in expectation for
        correlated noise too, since it uses the pixel variance);
        ``relative_residual``: ``sum (x - PSF * r)**2 / sum x**2``; with
        ``truth``, ``truth_residual``: ``sum (r - truth)**2 / sum truth**2``,
        the unconvolved reconstruction against the truth.
    """
    import tensorflow as tf

    from .....physics.forward_model import convolve_psf

    x = np.asarray(stamps, dtype=np.float32)
    recon = np.asarray(reconstructions, np.float32)
    psfs = np.asarray(psfs, np.float32)
    model = np.concatenate([  # in chunks: the zero-padded FFTs of many stamps are large
        convolve_psf(tf.constant(recon[i:i + 256]), tf.constant(psfs[i:i + 256]),
                     mode=mode).numpy() for i in range(0, len(x), 256)]) if len(x) else x
    var = np.asarray(noise_variance, dtype=np.float64)
    if np.any(~np.isfinite(var)) or np.any(var <= 0):
        raise InputError("noise_variance must be finite and > 0 for every stamp")
    resid = (x.astype(np.float64) - model) ** 2
    chi2 = resid.mean(axis=(1, 2)) / var
    power = (x.astype(np.float64) ** 2).sum(axis=(1, 2))
    rel = resid.sum(axis=(1, 2)) / np.where(power > 0, power, np.nan)
    out = {"reduced_chi2": chi2, "relative_residual": rel}
    if truth is not None:
        out["truth_residual"] = reconstruction_residuals(truth, recon)
    return out


def residual_summary(residuals, reference=None, key="fraction_model_better"):
    """Median and mean of relative residuals, and how often a reference estimate beats them.

    Parameters
    ----------
    residuals : ndarray [N]
        Relative residuals of one estimate (:func:`reconstruction_residuals`).
    reference : ndarray [N], optional
        The residuals of the estimate being scored against it (the module's
        reconstruction); ``None`` for that estimate itself.
    key : str
        Name of the fraction in the result.

    Returns
    -------
    dict
        ``median_relative_residual``, ``mean_relative_residual`` and ``key``:
        the fraction of galaxies whose ``reference`` residual is smaller
        (``None`` without a reference).
    """
    return {"median_relative_residual": float(np.median(residuals)),
            "mean_relative_residual": float(np.mean(residuals)),
            key: float(np.mean(reference < residuals)) if reference is not None else None}


def by_class(res, labels, class_names, reference="model", key="fraction_model_better"):
    """:func:`residual_summary` of every estimate, per mock morphology class.

    Parameters
    ----------
    res : dict of str -> ndarray [N]
        Relative residuals of each estimate.
    labels : ndarray [N]
        Class index of each galaxy.
    class_names : list of str
        Name of each class index.
    reference, key : str
        The estimate the others are scored against, and the name of that
        fraction.

    Returns
    -------
    dict
        Class name -> ``n`` (galaxies) and, per estimate, its summary
        (classes without galaxies are left out).
    """
    out = {}
    for k, name in enumerate(class_names):
        sel = labels == k
        if not sel.any():
            continue
        out[name] = {"n": int(sel.sum())}
        for est, r in res.items():
            out[name][est] = residual_summary(
                r[sel], None if est == reference else res[reference][sel], key)
    return out
