"""Shapes from the catalog: a generated galaxy given the axis ratio and position angle asked of it.

A catalog row may carry the galaxy's shape, ``q`` (the axis ratio b/a, in (0, 1]) and
``beta`` (the position angle of the major axis, degrees counter-clockwise from +x, the
angle of ``galsim.Shear(q=q, beta=beta * galsim.degrees)``).  The engine then draws the
galaxy's morphology from the network as always and gives it that shape exactly:

1. :func:`measured_shapes` - the shape ``(g1, g2)`` of each generated stamp's own light,
   by GalSim's adaptive moments (``galsim.hsm.FindAdaptiveMom``, the measure a
   weak-lensing user applies);
2. :func:`shape_jacobians` - the linear map of each galaxy that keeps its area and turns
   its measured shape into the one asked: ``T = R(beta) diag(a, 1/a) R(-beta0)``, a turn
   of its major axis onto the x axis, a stretch along it by ``a = sqrt(q0 / q)`` (``q0``,
   ``beta0``: its own shape) and a turn to ``beta``.  The galaxy's inner structure turns
   and stretches with it (spiral arms keep their place on the disc), its flux is kept
   (``det T = 1``), and its adaptive moments, which are covariant under linear maps,
   become ``q`` and ``beta``;
3. GalSim applies ``T`` exactly: the stamp becomes a ``galsim.InterpolatedImage`` on the
   pixel grid ``T`` maps it to (``galsim.JacobianWCS``, as an exact rotation is;
   :func:`~galsim_deep.engine.profiles.stamp_profile`).

A row that gives only ``beta`` keeps its galaxy's own axis ratio; one that gives only
``q`` keeps the position angle the galaxy would have had (its own, turned by the row's
random angle where the population is rotated).

How the map is drawn follows the ``rotate`` argument of the sampling call:

* ``'exact'``: the stamp on its mapped pixel grid, as ``rotate='exact'`` rotates;
* ``'resample'``: the mapped stamp resampled onto the axis-aligned rotated grid
  (:func:`~galsim_deep.engine.profiles.map_stamps`): cheaper to draw and drawn in blocks,
  but a galaxy squeezed below the model's pixels comes out rounder;
* anything else (``True``, the default): per galaxy, resampled where its minor axis keeps
  at least :data:`RESAMPLED_MINOR_SIGMA` pixels (its adaptive moments' sigma times the
  square root of the axis ratio it is given, :func:`resamples_well`), exactly below.

How close the drawn shape comes to the one asked, and what each costs, are measured in
``docs/shapes.rst``.

Example
-------
>>> import numpy as np
>>> from galsim_deep.engine.shapes import shape_jacobians
>>> jac = shape_jacobians(g1=[0.0], g2=[0.0], q=[0.5], beta=[np.pi / 2])[0]
>>> bool(np.isclose(np.linalg.det(jac), 1.0))         # the galaxy's area is kept
True
>>> import galsim                   # a round galaxy becomes the ellipse of that shear
>>> shear = galsim.Shear(q=0.5, beta=90 * galsim.degrees).getMatrix()
>>> bool(np.allclose(jac @ jac.T, shear @ shear))
True
"""
import numpy as np

from ..core.errors import InputError

__all__ = ["check_shapes", "measured_shapes", "measured_moments", "shape_jacobians",
           "profile_shape", "axis_ratios", "resamples_well", "RESAMPLED_MINOR_SIGMA"]

# HSM's first guesses of the weight's sigma (pixels), tried in turn: its default, then
# the sizes of large and of small galaxies (an elongated galaxy can fail from one start and
# converge from another).
_GUESS_SIGMAS = (5.0, 12.0, 2.0)

# A galaxy whose adaptive moments' sigma is below this (pixels) is measured again on its
# profile drawn _OVERSAMPLING times finer.
_FINE_BELOW = 2.0
_OVERSAMPLING = 3
# ... on the central _FINE_SIDE pixels about its centroid (12 pixels, six such sigmas, each
# side: the weight leaves nothing beyond).
_FINE_SIDE = 24

#: The smallest minor-axis sigma (the model's pixels) of a mapped galaxy that the default
#: map resamples; a galaxy squeezed below it is mapped exactly, where resampling would
#: lose its shape (measured in ``docs/shapes.rst``, "Exact or resampled, galaxy by
#: galaxy").
RESAMPLED_MINOR_SIGMA = 1.0

# The smallest axis ratio a galaxy's own measured shape is taken to have (an edge-on disc's
# adaptive moments; below it the stretch would grow without bound).
_MIN_OWN_Q = 0.05


def check_shapes(q, beta, n, source="catalog", allow_missing=False):
    """Checked shape arrays of ``n`` rows, or None where a field is not given.

    Parameters
    ----------
    q, beta : array_like [n] or scalar, or None
        Axis ratios b/a in (0, 1]; position angles in degrees (any finite value, taken
        modulo 180).
    n : int
        Rows.
    source : str
        Where the values come from, for the messages (``"catalog"``, ``"YAML"``).
    allow_missing : bool
        Take NaN as a row that does not give the field (a YAML group whose objects set
        it for some objects only); otherwise NaN is refused.

    Returns
    -------
    q, beta : ndarray [n] of float64, or None
        ``beta`` in radians (NaN: not given, with ``allow_missing``).

    Raises
    ------
    InputError
        An axis ratio outside (0, 1], a non-finite position angle, or arrays of the wrong
        length.
    """
    out = []
    for name, values in (("q", q), ("beta", beta)):
        if values is None:
            out.append(None)
            continue
        try:
            values = np.broadcast_to(np.asarray(values, np.float64), (int(n),)).copy()
        except (TypeError, ValueError):
            raise InputError(f"{source} {name!r} must be numbers, one per row ({n}), got "
                             f"{np.asarray(values)!r:.80}") from None
        out.append(values)
    q, beta = out
    if q is not None:
        bad = np.flatnonzero(~((q > 0) & (q <= 1) | allow_missing & np.isnan(q)))
        if bad.size:
            raise InputError(f"{source} axis ratio 'q' must be in (0, 1] (b/a), got "
                             f"{q[bad[:5]].tolist()} in rows {bad[:5].tolist()}; drop the "
                             f"column to keep each galaxy's own shape")
    if beta is not None:
        bad = np.flatnonzero(~(np.isfinite(beta) | allow_missing & np.isnan(beta)))
        if bad.size:
            raise InputError(f"{source} position angle 'beta' (degrees) must be finite, got "
                             f"{beta[bad[:5]].tolist()} in rows {bad[:5].tolist()}")
        beta = np.radians(beta)
    return q, beta


def measured_shapes(images):
    """The adaptive-moment shape ``(g1, g2)`` of each image's light, ``[N, 2]``
    (:func:`measured_moments`' first two columns)."""
    return measured_moments(images)[:, :2]


def measured_moments(images):
    """The adaptive-moment shape and size of each image's light, as GalSim's HSM measures it.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Noiseless stamps, flux per pixel (any pixel scale: a shape has no unit).

    Returns
    -------
    ndarray [N, 3]
        ``(g1, g2, sigma)``: ``galsim.hsm.FindAdaptiveMom``'s observed shape and its
        weight's sigma in the images' pixels (from the first of a few starting sizes it
        converges from; for a galaxy whose sigma is below 2 pixels, on its interpolated
        profile drawn 3 times finer, where the pixels no longer move the shape).  Where HSM
        does not converge (a stamp whose light is not one blob), the unweighted second
        moments of its positive light and a sigma of 0; ``(0, 0, 0)`` for a stamp
        without positive light.
    """
    import galsim

    images = np.asarray(images, np.float64)
    out = np.zeros((len(images), 3))
    for i, array in enumerate(images):
        moments = _adaptive_moments(galsim.Image(array, scale=1.0))
        scale = 1.0
        if moments is not None and moments.moments_sigma < _FINE_BELOW:
            # a galaxy of a few pixels: its moments on the pixels depend on how its light
            # falls on them; measured on its interpolated profile drawn finer instead
            profile = galsim.InterpolatedImage(galsim.Image(array, scale=1.0),
                                               use_true_center=True, calculate_stepk=False,
                                               calculate_maxk=False)
            side = _OVERSAMPLING * min(len(array), _FINE_SIDE)
            centre = moments.moments_centroid - galsim.Image(array).true_center
            fine = profile.drawImage(nx=side, ny=side, scale=1.0 / _OVERSAMPLING,
                                     method="no_pixel", offset=-centre * _OVERSAMPLING)
            finer = _adaptive_moments(fine, moments.moments_sigma)
            moments, scale = (finer, 1.0 / _OVERSAMPLING) if finer else (moments, 1.0)
        out[i] = ((moments.observed_shape.g1, moments.observed_shape.g2,
                   moments.moments_sigma * scale)
                  if moments is not None else (*_unweighted_shape(array), 0.0))
    return out


def resamples_well(sigma, g1, g2, q=None):
    """Whether the resampled map keeps a galaxy's shape: its minor axis after the map,
    ``sigma * sqrt(q)`` (``sigma``: its adaptive moments' in the model's pixels; ``q``: the
    axis ratio it is given, its own ``(g1, g2)``'s where NaN or None), is at least
    :data:`RESAMPLED_MINOR_SIGMA` pixels.

    Examples
    --------
    >>> resamples_well([3.0, 3.0, 1.2], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0],
    ...                q=[0.5, 0.1, np.nan]).tolist()      # the last keeps its own q, 1
    [True, False, True]
    """
    _, _, given = _axis_ratios_given(g1, g2, q)
    return np.asarray(sigma, np.float64) * np.sqrt(given) >= RESAMPLED_MINOR_SIGMA


def _axis_ratios_given(g1, g2, q):
    """``(own q, own beta, the q given)`` of galaxies of shape ``(g1, g2)`` asked ``q``
    (NaN or None: their own, never below :data:`_MIN_OWN_Q`)."""
    own_q, own_beta = axis_ratios(g1, g2)
    own_q = np.maximum(own_q, _MIN_OWN_Q)
    given = own_q if q is None else np.where(np.isnan(q), own_q, np.asarray(q, np.float64))
    return own_q, own_beta, given


def _adaptive_moments(image, first=None):
    """``galsim.hsm.FindAdaptiveMom`` of an image from the first of ``first`` (the weight's
    sigma on the model's pixels) and :data:`_GUESS_SIGMAS` it converges from (times its
    oversampling), or None."""
    import galsim

    for sigma in ((first,) if first else ()) + _GUESS_SIGMAS:
        try:
            return galsim.hsm.FindAdaptiveMom(image, guess_sig=sigma / image.scale)
        except galsim.GalSimHSMError:
            continue
    return None


def _unweighted_shape(array):
    """``(g1, g2)`` of an image's positive light by unweighted second moments."""
    light = np.clip(np.nan_to_num(array), 0.0, None)
    total = light.sum()
    if not total > 0:
        return 0.0, 0.0
    y, x = np.indices(light.shape, dtype=np.float64)
    x -= (light * x).sum() / total
    y -= (light * y).sum() / total
    qxx, qyy, qxy = ((light * a * b).sum() / total for a, b in ((x, x), (y, y), (x, y)))
    # distortion e = (qxx - qyy, 2 qxy) / (qxx + qyy); reduced shear g = e / (1 + sqrt(1 - e^2))
    e1, e2 = (qxx - qyy) / (qxx + qyy), 2 * qxy / (qxx + qyy)
    e = min(np.hypot(e1, e2), 0.999)
    scale = 1.0 / (1.0 + np.sqrt(1.0 - e * e))
    return e1 * scale, e2 * scale


def shape_jacobians(g1, g2, q=None, beta=None, turn=None):
    """The area-keeping linear maps that give galaxies of shape ``(g1, g2)`` the shapes asked.

    Parameters
    ----------
    g1, g2 : array_like [N]
        Each galaxy's own shape (reduced shear, :func:`measured_shapes`).
    q : array_like [N], optional
        Axis ratios asked; NaN or None keeps the galaxy's own.
    beta : array_like [N], optional
        Position angles asked, radians (as :func:`check_shapes` gives them); NaN or None
        keeps the galaxy's own angle turned by ``turn``.
    turn : array_like [N], optional
        Radians a row that does not give ``beta`` is turned by (its random position
        angle); default 0.

    Returns
    -------
    ndarray [N, 2, 2]
        ``T`` per galaxy, ``[[dudx, dudy], [dvdx, dvdy]]`` as ``galsim.Transform`` takes
        it; ``det T = 1``.
    """
    own_q, own_beta, q = _axis_ratios_given(g1, g2, q)
    n = len(own_q)
    turn = np.zeros(n) if turn is None else np.asarray(turn, np.float64)
    beta = np.full(n, np.nan) if beta is None else np.asarray(beta, np.float64)
    beta = np.where(np.isnan(beta), own_beta + turn, beta)
    stretch = np.sqrt(own_q / q)
    return _rotations(beta) @ _diagonal(stretch, 1.0 / stretch) @ _rotations(-own_beta)


def _rotations(angles):
    """``[N, 2, 2]`` counter-clockwise rotation matrices."""
    c, s = np.cos(angles), np.sin(angles)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def _diagonal(a, b):
    """``[N, 2, 2]`` diagonal matrices."""
    out = np.zeros((len(a), 2, 2))
    out[:, 0, 0], out[:, 1, 1] = a, b
    return out


def profile_shape(profile, stamp_size, pixel_scale):
    """``(q, beta in radians)`` of a profile's adaptive moments as the engine measures a
    stamp's (:func:`measured_shapes` of it drawn without a pixel on a model's grid of
    ``stamp_size`` pixels of ``pixel_scale`` arcsec): the shape a mapped galaxy is given."""
    image = profile.drawImage(nx=int(stamp_size), ny=int(stamp_size), scale=pixel_scale,
                              method="no_pixel").array
    q, beta = axis_ratios(*measured_shapes(image[None])[0])
    return max(float(q), 1e-3), float(beta)


def axis_ratios(g1, g2):
    """``(q, beta in radians)`` of reduced shears ``(g1, g2)``: the axis ratio
    ``(1 - |g|) / (1 + |g|)`` (``|g|`` kept below 1) and the major axis' angle, as
    ``galsim.Shear(g1=, g2=)`` has them; arrays (or scalars) like ``g1``."""
    g = np.asarray(g1, np.float64) + 1j * np.asarray(g2, np.float64)
    size = np.minimum(np.abs(g), 1.0 - 1e-9)
    return (1.0 - size) / (1.0 + size), 0.5 * np.angle(g)
