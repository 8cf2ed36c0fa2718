"""Stamps coarser than the HST pixel: render at 0.03 arcsec, then bin f x f.

The real HST PSF images and the COSMOS correlated noise are given at the
native ACS pixel, 0.03 arcsec.  A stamp at ``pixel_scale = f * 0.03`` (``f``
a whole number) is made *exactly* by rendering it at 0.03 arcsec on a grid
``f`` times larger and summing blocks of ``f x f`` pixels:

* an image of the 0.03 arcsec effective PSF (optics convolved with the 0.03
  arcsec pixel, sampled at the 0.03 pixel centres) summed over ``f x f``
  blocks is the optics convolved with the ``f * 0.03`` pixel, sampled at the
  coarse pixel centres, i.e. the effective PSF of the coarse pixel;
* coarse pixel ``J`` is the sum of fine pixels ``f J .. f J + f - 1`` on each
  axis, so the fine grid's true centre ``(f S - 1) / 2`` is the coarse
  grid's true centre ``(S - 1) / 2``: a galaxy drawn at the fine grid's
  centre is at the coarse stamp's centre (docs/architecture.rst);
* the PSF must end up centred on coarse pixel ``(S // 2, S // 2)``, whose
  centre is fine position ``f (S // 2) + (f - 1) / 2``: the fine PSF is
  drawn with the offset :func:`fine_offset` from the fine grid's true
  centre (``f / 2`` fine pixels for even ``S``, 0 for odd ``S``; with
  ``f = 1`` this is the usual half-pixel offset of an even stamp).
"""
import math

import numpy as np
from ..core.errors import InputError

__all__ = ["binning_factor", "bin_pixels", "fine_offset", "draw_binned"]


def binning_factor(pixel_scale, native_scale, what="this PSF"):
    """The whole number ``f = pixel_scale / native_scale``.

    Parameters
    ----------
    pixel_scale : float
        arcsec/pixel of the stamps.
    native_scale : float
        arcsec/pixel of the data that are binned (0.03 for HST/COSMOS).
    what : str, optional
        What needs the native pixels, for the error message.

    Returns
    -------
    int
        ``f >= 1``.

    Raises
    ------
    ValueError
        If ``pixel_scale`` is not a whole multiple of ``native_scale``; the
        message names the nearest allowed scales.
    """
    ratio = float(pixel_scale) / float(native_scale)
    f = int(round(ratio))
    if f < 1 or abs(ratio - f) > 1e-6:
        lo = max(1, math.floor(ratio))
        choices = sorted({round(lo * native_scale, 6), round((lo + 1) * native_scale, 6)})
        raise InputError(
            f"{what} is given at {native_scale} arcsec/pixel, so the pixel scale must be a whole "
            f"multiple of {native_scale} (stamps are rendered at {native_scale} and binned f x f); "
            f"got pixel_scale={pixel_scale} ({ratio:.4g} x {native_scale}): use pixel_scale "
            f"{' or '.join(f'{c:g}' for c in choices)} (--pixel-scale), or psf='optical' "
            "(--psf optical), which works at any pixel scale")
    return f


def bin_pixels(image, f):
    """Sum blocks of ``f x f`` pixels of the last two axes.

    Parameters
    ----------
    image : numpy.ndarray
        ``[..., f S, f S]``.
    f : int
        Binning factor (``f = 1`` returns ``image`` itself).

    Returns
    -------
    numpy.ndarray
        ``[..., S, S]``: coarse pixel ``(I, J)`` is the sum of fine pixels
        ``f I .. f I + f - 1`` by ``f J .. f J + f - 1``.
    """
    f = int(f)
    if f == 1:
        return image
    *lead, ny, nx = image.shape
    if ny % f or nx % f:
        raise InputError(f"cannot bin a {ny} x {nx} image by {f}: its size must be a multiple "
                         f"of {f}")
    return image.reshape(*lead, ny // f, f, nx // f, f).sum(axis=(-3, -1))


def fine_offset(stamp_size, f):
    """Offset (fine pixels) from the fine grid's true centre of coarse pixel ``S // 2``.

    Parameters
    ----------
    stamp_size : int
        Coarse stamp size ``S``.
    f : int
        Binning factor.

    Returns
    -------
    float
        ``f (S // 2) + (f - 1) / 2 - (f S - 1) / 2``: ``f / 2`` for even ``S``,
        0 for odd ``S`` (0.5 and 0 with ``f = 1``).
    """
    s, f = int(stamp_size), int(f)
    return f * (s // 2) + (f - 1) / 2 - (f * s - 1) / 2


def draw_binned(profile, stamp_size, pixel_scale, f=1, offset=None):
    """Draw a profile with ``method='no_pixel'`` at ``pixel_scale / f`` and bin it ``f x f``.

    Parameters
    ----------
    profile : galsim.GSObject
        What to draw (already convolved with the effective PSF of the fine
        pixel, for an observed stamp).
    stamp_size : int
        Coarse stamp size ``S``.
    pixel_scale : float
        Coarse arcsec/pixel.
    f : int, optional
        Binning factor (default 1: drawn directly).
    offset : float, optional
        Offset (fine pixels, both axes) of the profile's centre from the fine
        grid's true centre, e.g. :func:`fine_offset`; default none (the
        profile's centre at the true centre of the fine and of the coarse grid).

    Returns
    -------
    numpy.ndarray
        float64 ``[S, S]``.
    """
    f = int(f)
    kwargs = {} if offset is None else {"offset": (offset, offset)}
    image = profile.drawImage(nx=f * stamp_size, ny=f * stamp_size, scale=pixel_scale / f,
                              method="no_pixel", dtype=np.float64, **kwargs).array
    return bin_pixels(image, f)
