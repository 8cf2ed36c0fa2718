"""Rendering: generated pixel arrays to ``galsim.InterpolatedImage`` profiles.

Rotation.  Each generated galaxy is turned by its own position angle
(:mod:`~galsim_deep.engine.random_draws`).  Two ways, chosen by ``rotate``:

``"resample"`` (the default, ``rotate=True``)
    the stamps of a block are turned together (:func:`rotate_stamps`: exact
    quarter turns, then three shears, each resampling its lines with GalSim's
    quintic interpolant)
    onto an axis-aligned grid of :func:`rotated_size` pixels (side >=
    stamp_size * sqrt(2), so no light leaves it), each rescaled to its
    stamp's total and wrapped as an axis-aligned ``InterpolatedImage``.
    GalSim then convolves and draws it on its fast axis-aligned path.  Its
    accuracy against the exact rotation through survey PSFs is measured in
    ``docs/performance.rst``.
``"exact"``
    the stamp itself on a rotated pixel grid (a ``galsim.JacobianWCS``): no
    resampling, but every later draw evaluates the rotated Fourier image
    point by point, which costs more than the resampled stamp's axis-aligned
    draw (how much: ``docs/performance.rst``, "The sampling engine").
"""
import math

import numpy as np

from ..core.errors import InputError

__all__ = ["ROTATIONS", "rotation_mode", "rotated_size", "grid_frame", "stamp_profile",
           "galaxy_profile", "map_stamps",
           "grid_pad_factor", "rotate_stamps", "band_limit"]

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


def grid_frame(angle):
    """A stamp's exact frame as a hashable value: None (axis-aligned), an angle (float,
    radians) or a linear map's four entries (``(dudx, dudy, dvdx, dvdy)``), what
    :func:`stamp_profile` takes as ``angle``."""
    if angle is None:
        return None
    if np.size(angle) == 4:
        return tuple(float(v) for v in np.ravel(angle))
    return float(angle)


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
    angle : float or array_like [2, 2], optional
        Rotate exactly by this angle (radians, counter-clockwise), or map exactly by this
        linear map (``[[dudx, dudy], [dvdx, dvdy]]``, as ``galsim.Transform`` takes it,
        or its four entries in that order: a catalog shape's,
        :mod:`~galsim_deep.engine.shapes`): the stamp gets that pixel grid (a
        ``galsim.JacobianWCS``).
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
    elif np.size(angle) == 4:
        wcs = galsim.JacobianWCS(*(np.asarray(angle, np.float64).ravel() * pixel_scale))
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
                   k_interpolant=None, pad_factor=4, gsparams=None, stamp_size=None, **noise):
    """A generated stamp as GalSim draws it: :func:`stamp_profile` with the stamp's band
    limit as its ``maxk`` (:func:`band_limit`), or GalSim's own calculation with
    ``calculate_maxk`` (an extra FFT of the padded stamp, which can only lower ``maxk``
    and changes nothing once convolved with a PSF of lower ``maxk``, as every
    ground-based or HST PSF's is; its cost: ``docs/performance.rst``).  ``noise``:
    ``noise_pad_size``, ``noise`` and ``rng`` of :func:`stamp_profile`.

    ``pad_factor`` counts in sides of the model's stamp, ``stamp_size`` pixels (default:
    the array's side): a resampled rotation's larger grid (:func:`rotated_size`, whose
    margin past the stamp holds no light) is padded to ``pad_factor * stamp_size``
    pixels, the Fourier grid of the unrotated stamp, and not to ``pad_factor`` times its
    own side, which would cost a larger FFT per profile for the same pixels
    (``docs/performance.rst``)."""
    pad_factor = grid_pad_factor(pad_factor, len(array), stamp_size)
    maxk = None if calculate_maxk else band_limit(len(array), pixel_scale, x_interpolant,
                                                  k_interpolant, pad_factor, gsparams)
    return stamp_profile(array, pixel_scale, angle=angle, x_interpolant=x_interpolant,
                         k_interpolant=k_interpolant, pad_factor=pad_factor, gsparams=gsparams,
                         maxk=maxk, **noise)


def grid_pad_factor(pad_factor, side, stamp_size=None):
    """The ``pad_factor`` that pads a grid of ``side`` pixels to ``pad_factor * stamp_size``
    pixels when it is larger than the model's stamp (a resampled rotation's grid,
    :func:`rotated_size`), so that it gets the unrotated stamp's Fourier grid;
    ``pad_factor`` itself otherwise (or without ``stamp_size``)."""
    if stamp_size is not None and stamp_size < side:
        return pad_factor * stamp_size / side
    return pad_factor


def rotate_stamps(images, angles):
    """Rotate stamps by resampling onto an axis-aligned :func:`rotated_size` grid, all at once.

    Each stamp is turned by its quarter turns exactly (``numpy.rot90``), then by the
    rest, within +-45 degrees, as three shears, x by ``-tan(a / 2)`` y, y by ``sin(a)``
    x and x again (Unser, Thevenaz & Yaroslavsky 1995, IEEE Trans. Image Process. 4,
    1371).  Each shear shifts every row (or column) by its own amount, resampled with
    GalSim's quintic interpolant (the one GalSim's own ``rotate`` of an
    ``InterpolatedImage`` uses), applied in Fourier space (:func:`_shift_ramp`): a
    compact kernel, so a cuspy centre rings within a few pixels of the light, not
    along whole lines, and the flux is kept.  The block is transformed together
    (``scipy.fft``, float32), and each row's result does not depend on the others.
    Its ringing and cost beside GalSim's ``rotate`` are measured by
    ``benchmarks/bench_rotation.py``, its accuracy through survey PSFs in
    ``docs/performance.rst``.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Unrotated stamps (even S), flux per pixel.
    angles : array_like [N]
        Radians, counter-clockwise.

    Returns
    -------
    ndarray [N, R, R]
        float32 rotated stamps, ``R = rotated_size(S)``, centred on the grid's
        true centre, each rescaled to its stamp's total flux.
    """
    import scipy.fft

    images = np.asarray(images, np.float32)
    if images.ndim != 3 or images.shape[1] != images.shape[2] or images.shape[-1] % 2:
        raise InputError(f"rotate_stamps turns square stamps of even side [N, S, S] (a "
                         f"model's decoder draws even sides), got shape {images.shape}")
    n, size = len(images), images.shape[-1]
    side = rotated_size(size)
    if not n:
        return np.zeros((0, side, side), np.float32)
    angles = np.asarray(angles, np.float64).reshape(n)
    turns = np.round(angles / (np.pi / 2))
    rest = angles - turns * (np.pi / 2)
    # A sheared stamp is up to 2 S tall and R wide: the work grid holds it (no wrapping),
    # its sides multiples of 16 so that the FFT's vector lanes never mix two stamps.
    tall, wide = (-(-x // 16) * 16 for x in (2 * size, side))
    work = np.zeros((n, tall, wide), np.float32)
    y0, x0 = (tall - size) // 2, (wide - size) // 2
    for quarter in range(4):
        rows = np.flatnonzero(turns.astype(int) % 4 == quarter)
        work[rows, y0:y0 + size, x0:x0 + size] = np.rot90(images[rows], quarter, axes=(2, 1))

    def shear(work, ramp, axis, length):
        """Shift each line along ``axis`` by its ``ramp`` (:func:`_shift_ramp`)."""
        spectrum = scipy.fft.rfft(work, axis=axis)
        spectrum *= ramp if axis == 2 else ramp.transpose(0, 2, 1)
        return scipy.fft.irfft(spectrum, n=length, axis=axis)

    x_ramp = _shift_ramp(-np.tan(rest / 2), wide, tall)
    work = shear(work, x_ramp, 2, wide)
    work = shear(work, _shift_ramp(np.sin(rest), tall, wide), 1, tall)
    work = shear(work, x_ramp, 2, wide)
    y0, x0 = (tall - side) // 2, (wide - side) // 2
    out = work[:, y0:y0 + side, x0:x0 + side]
    total = images.reshape(n, -1).sum(axis=1, dtype=np.float64)
    got = out.reshape(n, -1).sum(axis=1, dtype=np.float64)
    scale = np.divide(total, got, out=np.ones(n), where=got > 0)
    return (out * scale[:, None, None]).astype(np.float32)


def map_stamps(images, maps, side, keep_flux=True):
    """Map stamps by linear maps, resampled onto an axis-aligned grid of ``side`` pixels.

    Each image, read as GalSim reads a stamp (``galsim.InterpolatedImage``, quintic,
    centred on its true centre), is given the pixel grid its map sends it to (a
    ``galsim.JacobianWCS``) and drawn back without a pixel response (its values at the new
    pixels' centres), then rescaled to its own total: the resampled form of a catalog
    shape (:mod:`~galsim_deep.engine.shapes`), as :func:`rotate_stamps` is of a
    rotation.  Light mapped beyond the grid is lost (the rescaling keeps the flux);
    ``docs/shapes.rst`` measures what that and the resampling cost the shape.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Flux per pixel.
    maps : ndarray [N, 2, 2]
        ``[[dudx, dudy], [dvdx, dvdy]]`` per image (dimensionless, pixels to pixels).
    side : int
        Pixels on a side of the output grid.
    keep_flux : bool
        Rescale each image to its own total (default); False: the mapped profile's values
        at the pixel centres as they are.

    Returns
    -------
    ndarray [N, side, side]
        float32.
    """
    import galsim

    images = np.asarray(images, np.float64)
    out = np.zeros((len(images), int(side), int(side)), np.float32)
    for i, (array, jac) in enumerate(zip(images, np.asarray(maps, np.float64))):
        total = array.sum()
        if keep_flux and (not np.isfinite(total) or total == 0):
            continue  # nothing to rescale to
        image = galsim.Image(np.ascontiguousarray(array), wcs=galsim.JacobianWCS(*jac.ravel()))
        profile = galsim.InterpolatedImage(image, use_true_center=True, calculate_stepk=False,
                                           calculate_maxk=False)
        drawn = profile.drawImage(nx=int(side), ny=int(side), scale=1.0, method="no_pixel",
                                  dtype=np.float64).array
        got = drawn.sum()
        out[i] = drawn * (total / got if keep_flux and got != 0 else 1.0)
    return out


#: Taps of the interpolant each shear resamples a line with (GalSim's ``Quintic``: support
#: +-3 pixels, exact for polynomials to degree 3, weights summing to 1 at every shift).
_TAPS = 6


def _shift_ramp(factor, length, along):
    """The Fourier response ``[N, along, length // 2 + 1]`` (complex64) that shifts the line
    at coordinate ``c`` (pixels from the grid's centre, over ``along`` lines) by ``s =
    factor * c`` pixels, resampling it with GalSim's quintic interpolant, for the ``rfft``
    frequencies ``k`` of lines of ``length``.

    A shifted line is ``out[x] = sum_j in[j] q(x - s - j)``: its spectrum is the line's
    times ``sum_t q(m0 + t - s) exp(-2 pi i k (m0 + t))`` over the six integer offsets
    ``m0 + t`` (``m0 = floor(s) - 2``) where the quintic ``q`` is not zero.  A compact
    kernel confines the resampling's ringing to three pixels of the light, where the
    ideal (sinc) shift, ``exp(-2 pi i k s)``, spreads a cuspy centre's ringing along the
    whole line (streaks to the stamp's corners).  The weights sum to 1, so the flux
    (``k = 0``) is kept.  The integer part's phases come from a table, not an exponential
    per element."""
    import galsim
    import scipy.fft

    shift = np.multiply.outer(np.asarray(factor, np.float64),
                              np.arange(along) - (along - 1) / 2.0)
    first = np.floor(shift).astype(np.int64) - (_TAPS // 2 - 1)
    offsets = np.arange(_TAPS)
    weights = galsim.Quintic().xval((first[..., None] + offsets - shift[..., None]).ravel())
    weights = weights.reshape(shift.shape + (_TAPS,))
    k = scipy.fft.rfftfreq(length)
    taps = np.exp(-2j * np.pi * np.multiply.outer(offsets, k))           # [taps, K]
    low = int(first.min())
    table = np.exp(-2j * np.pi * np.multiply.outer(np.arange(low, int(first.max()) + 1), k))
    return (table[first - low] * (weights @ taps)).astype(np.complex64)


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
