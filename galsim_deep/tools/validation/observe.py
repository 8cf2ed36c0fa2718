"""Observe a galaxy as a stamp: its profile, the effective PSF, the drawing and the noise.

The drawing primitives every sample of a validation report shares
(:mod:`~galsim_deep.tools.validation.samples`), and the survey views
(:mod:`~galsim_deep.tools.validation.measures.survey_views.views`): an effective PSF image as a profile,
a dataset's parametric row or truth image as a profile, a noise field of a
given power spectrum, and :func:`observe`, which convolves, draws with
``method='no_pixel'`` and adds the noise.
"""
import math

import numpy as np

from ...core.errors import InputError

__all__ = ["psf_profile", "parametric_profile", "truth_profile", "noise_field", "observe"]


def psf_profile(psf, pixel_scale):
    """A ``galsim.InterpolatedImage`` of an effective PSF image, centred on the origin.

    Parameters
    ----------
    psf : ndarray [S, S]
        Effective PSF at the stamp's pixel scale, unit sum, centred on pixel
        ``(S//2, S//2)``.
    pixel_scale : float
        Arcsec per pixel.

    Returns
    -------
    galsim.InterpolatedImage
        To be convolved and drawn with ``method='no_pixel'``.
    """
    import galsim

    psf = np.asarray(psf, dtype=np.float64)
    total = psf.sum()
    if not np.all(np.isfinite(psf)) or not total > 0:
        raise InputError("PSF image has non-finite values or a non-positive sum; the dataset "
                         "is corrupt: rebuild it with galsim_deep.data.build")
    image = galsim.Image(np.ascontiguousarray(psf / total), scale=pixel_scale)
    # GalSim's Image.center for an even size is pixel S//2 (0-based), where
    # the PSF convention puts the PSF centre.
    return galsim.InterpolatedImage(image, use_true_center=False, normalization="flux")


def parametric_profile(row, stamp_size, pixel_scale, sersic_prec=0.05):
    """The Sérsic profile of a ``parametric`` row, truncated far outside the stamp.

    The profile is that of
    :func:`galsim_deep.data.format.sersic_from_parametric` (a circular
    Sérsic of the row's half-light radius, sheared to axis ratio ``q`` at
    angle ``beta``) inside an ellipse whose minor semi-axis is the stamp's
    width, and zero beyond (``galsim.Sersic(trunc=..., flux_untruncated=True)``,
    so the profile inside is unchanged).  Light from beyond that ellipse
    cannot reach the stamp, and the truncation keeps GalSim's FFTs small for
    catalog fits with large ``n`` and half-light radii of several arcsec
    (without it one such galaxy needs an 8256x8256 FFT).

    Parameters
    ----------
    row : array_like of 5 floats
        ``(flux, half_light_radius [arcsec], sersic_n, q, beta [radians])``.
    stamp_size : int
        Pixels.
    pixel_scale : float
        Arcsec per pixel.
    sersic_prec : float
        Round the Sérsic index to this precision (0: exact), as
        ``galsim.COSMOSCatalog`` does to reuse GalSim's cached profiles.

    Returns
    -------
    galsim.GSObject

    Raises
    ------
    ValueError
        If the row is not 5 finite values with positive size and ``0 < q <= 1``.
    """
    import galsim

    row = np.asarray(row, dtype=np.float64).ravel()
    if row.shape != (5,) or not np.all(np.isfinite(row)):
        raise InputError(f"a parametric row is 5 finite values (flux, half_light_radius, "
                         f"sersic_n, q, beta), got {row.tolist()}; rebuild the dataset")
    flux, hlr, n, q, beta = row
    if hlr <= 0 or not 0 < q <= 1:
        raise InputError(f"parametric row {row.tolist()} has half_light_radius <= 0 or q "
                         f"outside (0, 1]; rebuild the dataset")
    n = float(np.clip(n, 0.3, 6.2))
    if sersic_prec > 0:
        n = float(np.clip(round(n / sersic_prec) * sersic_prec, 0.3, 6.2))
    trunc = stamp_size * pixel_scale / math.sqrt(q)
    gal = galsim.Sersic(n, half_light_radius=hlr, flux=flux, trunc=trunc, flux_untruncated=True)
    if q < 1:
        gal = gal.shear(q=q, beta=beta * galsim.radians)
    return gal


def truth_profile(truth, pixel_scale):
    """A ``galsim.InterpolatedImage`` of a dataset's noiseless, unconvolved ``truth`` stamp.

    The truth is the profile sampled at pixel centres around the stamp's true
    centre, the convention of generated stamps, so it is wrapped as
    :meth:`galsim_deep.GenerativeGalaxyModel.profile` wraps those.

    Parameters
    ----------
    truth : ndarray [S, S]
        Flux per pixel.
    pixel_scale : float
        Arcsec per pixel.

    Returns
    -------
    galsim.InterpolatedImage
    """
    import galsim

    image = galsim.Image(np.ascontiguousarray(truth, dtype=np.float64), scale=pixel_scale)
    return galsim.InterpolatedImage(image, use_true_center=True)


def noise_field(noise_power, seed, stamp_size=None):
    """One stationary Gaussian noise field with a given power spectrum.

    Parameters
    ----------
    noise_power : float or ndarray [S, S // 2 + 1]
        White-noise pixel variance, or the power spectrum in rfft2 layout
        normalised so that white noise of variance ``s**2`` has ``s**2``
        everywhere (flux per pixel squared).
    seed : int or sequence of int
        Seed of ``numpy.random.default_rng``.
    stamp_size : int, optional
        Needed when ``noise_power`` is a scalar.

    Returns
    -------
    ndarray [S, S]
        ``irfft2(rfft2(w) * sqrt(noise_power))`` for white unit noise ``w``, whose
        expected ``|rfft2|**2 / S**2`` is ``noise_power``.
    """
    rng = np.random.default_rng(seed)
    power = np.asarray(noise_power, dtype=np.float64)
    if power.ndim == 0:
        if stamp_size is None:
            raise InputError("stamp_size is needed with a scalar noise variance")
        return rng.standard_normal((stamp_size, stamp_size)) * np.sqrt(max(float(power), 0.0))
    s = power.shape[0]
    if power.shape != (s, s // 2 + 1):
        raise InputError(f"noise_power has shape {power.shape}, expected an rfft2 layout "
                         f"[S, S // 2 + 1]")
    white = rng.standard_normal((s, s))
    return np.fft.irfft2(np.fft.rfft2(white) * np.sqrt(np.clip(power, 0.0, None)), s=(s, s))


def observe(profile, psf, stamp_size, pixel_scale, noise_power, seed):
    """Convolve a profile with a PSF, draw it on a stamp and add noise.

    Parameters
    ----------
    profile : galsim.GSObject
        Unconvolved galaxy, centred on the origin.
    psf : galsim.GSObject
        Effective PSF (see :func:`psf_profile`).
    stamp_size : int
        Pixels.
    pixel_scale : float
        Arcsec per pixel.
    noise_power : float or ndarray
        See :func:`noise_field`.
    seed : int or sequence of int
        Seed of the noise.

    Returns
    -------
    ndarray [S, S]
        Flux per pixel; all NaN when GalSim could not draw the profile.
    """
    import galsim

    try:
        image = galsim.Convolve(profile, psf).drawImage(
            nx=stamp_size, ny=stamp_size, scale=pixel_scale, method="no_pixel").array
    except (galsim.GalSimError, MemoryError, RuntimeError, ValueError):
        return np.full((stamp_size, stamp_size), np.nan)
    return image + noise_field(noise_power, seed, stamp_size)
