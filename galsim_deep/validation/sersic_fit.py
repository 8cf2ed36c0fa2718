"""Single-Sérsic fits to observed stamps through their PSFs: the parametric baseline.

A generative model's reconstruction of a galaxy starts from the noisy,
PSF-convolved stamp; so does the parametric description a survey catalog
gives (the COSMOS catalog's Sérsic fits).  :func:`fit_sersic` makes that
description for a stamp with the same forward model the networks train
through (:mod:`galsim_deep.forward_model`): a Sérsic profile sampled at
pixel centres (the convention of the datasets' ``truth`` field), convolved
with the stamp's effective PSF by zero-padded FFT, compared with the stamp
under Gaussian pixel noise of the stamp's variance.  The unconvolved fitted
profile can then be compared with the truth of a mock galaxy exactly like a
network's reconstruction.

Parameters of the fit (:class:`SersicFit`): flux (the amplitude, solved
linearly at each step), centre ``x0, y0`` (pixels, 0-based, relative to
pixel ``(S//2, S//2)``), half-light radius (arcsec, of the circular profile
before the shear), Sérsic index ``n`` (GalSim's range 0.3-6.2) and reduced
shear ``g1, g2`` (``|g| < 0.9``), found by ``scipy.optimize.least_squares`` from
two starts (n = 1 and n = 4), the better kept.
"""
from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal, special
from ..errors import InputError

__all__ = ["SersicFit", "sersic_image", "fit_sersic", "fit_sersics"]

_N_RANGE = (0.3, 6.2)
_G_MAX = 0.9


@dataclass
class SersicFit:
    """The best single-Sérsic description of one stamp.

    Attributes
    ----------
    flux : float
        Total flux of the untruncated profile (the stamp's flux units).
    x0, y0 : float
        Centre offset from pixel ``(S//2, S//2)``, pixels.
    half_light_radius : float
        arcsec (circular profile, before the shear).
    n : float
        Sérsic index.
    g1, g2 : float
        Reduced shear of the profile.
    reduced_chi2 : float
        Of the convolved model against the stamp, per pixel.
    image : ndarray [S, S]
        The unconvolved fitted profile, flux per pixel, sampled at pixel centres.
    """

    flux: float
    x0: float
    y0: float
    half_light_radius: float
    n: float
    g1: float
    g2: float
    reduced_chi2: float
    image: np.ndarray


def sersic_image(stamp_size, pixel_scale, half_light_radius, n, g1=0.0, g2=0.0,
                 x0=0.0, y0=0.0, flux=1.0):
    """A sheared Sérsic profile sampled at pixel centres.

    Parameters
    ----------
    stamp_size : int
        Pixels on a side.
    pixel_scale : float
        arcsec per pixel.
    half_light_radius : float
        arcsec, of the circular profile before the shear (GalSim's convention).
    n : float
        Sérsic index.
    g1, g2 : float
        Reduced shear (``|g| < 1``), applied as ``galsim.GSObject.shear`` does
        (area preserving).
    x0, y0 : float
        Centre offset from pixel ``(S//2, S//2)``, pixels.
    flux : float
        Total flux of the untruncated profile.

    Returns
    -------
    ndarray [S, S]
        float64, flux per pixel (surface brightness times pixel area).
    """
    g_sq = g1 * g1 + g2 * g2
    if not 0 <= g_sq < 1:
        raise InputError(f"|g| must be below 1, got g1={g1}, g2={g2}")
    centre = stamp_size // 2
    y, x = np.mgrid[0:stamp_size, 0:stamp_size].astype(np.float64)
    x = x - centre - x0
    y = y - centre - y0
    # Inverse of the shear matrix (1/sqrt(1-g^2)) [[1+g1, g2], [g2, 1-g1]].
    norm = 1.0 / np.sqrt(1.0 - g_sq)
    u = norm * ((1 - g1) * x - g2 * y)
    v = norm * (-g2 * x + (1 + g1) * y)
    r = np.hypot(u, v) * pixel_scale / half_light_radius
    b = special.gammaincinv(2 * n, 0.5)
    profile = np.exp(-b * r ** (1.0 / n))
    # Integral of exp(-b (r/re)^(1/n)) over the plane, in arcsec^2 (the shear preserves area).
    total = 2 * np.pi * n * half_light_radius ** 2 * special.gamma(2 * n) / b ** (2 * n)
    return flux * profile * pixel_scale ** 2 / total


def _convolve(image, psf):
    c = image.shape[-1] // 2
    s = image.shape[-1]
    return signal.fftconvolve(image, psf, mode="full")[c:c + s, c:c + s]


def _half_light_radius_pixels(image):
    """Radius (pixels) around the light-weighted centre holding half the positive flux."""
    w = np.clip(image, 0, None)
    total = w.sum()
    if total <= 0:
        return 1.0
    y, x = np.indices(image.shape)
    cx, cy = (w * x).sum() / total, (w * y).sum() / total
    r = np.hypot(x - cx, y - cy).ravel()
    order = np.argsort(r)
    cumulative = np.cumsum(w.ravel()[order])
    return float(r[order][np.searchsorted(cumulative, 0.5 * total)]) + 0.5


def fit_sersic(stamp, psf, noise_variance, pixel_scale, max_nfev=400):
    """Fit a single Sérsic profile, convolved with the PSF, to an observed stamp.

    Parameters
    ----------
    stamp : array_like [S, S]
        Observed stamp, flux per pixel.
    psf : array_like [S, S]
        The stamp's effective PSF at the stamp's pixel scale, unit sum, centred
        on pixel ``(S//2, S//2)`` (the datasets' convention).
    noise_variance : float
        Pixel noise variance of the stamp, (flux per pixel)^2.
    pixel_scale : float
        arcsec per pixel.
    max_nfev : int
        Function evaluations per start.

    Returns
    -------
    SersicFit
    """
    stamp = np.asarray(stamp, np.float64)
    psf = np.asarray(psf, np.float64)
    if stamp.ndim != 2 or stamp.shape[0] != stamp.shape[1] or psf.shape != stamp.shape:
        raise InputError(f"fit_sersic needs a square stamp and a PSF of the same shape, got "
                         f"{stamp.shape} and {psf.shape}")
    if not np.isfinite(stamp).all() or not noise_variance > 0:
        raise InputError("fit_sersic needs a finite stamp and a positive noise_variance")
    size = stamp.shape[0]
    sigma = np.sqrt(noise_variance)

    def model(p):
        x0, y0, log_hlr, n, g1, g2 = p
        g = np.hypot(g1, g2)
        if g > _G_MAX:
            g1, g2 = g1 * _G_MAX / g, g2 * _G_MAX / g
        unit = sersic_image(size, pixel_scale, np.exp(log_hlr), n, g1, g2, x0, y0)
        convolved = _convolve(unit, psf)
        # The flux is linear: its least-squares value for this shape, kept positive.
        flux = max((convolved * stamp).sum() / max((convolved ** 2).sum(), 1e-300), 0.0)
        return flux, unit, convolved

    def residuals(p):
        flux, _, convolved = model(p)
        return ((flux * convolved - stamp) / sigma).ravel()

    # Start: the observed half-light radius with the PSF's removed in quadrature.
    r_obs = _half_light_radius_pixels(stamp)
    r_psf = _half_light_radius_pixels(psf)
    hlr0 = max(np.sqrt(max(r_obs ** 2 - r_psf ** 2, 0.25)), 0.5) * pixel_scale
    lower = [-size / 4, -size / 4, np.log(0.1 * pixel_scale), _N_RANGE[0], -_G_MAX, -_G_MAX]
    upper = [size / 4, size / 4, np.log(size * pixel_scale), _N_RANGE[1], _G_MAX, _G_MAX]
    hlr0 = float(np.clip(hlr0, 0.2 * pixel_scale, 0.5 * size * pixel_scale))
    best = None
    for n0 in (1.0, 4.0):
        result = optimize.least_squares(residuals, [0.0, 0.0, np.log(hlr0), n0, 0.0, 0.0],
                                        bounds=(lower, upper), x_scale=[1, 1, 0.3, 1, 0.2, 0.2],
                                        max_nfev=max_nfev, method="trf")
        if best is None or result.cost < best.cost:
            best = result
    x0, y0, log_hlr, n, g1, g2 = best.x
    g = np.hypot(g1, g2)
    if g > _G_MAX:
        g1, g2 = g1 * _G_MAX / g, g2 * _G_MAX / g
    flux, unit, _ = model(best.x)
    return SersicFit(flux=float(flux), x0=float(x0), y0=float(y0),
                     half_light_radius=float(np.exp(log_hlr)), n=float(n), g1=float(g1),
                     g2=float(g2), reduced_chi2=float(2 * best.cost / stamp.size),
                     image=flux * unit)


def fit_sersics(stamps, psfs, noise_variance, pixel_scale, progress=False):
    """:func:`fit_sersic` for each stamp of a batch.

    Parameters
    ----------
    stamps, psfs : array_like [N, S, S]
        Observed stamps and their PSFs (see :func:`fit_sersic`).
    noise_variance : array_like [N]
        Pixel noise variance of each stamp.
    pixel_scale : float
        arcsec per pixel.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of SersicFit
    """
    from tqdm.auto import tqdm

    noise_variance = np.broadcast_to(np.asarray(noise_variance, np.float64), (len(stamps),))
    return [fit_sersic(s, p, v, pixel_scale)
            for s, p, v in tqdm(zip(stamps, psfs, noise_variance), total=len(stamps),
                                desc="Sérsic fits", unit="galaxy", disable=not progress)]
