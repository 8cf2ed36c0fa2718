"""Differentiable image rotation and polar resampling, in TensorFlow.

The equivariant VAE turns every stamp to its canonical pose before the encoder and turns the
decoded canonical galaxy back to the stamp's pose before the PSF convolution
(:mod:`~galsim_deep.training.equivariant_vae.autoencoder`).  Both turns must pass gradients to
the pixels *and* to the angle (the pose network learns through them), run in the exported
``sample`` and ``encode`` graphs, and convert to ONNX; so they are written here with
gathers and arithmetic only: :func:`interpolate` reads an image at arbitrary points
(separable bilinear or Keys cubic interpolation, zero outside the stamp), :func:`rotate`
reads it on the turned pixel grid, and :func:`polar_resample` on a polar grid (the
*canonical coordinates* of rotation, Tai et al. 2019, where a rotation of the image is a
cyclic shift along the angle axis).

Conventions (the engine's, :func:`galsim_deep.engine.rotate_stamps`): an image array is
indexed ``[y, x]``, pixel ``(i, j)`` is at ``x = j``, ``y = i`` (pixel units), and an angle
is counter-clockwise from +x towards +y, in radians.  Rotating an image by ``a`` about
``centre`` gives ``out(p) = in(centre + R(-a) (p - centre))``.  A galaxy stamp turns about
its true centre, ``((S - 1) / 2, (S - 1) / 2)``; a PSF image about its centre pixel
``(S // 2, S // 2)`` (:func:`galaxy_centre`, :func:`psf_centre`).

Interpolation is a low-pass filter: bilinear resampling blurs by up to a quarter pixel
variance per axis (at 45 degrees; none at multiples of 90), Keys cubic much less but with
small negative lobes.  Light that a turn moves outside the ``S x S`` grid is lost (the
stamp's corners), and the grid's corners receive none.
"""
import math

import tensorflow as tf

__all__ = ["INTERPOLANTS", "galaxy_centre", "psf_centre", "interpolate", "rotate",
           "rotate_by", "polar_grid", "polar_resample"]

#: Interpolants of :func:`interpolate`: name -> (first tap offset, number of taps).
INTERPOLANTS = {"bilinear": (0, 2), "cubic": (-1, 4)}


def galaxy_centre(stamp_size):
    """The true centre of an ``S x S`` stamp, ``(S - 1) / 2`` (pixels, 0-indexed), where
    the training galaxies are centred."""
    return 0.5 * (int(stamp_size) - 1)


def psf_centre(stamp_size):
    """The centre of an ``S x S`` PSF image, pixel ``S // 2``."""
    return float(int(stamp_size) // 2)


def _tap_weights(t, interpolant):
    """The taps' weights at fractional positions ``t`` in [0, 1): a list of tensors."""
    if interpolant == "bilinear":
        return [1.0 - t, t]
    # Keys (1981) cubic convolution with a = -1/2 (third-order accurate, sums to 1).
    t2, t3 = t * t, t * t * t
    return [-0.5 * t3 + t2 - 0.5 * t, 1.5 * t3 - 2.5 * t2 + 1.0,
            -1.5 * t3 + 2.0 * t2 + 0.5 * t, 0.5 * t3 - 0.5 * t2]


def interpolate(images, x, y, interpolant="bilinear"):
    """Read images at arbitrary points.

    Parameters
    ----------
    images : tf.Tensor
        float32 ``[B, S, S]``.
    x, y : tf.Tensor
        float32 ``[B, ...]`` positions, pixels (``x`` the column, ``y`` the row; any
        trailing shape, the same for both).
    interpolant : {"bilinear", "cubic"}
        The separable kernel (:data:`INTERPOLANTS`); pixels outside the image are 0.

    Returns
    -------
    tf.Tensor
        float32 ``[B, ...]``, differentiable in ``images``, ``x`` and ``y``.
    """
    if interpolant not in INTERPOLANTS:
        raise ValueError(f"interpolant must be one of {sorted(INTERPOLANTS)}, got "
                         f"{interpolant!r}")
    images = tf.convert_to_tensor(images, tf.float32)
    shape = tf.shape(images)
    n, height, width = shape[0], shape[1], shape[2]
    out_shape = tf.shape(x)
    x = tf.reshape(tf.convert_to_tensor(x, tf.float32), [n, -1])
    y = tf.reshape(tf.convert_to_tensor(y, tf.float32), [n, -1])
    x0, y0 = tf.floor(x), tf.floor(y)
    # The weights are functions of the fractional parts: continuous in x and y (the taps
    # change where a weight is zero), so the gradient reaches the positions.
    wx, wy = _tap_weights(x - x0, interpolant), _tap_weights(y - y0, interpolant)
    first, _ = INTERPOLANTS[interpolant]
    x0, y0 = tf.cast(x0, tf.int32) + first, tf.cast(y0, tf.int32) + first
    flat = tf.reshape(images, [-1])
    base = (tf.range(n) * height * width)[:, None]
    total = tf.zeros_like(x)
    for i, weight_y in enumerate(wy):
        row = y0 + i
        row_ok = (row >= 0) & (row < height)
        row = tf.clip_by_value(row, 0, height - 1)
        for j, weight_x in enumerate(wx):
            col = x0 + j
            ok = row_ok & (col >= 0) & (col < width)
            col = tf.clip_by_value(col, 0, width - 1)
            values = tf.gather(flat, base + row * width + col)
            total += weight_y * weight_x * tf.where(ok, values, tf.zeros_like(values))
    return tf.reshape(total, out_shape)


def rotate(images, cos, sin, centre, interpolant="bilinear"):
    """Rotate images counter-clockwise by the angles whose cosine and sine are given.

    Parameters
    ----------
    images : tf.Tensor
        float32 ``[B, S, S]``.
    cos, sin : tf.Tensor
        float32 ``[B]``, the cosine and sine of each image's angle (a unit vector; the
        pose network gives them so, without the angle itself).
    centre : float
        The fixed point, pixels (:func:`galaxy_centre`, :func:`psf_centre`).
    interpolant : {"bilinear", "cubic"}

    Returns
    -------
    tf.Tensor
        float32 ``[B, S, S]``: ``out(p) = in(centre + R(-a) (p - centre))``, zero where
        that point is off the image; same units as ``images`` (flux per pixel is kept
        per pixel, so a galaxy inside the stamp keeps its flux to the interpolation's
        accuracy).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    size = tf.shape(images)[1]
    grid = tf.cast(tf.range(size), tf.float32) - centre
    dx, dy = grid[None, None, :], grid[None, :, None]
    c, s = tf.convert_to_tensor(cos, tf.float32), tf.convert_to_tensor(sin, tf.float32)
    c, s = c[:, None, None], s[:, None, None]
    return interpolate(images, centre + c * dx + s * dy, centre - s * dx + c * dy,
                       interpolant)


def rotate_by(images, angle, centre, interpolant="bilinear"):
    """:func:`rotate` by angles in radians, float32 ``[B]``."""
    angle = tf.convert_to_tensor(angle, tf.float32)
    return rotate(images, tf.cos(angle), tf.sin(angle), centre, interpolant)


def polar_grid(stamp_size, n_angles, n_radii):
    """The points of the polar resampling: angles, and x, y offsets from the centre.

    Parameters
    ----------
    stamp_size : int
        ``S``, pixels.
    n_angles : int
        ``K`` angles ``phi_k = 2 pi k / K``, radians.
    n_radii : int
        ``R`` radii ``r_j = (j + 1/2) (S / 2 - 1) / R``, pixels: rings out to one pixel
        inside the stamp's edge, so a turned stamp's polar image is the same shifted.

    Returns
    -------
    angles : tf.Tensor
        float32 ``[K]``.
    dx, dy : tf.Tensor
        float32 ``[K, R]`` offsets, pixels.
    """
    angles = 2.0 * math.pi * tf.range(n_angles, dtype=tf.float32) / float(n_angles)
    radii = ((tf.range(n_radii, dtype=tf.float32) + 0.5)
             * (0.5 * float(stamp_size) - 1.0) / float(n_radii))
    return angles, tf.cos(angles)[:, None] * radii, tf.sin(angles)[:, None] * radii


def polar_resample(images, n_angles, n_radii, interpolant="bilinear"):
    """Resample stamps onto the polar grid about their true centre.

    A stamp turned by ``2 pi m / K`` has the polar image turned by ``m`` rows (exactly, up
    to the interpolation of the two pixel grids): the canonical coordinates in which a
    rotation is a translation (Tai et al. 2019, the paper's Eq. 3).

    Parameters
    ----------
    images : tf.Tensor
        float32 ``[B, S, S]``.
    n_angles, n_radii : int
        The grid (:func:`polar_grid`).
    interpolant : {"bilinear", "cubic"}

    Returns
    -------
    tf.Tensor
        float32 ``[B, K, R]``, angle first.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    size = images.shape[1]
    _, dx, dy = polar_grid(size, n_angles, n_radii)
    centre = galaxy_centre(size)
    n = tf.shape(images)[0]
    x = tf.broadcast_to(centre + dx, tf.stack([n, n_angles, n_radii]))
    y = tf.broadcast_to(centre + dy, tf.stack([n, n_angles, n_radii]))
    return interpolate(images, x, y, interpolant)
