"""Noise of the training stamps: COSMOS correlated noise and its power spectrum.

``noise_power`` follows ``docs/architecture.rst``: the ``numpy.fft.rfft2``
layout ``[S, S//2 + 1]``, normalised as ``E|rfft2(noise)|^2 / S^2`` so that
white noise of pixel variance ``s^2`` has ``noise_power == s^2`` everywhere.

For a GalSim correlated-noise model the spectrum is computed from the model,
not from a stamp: the correlation function is drawn on the stamp's own grid
and Fourier transformed, exactly as ``galsim.BaseCorrelatedNoise.applyTo``
does when it generates noise on that grid, so the stored spectrum is the one
the stamp's noise was drawn from.

Binned stamps (:mod:`galsim_deep.data.binning`): noise drawn at the native
scale on an ``N = f S`` grid, with power ``P_N`` (in the same normalisation on
that grid), then summed over ``f x f`` blocks, has on the ``S`` grid exactly::

    noise_power_S(q) = (1 / f^2) sum_{a in {0..f-1}^2} |H(q + S a)|^2 P_N(q + S a)

where ``H(k) = sum_{b in {0..f-1}^2} exp(2 pi i k.b / N)`` is the transfer
function of the block sum (``|H(0)|^2 = f^4``): the block sum is a
convolution (multiplies the spectrum by ``H``), keeping one pixel in ``f`` per
axis folds the ``f^2`` aliases ``q + S a`` onto ``q`` (:func:`binned_power`).
White noise of variance ``s^2`` becomes white noise of variance ``f^2 s^2``.
"""
import numpy as np
from ..core.errors import InputError

__all__ = ["cosmos_noise", "noise_power", "white_noise_power", "draw_noise", "binned_power",
           "pixel_variance"]


def cosmos_noise(file_name=None):
    """Unit-variance COSMOS HST/ACS F814W correlated-noise model.

    Parameters
    ----------
    file_name : str or Path, optional
        Correlation-function FITS file (default: ``acs_I_unrot_sci_20_cf.fits``
        from the GalSim installation, as ``galsim.getCOSMOSNoise`` uses).

    Returns
    -------
    galsim.BaseCorrelatedNoise
        Correlation function at 0.03 arcsec/pixel, scaled to pixel variance 1.
    """
    import galsim

    kwargs = {} if file_name is None else {"file_name": str(file_name)}
    return galsim.getCOSMOSNoise(variance=1.0, **kwargs)


def noise_power(correlated_noise, stamp_size, pixel_scale, binning=1):
    """Power spectrum of a GalSim correlated-noise model on a stamp grid.

    Parameters
    ----------
    correlated_noise : galsim.BaseCorrelatedNoise
        The noise model (its variance sets the normalisation).
    stamp_size : int
        Stamp size S in pixels.
    pixel_scale : float
        Pixel scale of the stamp in arcsec/pixel.
    binning : int, optional
        ``f``: the noise is drawn at ``pixel_scale / f`` on an ``f S x f S``
        grid and binned ``f x f`` (sum), and the result is the exact spectrum
        of the binned noise (:func:`binned_power`).  Default 1.

    Returns
    -------
    numpy.ndarray
        float64 ``[S, S//2 + 1]``, ``E|rfft2(noise)|^2 / S^2`` for noise drawn by
        ``correlated_noise.applyTo`` on an ``S x S`` image of this scale (binned
        from the ``f S`` grid when ``binning > 1``).
    """
    import galsim

    f = int(binning)
    if f == 1:
        cf = galsim.Image(stamp_size, stamp_size, scale=pixel_scale, dtype=float)
        correlated_noise.drawImage(cf)
        # The same operation as galsim.BaseCorrelatedNoise._get_update_rootps: the power
        # spectrum used to generate the noise is |rfft2(cf)| of the CF drawn on this grid.
        return np.abs(np.fft.rfft2(cf.array))
    n = f * stamp_size
    cf = galsim.Image(n, n, scale=pixel_scale / f, dtype=float)
    correlated_noise.drawImage(cf)
    return binned_power(np.abs(np.fft.fft2(cf.array)), f)


def binned_power(power, f):
    """Exact ``noise_power`` of noise binned ``f x f`` (sum), from its fine-grid spectrum.

    Parameters
    ----------
    power : numpy.ndarray
        ``[N, N]`` full (``numpy.fft.fft2`` layout) power spectrum of the fine
        noise, ``E|fft2(noise)|^2 / N^2``, ``N = f S``.
    f : int
        Binning factor.

    Returns
    -------
    numpy.ndarray
        float64 ``[S, S//2 + 1]`` (rfft2 layout): ``(1 / f^2) sum_a |H(q + S a)|^2
        P_N(q + S a)`` (see the module docstring).
    """
    power = np.asarray(power, dtype=np.float64)
    n = power.shape[0]
    f = int(f)
    if power.shape != (n, n) or n % f:
        raise InputError(f"binned_power needs a square [N, N] spectrum with N a multiple of "
                         f"f={f}, got shape {power.shape}")
    s = n // f
    k = np.arange(n)
    # |H_1d(k)|^2 with H_1d(k) = sum_{b=0}^{f-1} exp(2 pi i k b / N); |H|^2 = |H_y|^2 |H_x|^2.
    h = np.abs(np.exp(2j * np.pi * np.outer(k, np.arange(f)) / n).sum(axis=1)) ** 2
    folded = (np.outer(h, h) * power).reshape(f, s, f, s).sum(axis=(0, 2)) / f ** 2
    return folded[:, : s // 2 + 1]


def pixel_variance(power):
    """Pixel variance of noise with this ``noise_power`` (Parseval).

    Parameters
    ----------
    power : numpy.ndarray
        ``[S, S//2 + 1]`` (rfft2 layout, the :doc:`architecture` normalisation).

    Returns
    -------
    float
        The mean of the full ``[S, S]`` spectrum: columns ``1 .. (S-1)//2`` of
        the rfft half stand for two columns of the full spectrum each.
    """
    power = np.asarray(power, dtype=np.float64)
    s = power.shape[0]
    weights = np.full(power.shape[1], 2.0)
    weights[0] = 1.0
    if s % 2 == 0:
        weights[-1] = 1.0
    return float((power * weights).sum() / s ** 2)


def white_noise_power(variance, stamp_size):
    """``noise_power`` of white noise of pixel variance ``variance`` (flat, float64)."""
    return np.full((stamp_size, stamp_size // 2 + 1), float(variance))


def draw_noise(correlated_noise, stamp_size, pixel_scale, seed):
    """One realisation of correlated noise on an ``S x S`` stamp.

    Parameters
    ----------
    correlated_noise : galsim.BaseCorrelatedNoise
        The noise model.
    stamp_size : int
        Stamp size S in pixels.
    pixel_scale : float
        arcsec/pixel.
    seed : int
        Seed of the GalSim deviate (> 0; the same seed gives the same field).

    Returns
    -------
    numpy.ndarray
        float64 ``[S, S]``.
    """
    import galsim

    if int(seed) <= 0:
        raise InputError(f"noise seed must be a positive integer (GalSim uses 0 for 'seed from "
                         f"the clock'), got {seed}")
    image = galsim.Image(stamp_size, stamp_size, scale=pixel_scale, dtype=float)
    correlated_noise.copy(rng=galsim.BaseDeviate(int(seed))).applyTo(image)
    return image.array
