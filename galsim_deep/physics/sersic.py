"""Sérsic profiles as formulas: the surface brightness and a sheared profile on a pixel grid.

The runtime side of two users: the Sérsic and bulge+disk fits of the validation
(:mod:`galsim_deep.tools.validation.measures.reconstruction.sersic_fit`) and the analytic bulge+disk a
Flow-VAE decoder can draw under its image
(:mod:`galsim_deep.training.bulge_disk`), so that building a network loads
no validation code.  numpy and scipy only.
"""
import numpy as np

from ..core.errors import InputError

__all__ = ["sersic_surface_brightness", "sersic_image", "pixel_grid"]

_GRIDS = {}


def pixel_grid(stamp_size):
    """Pixel coordinates ``(y, x)`` relative to pixel ``(S//2, S//2)``, cached per size
    (read-only arrays)."""
    if stamp_size not in _GRIDS:
        centre = stamp_size // 2
        y, x = np.mgrid[0:stamp_size, 0:stamp_size].astype(np.float64) - centre
        y.flags.writeable = x.flags.writeable = False
        _GRIDS[stamp_size] = (y, x)
    return _GRIDS[stamp_size]


def sersic_surface_brightness(n, r):
    """Surface brightness of a unit-flux Sérsic profile of half-light radius 1.

    Parameters
    ----------
    n : float
        Sérsic index.
    r : array_like
        Radii, in units of the half-light radius.

    Returns
    -------
    numpy.ndarray
        ``I(r) = I_e exp(-b_n (r**(1/n) - 1))`` with ``b_n`` such that half the
        flux falls inside ``r = 1`` and ``I_e`` such that the total flux is 1,
        per unit area in half-light radii squared.
    """
    from scipy import special

    b = special.gammaincinv(2.0 * n, 0.5)
    i_e = 1.0 / (2.0 * np.pi * n * np.exp(b) * b ** (-2.0 * n) * special.gamma(2.0 * n))
    return i_e * np.exp(-b * (np.asarray(r, dtype=np.float64) ** (1.0 / n) - 1.0))


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
    yy, xx = pixel_grid(int(stamp_size))
    x = xx - x0
    y = yy - y0
    # Inverse of the shear matrix (1/sqrt(1-g^2)) [[1+g1, g2], [g2, 1-g1]].
    norm = 1.0 / np.sqrt(1.0 - g_sq)
    u = norm * ((1 - g1) * x - g2 * y)
    v = norm * (-g2 * x + (1 + g1) * y)
    r = np.hypot(u, v) * pixel_scale / half_light_radius
    # (the shear preserves area: a pixel covers (pixel_scale / half_light_radius)^2)
    return flux * sersic_surface_brightness(n, r) * (pixel_scale / half_light_radius) ** 2
