"""Rendering: generated pixel arrays to ``galsim.InterpolatedImage`` profiles.

Rotation.  Each generated galaxy is turned by its own position angle
(:mod:`~galsim_deep.engine.draws`).  Two ways, chosen by ``rotate``:

``"resample"`` (the default, ``rotate=True``)
    the rotated profile (the stamp's ``InterpolatedImage`` on a rotated
    pixel grid) is drawn back on an axis-aligned grid of
    :func:`rotated_size` pixels (side >= stamp_size * sqrt(2), so no light
    leaves it), its total rescaled to the stamp's, and wrapped as an
    axis-aligned ``InterpolatedImage``.  GalSim then convolves and draws it
    on its fast axis-aligned path.  Its accuracy against the exact rotation
    through survey PSFs is measured in ``docs/performance.rst``.
``"exact"``
    the stamp itself on a rotated pixel grid (a ``galsim.JacobianWCS``): no
    resampling, but every later draw evaluates the rotated Fourier image
    point by point (2.4x the cost of the resampled stamp's axis-aligned draw
    through an LSST-like PSF, ``docs/performance.rst``).
"""
import math

import numpy as np

__all__ = ["ROTATIONS", "rotation_mode", "rotated_size", "stamp_profile", "galaxy_profile",
           "rotate_stamps", "band_limit"]

#: How a rotated galaxy is rendered (``rotate=True`` means the first).
ROTATIONS = ("resample", "exact")

# band_limit's values by (stamp size, pixel scale, options).
_BAND_LIMITS = {}


def rotation_mode(rotate):
    """The rendering a ``rotate`` argument asks for.

    Parameters
    ----------
    rotate : bool, None or str
        True (``"resample"``), False or None (no rotation), or one of
        :data:`ROTATIONS`.

    Returns
    -------
    None or str
    """
    from ..errors import InputError

    if rotate is None or isinstance(rotate, (bool, np.bool_)):
        return ROTATIONS[0] if rotate else None
    if not isinstance(rotate, str) or rotate not in ROTATIONS:
        raise InputError(f"rotate must be True, False or one of {list(ROTATIONS)}, "
                         f"got {rotate!r}")
    return rotate


def rotated_size(stamp_size):
    """Side (pixels) of the grid a resampled rotation draws on: the smallest even side at
    least ``stamp_size * sqrt(2)``, which holds the stamp turned by any angle.

    Parameters
    ----------
    stamp_size : int

    Returns
    -------
    int
    """
    side = math.ceil(int(stamp_size) * math.sqrt(2.0) - 1e-9)
    return side + side % 2


def stamp_profile(array, pixel_scale, angle=None, x_interpolant=None, k_interpolant=None,
                  pad_factor=4, noise_pad_size=0, noise=None, rng=None, gsparams=None,
                  maxk=None):
    """Wrap one stamp as a ``galsim.InterpolatedImage`` centred on the stamp's true centre.

    Parameters
    ----------
    array : ndarray [S, S]
        Flux per pixel.
    pixel_scale : float
        arcsec per pixel.
    angle : float, optional
        Rotate exactly by this angle (radians, counter-clockwise): the stamp
        gets a rotated pixel grid (a ``galsim.JacobianWCS``).
    x_interpolant, k_interpolant, pad_factor, gsparams
        As ``galsim.InterpolatedImage``.
    noise_pad_size : float
        Pad with noise out to this size (arcsec); 0 for none.
    noise : float or galsim.BaseCorrelatedNoise, optional
        The padding noise (``noise_pad``).
    rng : galsim.BaseDeviate, optional
        Deviate of the padding noise.
    maxk : float, optional
        Force this ``maxk`` (1/arcsec), e.g. :func:`band_limit`; None lets
        GalSim compute it from the image.

    Returns
    -------
    galsim.InterpolatedImage
    """
    import galsim

    if angle is None:
        wcs = galsim.PixelScale(pixel_scale)
    else:
        c, s = math.cos(angle) * pixel_scale, math.sin(angle) * pixel_scale
        wcs = galsim.JacobianWCS(c, -s, s, c)
    image = galsim.Image(np.ascontiguousarray(array, dtype=np.float64), wcs=wcs)
    kwargs = {}
    if noise_pad_size:
        kwargs.update(noise_pad=noise, noise_pad_size=noise_pad_size, rng=rng)
    if maxk is not None:
        kwargs["_force_maxk"] = maxk
    return galsim.InterpolatedImage(image, x_interpolant=x_interpolant,
                                    k_interpolant=k_interpolant, pad_factor=pad_factor,
                                    use_true_center=True, gsparams=gsparams, **kwargs)


def galaxy_profile(array, pixel_scale, angle=None, calculate_maxk=False, x_interpolant=None,
                   k_interpolant=None, pad_factor=4, gsparams=None, **noise):
    """A generated stamp as GalSim draws it: :func:`stamp_profile` with the stamp's band
    limit as its ``maxk`` (:func:`band_limit`), or GalSim's own calculation with
    ``calculate_maxk`` (an extra FFT of the padded stamp, ~0.3 ms, that can only lower
    ``maxk`` and changes nothing once convolved with a PSF of lower ``maxk``, as every
    ground-based or HST PSF's is; ``docs/performance.rst``).  ``noise``:
    ``noise_pad_size``, ``noise`` and ``rng`` of :func:`stamp_profile`."""
    maxk = None if calculate_maxk else band_limit(len(array), pixel_scale, x_interpolant,
                                                  k_interpolant, pad_factor, gsparams)
    return stamp_profile(array, pixel_scale, angle=angle, x_interpolant=x_interpolant,
                         k_interpolant=k_interpolant, pad_factor=pad_factor, gsparams=gsparams,
                         maxk=maxk, **noise)


def rotate_stamps(images, angles, pixel_scale):
    """Rotate stamps by resampling: each rotated profile drawn back on an axis-aligned grid.

    Each stamp's ``InterpolatedImage`` (GalSim's default quintic interpolant)
    on a rotated pixel grid is evaluated at the centres of a
    :func:`rotated_size` grid (``method='no_pixel'``, the stamps'
    convention), and rescaled to the stamp's total flux.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Unrotated stamps, flux per pixel.
    angles : array_like [N]
        Radians, counter-clockwise.
    pixel_scale : float
        arcsec per pixel.

    Returns
    -------
    ndarray [N, R, R]
        float32 rotated stamps, ``R = rotated_size(S)``, centred on the grid's
        true centre.
    """
    images = np.asarray(images)
    side = rotated_size(images.shape[-1]) if images.ndim == 3 else 0
    out = np.zeros((len(images), side, side), np.float32)
    # (a real-space draw: the band limit spares GalSim's per-image maxk, unused here)
    maxk = band_limit(images.shape[-1], pixel_scale) if len(images) else None
    for i, (array, angle) in enumerate(zip(images, np.asarray(angles, np.float64))):
        drawn = stamp_profile(array, pixel_scale, angle=float(angle), maxk=maxk).drawImage(
            nx=side, ny=side, scale=pixel_scale, method="no_pixel", dtype=np.float64).array
        total, got = float(array.sum(dtype=np.float64)), float(drawn.sum())
        out[i] = drawn * (total / got) if got > 0 else drawn
    return out


def band_limit(stamp_size, pixel_scale, x_interpolant=None, k_interpolant=None, pad_factor=4,
               gsparams=None):
    """The largest ``maxk`` GalSim computes for a stamp of this size, in 1/arcsec.

    That is the ``maxk`` of the ``galsim.InterpolatedImage`` of a single bright
    pixel (a flat Fourier transform, non-zero up to the edge of the padded
    stamp's Fourier grid): about ``pi / pixel_scale``.  No stamp of this
    geometry can need more.  Computed once per process and set of options.

    Parameters
    ----------
    stamp_size : int
        Pixels on a side.
    pixel_scale : float
        arcsec per pixel.
    x_interpolant, k_interpolant, pad_factor, gsparams
        As in :func:`stamp_profile`.

    Returns
    -------
    float
    """
    import galsim

    key = (int(stamp_size), float(pixel_scale), repr(x_interpolant), repr(k_interpolant),
           float(pad_factor), repr(gsparams))
    if key not in _BAND_LIMITS:
        size = int(stamp_size)
        delta = galsim.Image(size, size, scale=pixel_scale, dtype=np.float64)
        delta.array[size // 2, size // 2] = 1.0
        _BAND_LIMITS[key] = galsim.InterpolatedImage(
            delta, x_interpolant=x_interpolant, k_interpolant=k_interpolant,
            pad_factor=pad_factor, use_true_center=True, gsparams=gsparams).maxk
    return _BAND_LIMITS[key]
