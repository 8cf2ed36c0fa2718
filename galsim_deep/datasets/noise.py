"""Noise of the training stamps: COSMOS correlated noise and its power spectrum.

``noise_power`` follows ``docs/architecture.rst``: the ``numpy.fft.rfft2``
layout ``[S, S//2 + 1]``, normalised as ``E|rfft2(noise)|^2 / S^2`` so that
white noise of pixel variance ``s^2`` has ``noise_power == s^2`` everywhere.

For a GalSim correlated-noise model the spectrum is computed from the model,
not from a stamp: the correlation function is drawn on the stamp's own grid
and Fourier transformed, exactly as ``galsim.BaseCorrelatedNoise.applyTo``
does when it generates noise on that grid, so the stored spectrum is the one
the stamp's noise was drawn from.
"""
import numpy as np

__all__ = ["cosmos_noise", "noise_power", "white_noise_power", "draw_noise"]


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


def noise_power(correlated_noise, stamp_size, pixel_scale):
    """Power spectrum of a GalSim correlated-noise model on a stamp grid.

    Parameters
    ----------
    correlated_noise : galsim.BaseCorrelatedNoise
        The noise model (its variance sets the normalisation).
    stamp_size : int
        Stamp size S in pixels.
    pixel_scale : float
        Pixel scale of the stamp in arcsec/pixel.

    Returns
    -------
    numpy.ndarray
        float64 ``[S, S//2 + 1]``, ``E|rfft2(noise)|^2 / S^2`` for noise drawn by
        ``correlated_noise.applyTo`` on an ``S x S`` image of this scale.
    """
    import galsim

    cf = galsim.Image(stamp_size, stamp_size, scale=pixel_scale, dtype=float)
    correlated_noise.drawImage(cf)
    # The same operation as galsim.BaseCorrelatedNoise._get_update_rootps: the power
    # spectrum used to generate the noise is |rfft2(cf)| of the CF drawn on this grid.
    return np.abs(np.fft.rfft2(cf.array))


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
        raise ValueError(f"noise seed must be a positive integer (GalSim uses 0 for 'seed from "
                         f"the clock'), got {seed}")
    image = galsim.Image(stamp_size, stamp_size, scale=pixel_scale, dtype=float)
    correlated_noise.copy(rng=galsim.BaseDeviate(int(seed))).applyTo(image)
    return image.array
