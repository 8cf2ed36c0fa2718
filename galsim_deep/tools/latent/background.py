"""A density of stamps measured against a background: anomaly scores for an image flow.

An image flow's ``log p(stamp | conditions)`` is mostly the density of the stamp's sky:
a 64x64 stamp holds a few hundred pixels of galaxy and thousands of noise, and the
flow has learned the noise (``docs/image_flow.rst``).  As an anomaly score, ``-log p``
then says how bright and how correlated a stamp's noise is, not whether a galaxy sits
in it (Nalisnick et al. 2019, arXiv:1810.09136).  The remedies of the literature
measure the stamp against a *background* model, so that what the sky contributes to
both cancels.  Three backgrounds, each a score "higher = more anomalous":

``sky_ratio``
    a likelihood ratio (Ren et al. 2019, arXiv:1906.02845) against the exact sky-only
    model: the stationary Gaussian noise of the stamp's own ``noise_power``
    (:func:`sky_log_prob`); the score is ``-(log p(x | c) - log p_sky(x))``.
``complexity``
    the input-complexity correction (Serrà et al. 2020, arXiv:1909.11480): a generic
    lossless compressor as the background, ``-log p(x | c) - L(x) ln 2`` with ``L`` the
    length in bits of the stamp quantised in steps of its noise
    (:func:`complexity_bits`).
``catalog_ratio``
    the stamp against the same flow under other catalog rows: ``-(log p(x | c) - log
    mean_j p(x | c_j))``, the mean over the stamp's own row and ``K`` reference rows
    (:func:`catalog_ratio`), the pointwise mutual information of stamp and row; the
    sky's share of ``log p``, which no row changes, cancels.

:func:`background_scores` computes all three for a module whose density is of the
stamps (:attr:`LatentSpace.density_of_stamps
<galsim_deep.engine.latent.LatentSpace.density_of_stamps>`).
"""
import zlib

import numpy as np
from scipy.special import logsumexp

from ...core.errors import InputError

__all__ = ["BACKGROUND_SCORES", "sky_log_prob", "complexity_bits", "catalog_ratio",
           "background_scores"]

#: The background-corrected scores of :func:`background_scores`, in report order.
BACKGROUND_SCORES = ("sky_ratio", "complexity", "catalog_ratio")


def _stamps(stamps):
    stamps = np.asarray(stamps, dtype=np.float64)
    if stamps.ndim != 3 or stamps.shape[1] != stamps.shape[2]:
        raise InputError(f"stamps must be [N, S, S], got shape {stamps.shape}")
    if not np.all(np.isfinite(stamps)):
        raise InputError("stamps contain NaN or infinite pixels; drop those stamps first")
    return stamps


def sky_log_prob(stamps, noise_power):
    """``log p`` of stamps under stationary Gaussian noise of a given power spectrum (nats).

    The noise field of power ``P`` (the ``rfft2`` layout of ``docs/architecture.rst``,
    ``E|rfft2(noise)|^2 / S^2``) has a circulant covariance whose eigenvalues are ``P``
    on the full Fourier grid, so ``log p(x) = -1/2 sum_k [|X_k|^2 / (S^2 P_k) + log(2 pi
    P_k)]`` with ``X = fft2(x)``; the ``rfft2`` half-plane is summed with weight 2 on the
    columns that stand for two Fourier modes.

    Parameters
    ----------
    stamps : array_like [N, S, S]
        Pixel values, flux per pixel.
    noise_power : array_like [N, S, S//2 + 1] or [S, S//2 + 1]
        Each stamp's noise power spectrum, (flux per pixel)^2; every entry > 0.

    Returns
    -------
    ndarray [N]
        float64 log-density, nats.
    """
    stamps = _stamps(stamps)
    s = stamps.shape[-1]
    power = np.broadcast_to(np.asarray(noise_power, dtype=np.float64),
                            (len(stamps), s, s // 2 + 1))
    if not np.all(power > 0) or not np.all(np.isfinite(power)):
        raise InputError("noise_power must be finite and > 0 everywhere (a Gaussian sky "
                         "needs a positive variance in every Fourier mode)")
    weight = np.full(s // 2 + 1, 2.0)
    weight[0] = 1.0
    if s % 2 == 0:
        weight[-1] = 1.0
    modes = np.abs(np.fft.rfft2(stamps)) ** 2 / (s * s * power)
    return -0.5 * np.sum(weight * (modes + np.log(2.0 * np.pi * power)), axis=(-2, -1))


def complexity_bits(stamps, noise_variance, step=0.25, level=9):
    """Lossless-compressed length of stamps quantised in steps of their noise (bits).

    Serrà et al. (2020) measure an image's complexity ``L(x)`` by the length of a
    generic compressor's output.  A stamp here is float flux; it is quantised to
    integers ``round(x / (step * sigma))``, ``sigma`` the stamp's noise standard
    deviation, and compressed with zlib (DEFLATE, the compressor of PNG).

    Parameters
    ----------
    stamps : array_like [N, S, S]
        Pixel values, flux per pixel.
    noise_variance : array_like [N]
        Each stamp's pixel noise variance, (flux per pixel)^2, > 0.
    step : float
        Quantisation step in units of the noise standard deviation.
    level : int
        zlib compression level (0-9).

    Returns
    -------
    ndarray [N]
        float64 compressed lengths, bits.
    """
    stamps = _stamps(stamps)
    sigma = np.sqrt(np.asarray(noise_variance, dtype=np.float64))
    if sigma.shape != (len(stamps),) or not np.all(sigma > 0):
        raise InputError(f"noise_variance must be [N] = [{len(stamps)}] positive values, got "
                         f"shape {sigma.shape}")
    if not step > 0:
        raise InputError(f"step must be > 0 (noise standard deviations), got {step}")
    levels = np.rint(stamps / (step * sigma[:, None, None]))
    if np.any(np.abs(levels) >= 2 ** 31):
        raise InputError("a stamp spans more than 2^31 quantisation steps; raise step")
    levels = levels.astype(np.int32)
    return np.array([8.0 * len(zlib.compress(x.tobytes(), level)) for x in levels])


def catalog_ratio(log_prob, reference_log_probs):
    """``log p(x | c) - log mean_j p(x | c_j)``: how much a stamp's own catalog row explains it.

    The mean runs over the stamp's own row and the ``K`` reference rows, so the ratio is
    at most ``log(K + 1)`` and 0 when every row explains the stamp alike.

    Parameters
    ----------
    log_prob : array_like [N]
        ``log p(x | c)`` of each stamp under its own row (nats).
    reference_log_probs : array_like [K, N]
        ``log p(x | c_j)`` of each stamp under reference row ``j``.

    Returns
    -------
    ndarray [N]
        float64, nats.
    """
    own = np.asarray(log_prob, dtype=np.float64)
    refs = np.asarray(reference_log_probs, dtype=np.float64)
    if own.ndim != 1 or refs.ndim != 2 or refs.shape[1] != len(own) or len(refs) == 0:
        raise InputError(f"log_prob must be [N] and reference_log_probs [K >= 1, N]; got "
                         f"{own.shape} and {refs.shape}")
    if np.isnan(own).any() or np.isnan(refs).any():
        raise InputError("log-densities contain NaN; drop those stamps first")
    every = np.vstack([own[None], refs])
    return own - (logsumexp(every, axis=0) - np.log(len(every)))


def background_scores(model, stamps, conditions, log_prob, noise_power, noise_variance,
                      references, chunk_size=256):
    """The :data:`BACKGROUND_SCORES` of stamps under a module whose density is of stamps.

    Parameters
    ----------
    model : GenerativeGalaxyModel
        An image flow (its ``log_prob`` takes stamps).
    stamps : array_like [N, S, S]
        The stamps, flux per pixel.
    conditions : array_like [N, C]
        Their catalog rows, in the order of ``model.quantities``.
    log_prob : array_like [N]
        ``log p(stamp | conditions)`` under the module (nats), as already computed.
    noise_power : array_like [N, S, S//2 + 1]
        Their noise power spectra, (flux per pixel)^2.
    noise_variance : array_like [N]
        Their pixel noise variances, (flux per pixel)^2.
    references : array_like [K, C]
        The reference catalog rows of :func:`catalog_ratio` (e.g. training rows).
    chunk_size : int
        Stamps per call of the module.

    Returns
    -------
    dict
        score name -> ndarray [N], higher = more anomalous.
    """
    stamps = _stamps(stamps)
    references = np.asarray(references, dtype=np.float32)
    log_prob = np.asarray(log_prob, dtype=np.float64)
    quantities = list(model.quantities)
    if references.ndim != 2 or references.shape[1] != len(quantities):
        raise InputError(f"references must be [K, {len(quantities)}] rows of "
                         f"{quantities}, got shape {references.shape}")
    reference_lp = np.empty((len(references), len(stamps)))
    for j, row in enumerate(references):
        for start in range(0, len(stamps), chunk_size):
            chunk = stamps[start:start + chunk_size].astype(np.float32)
            cond = {q: np.full(len(chunk), row[i], np.float32)
                    for i, q in enumerate(quantities)}
            reference_lp[j, start:start + len(chunk)] = model.log_prob(
                chunk, cond, range_policy="clip")
    return {"sky_ratio": -(log_prob - sky_log_prob(stamps, noise_power)),
            "complexity": -log_prob - np.log(2.0) * complexity_bits(stamps, noise_variance),
            "catalog_ratio": -catalog_ratio(log_prob, reference_lp)}
