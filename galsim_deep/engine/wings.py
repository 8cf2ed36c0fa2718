"""Wings that continue past the stamp: each generated galaxy's own outer profile, carried on.

A decoder trained through a PSF and noise learns a galaxy's light where the training stamps
constrain it, out to two or three half-light radii.  Beyond that its light falls faster than
a galaxy's (and it may leave a faint pedestal out to the stamp's corners), and the stamp
itself ends at its edge, where a rotated galaxy would show a straight edge.  A module's
optional metadata entry ``wings`` (``docs/module_format.rst``) replaces that outer light by
an analytic continuation of the galaxy's own profile, drawn on the larger grid the engine
renders rotated galaxies on (:func:`~galsim_deep.engine.profiles.rotated_size`):

* :func:`wing_parameters` - per image, its shape (axis ratio and position angle of its
  light's second moments), its half-light radius in the elliptical radius, and an
  exponential in that radius fitted to its surface brightness where the network is
  reliable, between ``fit_from`` and ``match_radius`` half-light radii;
* :func:`core_images` - each image with its light beyond the matching radius faded out
  (a raised cosine in the elliptical radius);
* :func:`paint_wings` - the exponential tail beyond the matching radius, faded in where the
  core fades out (the two add to the profile there), on a grid of any side and turned by
  each galaxy's angle, tapered to zero before the grid's inscribed circle so that no
  straight edge shows at any angle;
* :func:`render_with_wings` - all three for a block of stamps, turned or not, each keeping
  its flux;
* :class:`StampWings` - a module's wings, read from its metadata (:func:`module_wings`);
* :func:`wings_entry` - the metadata entry.

The tail adds light the network left out beyond the matching radius; each galaxy is then
rescaled to its network's total flux, so the wings move light outward without changing a
flux.
"""
import functools

import numpy as np

from ..core.errors import InputError
from ..core.module_format import WINGS_DEFAULTS, wings_problems
from .profiles import rotate_stamps, rotated_size

__all__ = ["wing_parameters", "core_images", "paint_wings", "render_with_wings", "StampWings",
           "module_wings", "wings_entry", "WINGS_DEFAULTS"]


# The light the moments and the half-light radius are measured on: inside this share of the
# stamp's inscribed radius (a network's pedestal lies beyond it).
_MEASURE_RADIUS = 0.9
# The smallest axis ratio the elliptical radius uses (an edge-on disk's moments).
_MIN_AXIS_RATIO = 0.2
# The core must end inside the stamp's inscribed circle, this many pixels within it.
_CORE_MARGIN = 1.0


def _grid(side):
    """Pixel offsets ``(x, y)`` from a ``side``-pixel grid's true centre."""
    offset = np.arange(int(side), dtype=np.float64) - (int(side) - 1) / 2.0
    return offset[None, :], offset[:, None]


@functools.lru_cache(maxsize=8)
def _quadratic_terms(side):
    """``[x^2, x y, y^2]`` of every pixel of a ``side``-pixel grid, ``[3, side * side]``
    float32 (exact: quarter-pixel multiples): an elliptical radius over all pixels is then
    one matrix product."""
    x, y = _grid(side)
    x, y = np.broadcast_arrays(x, y)
    terms = np.stack([x * x, x * y, y * y]).reshape(3, -1).astype(np.float32)
    terms.flags.writeable = False
    return terms


def _elliptical_radius(side, q, phi):
    """The circularised elliptical radius ``sqrt(q x'^2 + y'^2 / q)`` (pixels) of every pixel
    of a ``side``-pixel grid, ``[N, side * side]`` float32; ``x'`` lies along the major axis
    at ``phi`` (radians from +x, counter-clockwise); ``q``, ``phi`` [N].

    ``x'`` and ``y'`` are a rotation of ``(x, y)``, so the square is the quadratic form
    ``a x^2 + b x y + c y^2`` with one ``(a, b, c)`` per galaxy."""
    q, phi = (np.asarray(v, np.float64).reshape(-1) for v in (q, phi))
    c, s = np.cos(phi), np.sin(phi)
    form = np.stack([q * c * c + s * s / q, 2 * c * s * (q - 1 / q), q * s * s + c * c / q], 1)
    square = form.astype(np.float32) @ _quadratic_terms(side)
    return np.sqrt(np.maximum(square, 0.0, out=square), out=square)


def _raised_cosine(t):
    """0 below ``t = 0``, 1 above ``t = 1``, a raised cosine between."""
    return 0.5 * (1.0 - np.cos(np.pi * np.clip(t, 0.0, 1.0)))


@functools.lru_cache(maxsize=8)
def _measure_mask(side):
    """1 inside the share :data:`_MEASURE_RADIUS` of the grid's inscribed radius, else 0,
    ``[side * side]``: the light the moments and the half-light radius are measured on."""
    x, y = _grid(side)
    mask = (np.hypot(x, y) < _MEASURE_RADIUS * side / 2).astype(np.float64).reshape(-1)
    mask.flags.writeable = False
    return mask


@functools.lru_cache(maxsize=8)
def _edge_taper(side, edge_margin):
    """1 inside, falling to 0 (a raised cosine over 4 pixels) ``edge_margin`` pixels inside
    the grid's inscribed circle, ``[side * side]`` float32."""
    x, y = _grid(side)
    edge = side / 2.0 - edge_margin
    taper = (1.0 - _raised_cosine((np.hypot(x, y) - (edge - 4.0)) / 4.0)).astype(np.float32)
    taper = taper.reshape(-1)
    taper.flags.writeable = False
    return taper


# The half-light radius is found first to a bin of this width (pixels), then exactly
# among that bin's pixels.
_HALF_LIGHT_BIN = 0.5


def _half_light_radius(rho, light, total):
    """Per row, the smallest ``rho`` that encloses half the row's ``light`` (``total`` is its
    sum): the radius where the light summed outward in ``rho`` reaches half.  A row without
    light gets its smallest ``rho``.

    Exact, without sorting every pixel: the light is summed in bins of ``rho`` to find the
    bin where half is reached, and only that bin's pixels are sorted.

    Parameters
    ----------
    rho, light : ndarray [N, P]
        Radii (pixels) and light (non-negative) of each row's pixels.
    total : ndarray [N]

    Returns
    -------
    ndarray [N]
        Pixels.
    """
    n = len(rho)
    if rho.size == 0:
        return np.zeros(n)
    bins = (rho / _HALF_LIGHT_BIN).astype(np.int64)
    n_bins = int(bins.max()) + 1
    slot = (bins + (np.arange(n) * n_bins)[:, None]).reshape(-1)
    grown = np.cumsum(np.bincount(slot, light.reshape(-1), minlength=n * n_bins)
                      .reshape(n, n_bins), axis=1)
    half = 0.5 * total
    crossing = np.minimum((grown < half[:, None]).sum(axis=1), n_bins - 1)
    before = np.where(crossing > 0, grown[np.arange(n), crossing - 1], 0.0)
    rows, cols = np.nonzero(bins == crossing[:, None])
    r, weights = rho[rows, cols], light[rows, cols]
    order = np.lexsort((r, rows))
    rows, r, weights = rows[order], r[order], weights[order]
    grown_in_bin = np.cumsum(weights)
    first = np.searchsorted(rows, rows)  # each pixel's row's first pixel in this order
    grown_in_bin -= (grown_in_bin[first] - weights[first])
    reached = before[rows] + grown_in_bin >= half[rows]
    out = np.full(n, np.inf)
    np.minimum.at(out, rows, np.where(reached, r, np.inf))
    last = np.full(n, -np.inf)  # rounding left half unreached: the bin's outermost pixel
    np.maximum.at(last, rows, r)
    out = np.where(np.isfinite(out), out, last)
    return np.where(total > 0, out, rho.min(axis=1))


def wing_parameters(images, match_radius=2.5, fit_from=1.5, min_scale=0.5, max_scale=1.3,
                    blend=0.2):
    """Each image's shape, half-light radius and the exponential its tail continues.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Unrotated stamps, flux per pixel, centred on the stamp's true centre.
    match_radius, fit_from : float
        The tail replaces the image beyond ``match_radius`` half-light radii; its slope
        and level are fitted between ``fit_from`` and ``match_radius`` (in the elliptical
        radius).
    min_scale, max_scale : float
        Bounds of the tail's scale length, in half-light radii.
    blend : float
        Width of the blend from core to tail, in matching radii.

    Returns
    -------
    dict of ndarray [N]
        ``q`` (axis ratio), ``phi`` (radians), ``r50`` (half-light elliptical radius,
        pixels), ``match`` (matching radius, pixels: at most where the blended core still
        ends inside the stamp's inscribed circle), ``level`` (surface brightness of the
        tail at ``match``, flux per pixel), ``scale`` (its scale length, pixels).  A row
        without positive light gets ``level`` 0 (no tail).
    """
    images = np.asarray(images, np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise InputError(f"wings need square stamps [N, S, S], got shape {images.shape}")
    n, size = len(images), images.shape[-1]
    values = np.nan_to_num(images).reshape(n, size * size)
    light = np.maximum(values, 0.0)
    light *= _measure_mask(size)
    total = light.sum(axis=1)
    ok = total > 0
    # Second moments, every image at once: [N, P] @ [P, 3] gives the sums of x^2, xy, y^2.
    moments = light @ _quadratic_terms(size).T.astype(np.float64)
    qxx, qxy, qyy = moments.T / np.where(ok, total, 1.0)
    trace = np.where(qxx + qyy > 0, qxx + qyy, 1.0)
    e = np.clip(np.hypot(qxx - qyy, 2 * qxy) / trace, 0.0, 0.999)
    q = np.clip(np.sqrt((1 - e) / (1 + e)), _MIN_AXIS_RATIO, 1.0)
    phi = 0.5 * np.arctan2(2 * qxy, qxx - qyy)
    rho = _elliptical_radius(size, q, phi)
    r50 = np.maximum(_half_light_radius(rho, light, total), 0.5)
    # The core (out to match * (1 + blend)) must end inside the stamp on the major axis.
    largest = (size / 2 - _CORE_MARGIN) * np.sqrt(q) / (1 + blend)
    match = np.clip(match_radius * r50, 1.0, largest)
    start = np.minimum(fit_from * r50, 0.7 * match)
    # Annulus means of the surface brightness (unclipped light) in 1-pixel bins of rho, every
    # image at once (bin b of image i is bincount slot i * n_bins + b).
    rows, cols = np.nonzero((rho >= start[:, None]) & (rho <= match[:, None]) & ok[:, None])
    radii = rho[rows, cols].astype(np.float64)
    bins = np.floor(radii - start[rows]).astype(np.int64)
    n_bins = int(bins.max()) + 1 if len(bins) else 1
    slot = rows * n_bins + bins

    def per_bin(weights=None):
        return np.bincount(slot, weights, minlength=n * n_bins).reshape(n, n_bins)

    counts = per_bin()
    means = per_bin(values[rows, cols]) / np.maximum(counts, 1)
    centres = per_bin(radii) / np.maximum(counts, 1)
    good = (counts > 0) & (means > 0)
    # Least squares of log(mean) on the bins' mean radius, each bin weighted by its pixels.
    w = np.where(good, counts, 0.0)
    total_w = np.maximum(w.sum(axis=1), 1e-300)
    log_means = np.log(np.where(good, means, 1.0))
    x_mean = (w * centres).sum(axis=1) / total_w
    y_mean = (w * log_means).sum(axis=1) / total_w
    dx = centres - x_mean[:, None]
    spread = (w * dx ** 2).sum(axis=1)
    slope = (w * dx * (log_means - y_mean[:, None])).sum(axis=1) / np.where(spread > 0, spread, 1)
    lo, hi = min_scale * r50, max_scale * r50
    fitted = good.sum(axis=1) >= 2
    h = np.clip(np.where(slope < 0, -1.0 / np.where(slope < 0, slope, -1.0), hi), lo, hi)
    # The level at the matching radius: the fitted line's mean point, carried on by h.
    level = np.where(fitted, np.exp(y_mean - (match - x_mean) / h), 0.0)
    scale = np.where(fitted, h, 0.0)
    single = good.any(axis=1) & ~fitted  # one good bin: its level, the steepest tail
    last = n_bins - 1 - np.argmax(good[:, ::-1], axis=1)
    level = np.where(single, means[np.arange(n), last], level)
    scale = np.where(single, lo, scale)
    return {"q": q, "phi": phi, "r50": r50, "match": match, "level": level, "scale": scale}


def core_images(images, params, blend=0.2):
    """The images with their light beyond the matching radius faded out.

    Parameters
    ----------
    images : ndarray [N, S, S]
    params : dict
        :func:`wing_parameters` of the images.
    blend : float
        The fade's width, in matching radii (a raised cosine from ``match`` to
        ``match * (1 + blend)``).

    Returns
    -------
    ndarray [N, S, S]
        float32.
    """
    images = np.asarray(images, np.float32)
    n, size = len(images), images.shape[-1]
    rho = _elliptical_radius(size, params["q"], params["phi"])
    match = params["match"][:, None]
    fade = _raised_cosine((rho - match.astype(np.float32)) / (blend * match).astype(np.float32))
    return images * (1.0 - fade).reshape(n, size, size)


def paint_wings(side, params, angles=None, blend=0.2, edge_margin=2.0):
    """The exponential tails on a grid, beyond each galaxy's matching radius.

    Parameters
    ----------
    side : int
        Pixels on a side of the grid (centred on the stamp's true centre).
    params : dict
        :func:`wing_parameters`.
    angles : array_like [N], optional
        Turn each tail by this angle (radians, counter-clockwise), as the galaxy's core is
        turned.
    blend : float
        As :func:`core_images`: the tail fades in where the core fades out.
    edge_margin : float
        The tail fades to zero (a raised cosine over 4 pixels) ending this many pixels
        inside the grid's inscribed circle.

    Returns
    -------
    ndarray [N, side, side]
        float32 flux per pixel.
    """
    n = len(params["q"])
    phi = params["phi"] + (0.0 if angles is None else np.asarray(angles, np.float64))
    match = params["match"][:, None]
    beyond = _elliptical_radius(side, params["q"], phi)
    beyond -= match.astype(np.float32)
    scale = np.where(params["scale"] > 0, params["scale"], 1.0)[:, None]
    tail = np.exp(beyond * (-1.0 / scale).astype(np.float32))
    tail *= params["level"][:, None].astype(np.float32)
    tail *= _raised_cosine(beyond / (blend * match).astype(np.float32))
    tail *= _edge_taper(int(side), float(edge_margin))
    return tail.reshape(n, side, side)


class StampWings:
    """A module's wings (its metadata entry ``wings``), computed from its unrotated stamps.

    Parameters
    ----------
    **settings
        Those of :data:`WINGS_DEFAULTS`.
    """

    def __init__(self, **settings):
        unknown = sorted(set(settings) - set(WINGS_DEFAULTS))
        if unknown:
            raise InputError(f"unknown wings settings {unknown}; known: {list(WINGS_DEFAULTS)}")
        self.settings = {**WINGS_DEFAULTS, **{k: float(v) for k, v in settings.items()}}

    def __repr__(self):
        s = self.settings
        return (f"StampWings(exponential beyond {s['match_radius']:g} half-light radii, fitted "
                f"from {s['fit_from']:g})")

    def parameters(self, stamps):
        """:func:`wing_parameters` of unrotated stamps with this entry's settings."""
        s = self.settings
        return wing_parameters(stamps, s["match_radius"], s["fit_from"], s["min_scale"],
                               s["max_scale"], s["blend"])

    def cores(self, stamps, params):
        """:func:`core_images` with this entry's blend."""
        return core_images(stamps, params, self.settings["blend"])

    def tails(self, side, params, angles=None):
        """:func:`paint_wings` with this entry's blend and edge margin."""
        return paint_wings(side, params, angles, self.settings["blend"],
                           self.settings["edge_margin"])


def render_with_wings(wings, stamps, angles, turn):
    """Stamps with their wings on the rotated grid ``[N, R, R]`` (``R``:
    :func:`~galsim_deep.engine.profiles.rotated_size`), each rescaled to its stamp's total.

    Parameters
    ----------
    wings : StampWings
    stamps : ndarray [N, S, S]
        Unrotated stamps, flux per pixel.
    angles : array_like [N]
        Radians, counter-clockwise.
    turn : array_like of bool [N]
        Rows whose core is turned by resampling
        (:func:`~galsim_deep.engine.profiles.rotate_stamps`) and whose tail is painted at
        their angle; the others are placed unturned (an exact rotation turns the whole
        grid later, or no rotation at all).

    Returns
    -------
    ndarray [N, R, R]
        float32.
    """
    stamps = np.asarray(stamps, np.float32)
    n, size = len(stamps), stamps.shape[-1]
    side = rotated_size(size)
    angles = np.asarray(angles, np.float64).reshape(n)
    turn = np.asarray(turn, bool).reshape(n)
    params = wings.parameters(stamps)
    cores = wings.cores(stamps, params)
    out = wings.tails(side, params, np.where(turn, angles, 0.0))
    if turn.any():
        out[turn] += rotate_stamps(cores[turn], angles[turn])
    margin = (side - size) // 2  # even sides: the same true centre
    if not turn.all():
        out[~turn, margin:margin + size, margin:margin + size] += cores[~turn]
    total = stamps.reshape(n, size * size).sum(axis=1, dtype=np.float64)
    got = out.reshape(n, side * side).sum(axis=1, dtype=np.float64)
    scale = np.divide(total, got, out=np.ones(n), where=got > 0)
    out *= scale[:, None, None].astype(np.float32)
    return out


def module_wings(metadata):
    """A module's :class:`StampWings`, or None where its metadata has no ``wings`` entry."""
    entry = metadata.get("wings")
    if entry is None:
        return None
    return StampWings(**{k: v for k, v in entry.items() if k not in ("profile", "unit")})


def wings_entry(**settings):
    """The metadata entry ``wings`` (``docs/module_format.rst``): ``profile``
    ``exponential``, ``unit`` ``half_light_radius`` and each setting of
    :data:`WINGS_DEFAULTS` (the defaults, or those given)."""
    entry = {"profile": "exponential", "unit": "half_light_radius",
             **StampWings(**settings).settings}
    problems = wings_problems(entry)
    if problems:
        raise InputError("; ".join(problems))
    return entry
