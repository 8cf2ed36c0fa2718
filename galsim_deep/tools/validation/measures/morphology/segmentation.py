"""Threshold segmentation of a stamp: the noise level after smoothing and the central galaxy.

The segmentation step of the morphology measure,
:mod:`galsim_deep.tools.validation.measures.morphology.compute` (and of the twin check,
:mod:`galsim_deep.tools.validation.measures.twin_check.compute`): the stamp is smoothed
with a Gaussian of ``smoothing_sigma`` pixels (:func:`gaussian_kernel`), and pixels
above ``threshold_nsigma`` times the standard deviation of the *smoothed
noise* (:func:`smoothed_noise_sigma`, exact for a known noise power spectrum)
are grouped into 8-connected segments of at least ``min_pixels`` pixels
(:func:`photutils.segmentation.detect_sources`).  :func:`segment_galaxy`
returns them with the label of the segment at the stamp's true centre, the
galaxy.
"""
import math
import warnings

import numpy as np

from .....core.errors import InputError

__all__ = ["gaussian_kernel", "smoothed_noise_sigma", "segment_galaxy"]


def gaussian_kernel(sigma):
    """Return a normalised, odd-sized 2-D Gaussian kernel of ``sigma`` pixels."""
    half = max(1, int(math.ceil(3.0 * sigma)))
    x = np.arange(-half, half + 1, dtype=float)
    k1 = np.exp(-0.5 * (x / sigma) ** 2)
    kernel = np.outer(k1, k1)
    return kernel / kernel.sum()


def smoothed_noise_sigma(noise_power, kernel, stamp_size):
    """Standard deviation of stationary noise after convolution with ``kernel``.

    Parameters
    ----------
    noise_power : float or array_like
        Either the pixel variance of white noise (flux per pixel squared), or
        the noise power spectrum in ``numpy.fft.rfft2`` layout
        ``[stamp_size, stamp_size // 2 + 1]``, normalised so that white noise of
        variance ``s**2`` has ``noise_power == s**2`` everywhere.
    kernel : ndarray
        The 2-D smoothing kernel (any size up to ``stamp_size``).
    stamp_size : int
        Size of the stamp in pixels.

    Returns
    -------
    float
        ``sqrt(Var(kernel * noise))``, exact for circular convolution:
        ``Var = mean_k P(k) |K(k)|^2`` summed over the full Fourier grid.
    """
    n = int(stamp_size)
    padded = np.zeros((n, n))
    ky, kx = kernel.shape
    if ky > n or kx > n:
        raise InputError(f"smoothing kernel ({ky}x{kx}) is larger than the stamp ({n}x{n}); "
                         f"use a smaller smoothing_sigma")
    padded[:ky, :kx] = kernel
    k2 = np.abs(np.fft.rfft2(padded)) ** 2
    power = np.asarray(noise_power, dtype=float)
    if power.ndim == 0:
        return float(math.sqrt(max(float(power), 0.0) * float(np.sum(kernel ** 2))))
    if power.shape != (n, n // 2 + 1):
        raise InputError(f"noise_power has shape {power.shape}, expected the rfft2 layout "
                         f"({n}, {n // 2 + 1}) of a {n}x{n} stamp")
    # irfft2(X)[0, 0] = (1 / n^2) * sum of X over the full (Hermitian) grid.
    var = float(np.fft.irfft2(power * k2, s=(n, n))[0, 0])
    return math.sqrt(max(var, 0.0))


def segment_galaxy(image, noise_sigma_smoothed, smoothing_sigma=1.0, threshold_nsigma=2.0,
                   min_pixels=5, max_center_distance=0.25):
    """Threshold segmentation of a stamp and the label of its central galaxy.

    Parameters
    ----------
    image : ndarray
        Square stamp, flux per pixel.
    noise_sigma_smoothed : float
        Standard deviation of the noise after smoothing (flux per pixel), see
        :func:`smoothed_noise_sigma`.
    smoothing_sigma : float
        Sigma of the Gaussian smoothing kernel, pixels.
    threshold_nsigma : float
        Detection threshold in units of ``noise_sigma_smoothed``.
    min_pixels : int
        Minimum number of connected pixels of a segment.
    max_center_distance : float
        If no segment covers the stamp's true centre, the nearest segment is
        taken when it lies within this fraction of the stamp size.

    Returns
    -------
    segmap : photutils.segmentation.SegmentationImage or None
        All segments found, or None when there is none.
    label : int
        Label of the central galaxy's segment, 0 when there is none.
    """
    from photutils.segmentation import detect_sources
    from scipy import ndimage

    smoothed = ndimage.convolve(image, gaussian_kernel(smoothing_sigma), mode="constant")
    threshold = threshold_nsigma * noise_sigma_smoothed
    if not threshold > 0:
        # Noiseless image: everything above a tiny fraction of the peak.
        threshold = 1e-3 * float(np.max(smoothed)) if np.max(smoothed) > 0 else 0.0
        if threshold <= 0:
            return None, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        segmap = detect_sources(smoothed, threshold, min_pixels)
    if segmap is None:
        return None, 0
    data = segmap.data
    n = image.shape[0]
    c = (n - 1) / 2.0  # true centre
    lo, hi = int(math.floor(c)), int(math.ceil(c))
    central = data[lo:hi + 1, lo:hi + 1]
    labels = central[central > 0]
    if labels.size:
        # Several segments touching the centre (odd case): the brightest one.
        cand = np.unique(labels)
        fluxes = [smoothed[data == lab].sum() for lab in cand]
        return segmap, int(cand[int(np.argmax(fluxes))])
    yy, xx = np.nonzero(data)
    dist = np.hypot(yy - c, xx - c)
    k = int(np.argmin(dist))
    if dist[k] > max_center_distance * n:
        return segmap, 0
    return segmap, int(data[yy[k], xx[k]])
