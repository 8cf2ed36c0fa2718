"""The draws rule: object seed -> latent normals and position angle.

One rule, whichever way a galaxy is asked for:

1. each catalog row has an **object seed**.  For ``rng=S`` (an int) it is the
   seed GalSim's config gives object number ``row`` of a file whose
   ``image.random_seed`` is ``S``: ``galsim.BaseDeviate(S).raw() + row + 1``
   (:func:`object_seeds`).  A YAML galaxy uses its object's own seed, so the
   API's row ``i`` and the YAML's object ``i`` are the same galaxy;
   ``galsim-deep field render`` uses the catalog row, the BTK generator a seed per
   blend entry (its ``gd_seed`` column).
2. the object seed seeds a NumPy generator on a stream of its own (the seed
   and a tag, through ``numpy.random.SeedSequence``), which draws the
   galaxy's ``latent_size`` standard normals, then its position angle,
   uniform in [0, 2 pi) (:func:`galaxy_draws`), then, for a module that ships the
   catalog's population of shapes, the uniform number its axis ratio is drawn
   with (:func:`shape_uniforms`).  The stream is not GalSim's
   object RNG, so the morphology is independent of what a config draws from
   that RNG (positions, PSF, conditions), and the normals are the same with
   or without rotation.

A galaxy therefore depends only on its object seed and its conditions, not on
the batch size, the block it falls in, ``nproc`` or the caller.
"""
import math

import numpy as np

from ..core.errors import InputError, InputTypeError

__all__ = ["SEED_FOR_ZERO", "as_deviate", "object_seeds", "galaxy_draws", "shape_uniforms",
           "normal_cdf"]

#: The GalSim seed used for the int seed 0 (``galsim.BaseDeviate(0)`` would seed
#: itself from the clock).
SEED_FOR_ZERO = 0x5EED0

# Mixed into every galaxy's stream: the morphology draws are independent of GalSim's
# object RNG seeded with the same object seed.
_STREAM_TAG = 0x9A1D


def as_deviate(rng):
    """Return a ``galsim.BaseDeviate`` for ``rng``.

    Parameters
    ----------
    rng : None, int or galsim.BaseDeviate
        A deviate is used as is (and advanced); an int seeds a new one
        (``galsim.BaseDeviate(seed)``; 0 is a seed like any other here, mapped
        to :data:`SEED_FOR_ZERO`, where GalSim itself would read the clock);
        None seeds one from the system's entropy (not reproducible).
    """
    import galsim

    if rng is None:
        return galsim.BaseDeviate()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return galsim.BaseDeviate(int(rng) if rng != 0 else SEED_FOR_ZERO)
    if isinstance(rng, galsim.BaseDeviate):
        return rng
    raise InputTypeError(f"rng must be None, an int seed, a galsim.BaseDeviate or one int "
                         f"seed per row, got {type(rng).__name__}")


def object_seeds(rng, n, rows=None):
    """Object seeds of the rows ``0 .. n-1`` of a call (or of the given ``rows``).

    Parameters
    ----------
    rng : None, int, galsim.BaseDeviate, or array_like of int [n]
        An int ``S`` gives GalSim config's seeds of objects ``0 .. n-1`` for
        ``image.random_seed: S`` (``galsim.BaseDeviate(S).raw() + row + 1``);
        a deviate gives the same with its next raw value (and advances by
        one draw, none for ``n = 0``); None seeds from the system's entropy;
        an array is one object seed per row, used as given.
    n : int
        Rows.
    rows : array_like of int [n], optional
        The catalog rows (object numbers) of the ``n`` rows, if not ``0 .. n-1``
        (ignored for an array ``rng``).

    Returns
    -------
    ndarray [n]
        int64 object seeds.
    """
    if isinstance(rng, (list, tuple, np.ndarray)):
        seeds = np.asarray(rng)
        if seeds.ndim != 1 or (seeds.size and seeds.dtype.kind not in "iu"):
            raise InputTypeError(f"per-row seeds must be a 1-d array of ints, got "
                                 f"{seeds.dtype} of shape {seeds.shape}")
        if len(seeds) != n:
            raise InputError(f"{len(seeds)} seeds for {n} rows: give one object seed per row")
        return seeds.astype(np.int64)
    deviate = as_deviate(rng)
    if int(n) == 0:
        return np.zeros(0, np.int64)
    first = deviate.raw()
    rows = np.arange(int(n), dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    return first + 1 + rows


def galaxy_draws(seeds, latent_size):
    """Latent normals and position angles of galaxies, each from its object seed.

    Parameters
    ----------
    seeds : array_like of int [N]
        Object seeds (:func:`object_seeds`).
    latent_size : int
        Normals per galaxy.

    Returns
    -------
    normals : ndarray [N, latent_size]
        float32 standard normals.
    angles : ndarray [N]
        float64 position angles, radians, uniform in [0, 2 pi), drawn after
        the normals (used by rotated sampling; the normals do not depend on
        them).
    """
    seeds = np.asarray(seeds, dtype=np.int64)
    normals = np.empty((len(seeds), int(latent_size)), np.float32)
    angles = np.empty(len(seeds))
    for i, seed in enumerate(seeds.tolist()):
        gen = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, _STREAM_TAG])
        normals[i] = gen.standard_normal(int(latent_size))
        angles[i] = gen.uniform(0.0, 2.0 * np.pi)
    return normals, angles


def shape_uniforms(seeds, latent_size):
    """Each galaxy's uniform number in [0, 1) for an axis ratio drawn from a module's
    population of shapes (:mod:`~galsim_deep.engine.shape_prior`): the draw after its
    position angle on its stream, so its normals and angle are those of
    :func:`galaxy_draws`, with or without it.

    Parameters
    ----------
    seeds : array_like of int [N]
        Object seeds.
    latent_size : int
        The module's normals per galaxy (drawn first on the stream).

    Returns
    -------
    ndarray [N]
        float64.
    """
    seeds = np.asarray(seeds, dtype=np.int64)
    out = np.empty(len(seeds))
    for i, seed in enumerate(seeds.tolist()):
        gen = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, _STREAM_TAG])
        gen.standard_normal(int(latent_size))
        gen.uniform(0.0, 2.0 * np.pi)
        out[i] = gen.uniform()
    return out


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def normal_cdf(x):
    """The standard normal's cumulative distribution, float64, elementwise.

    ``Phi(x) = erfc(-x / sqrt(2)) / 2`` through the standard library's ``erfc``, which
    keeps its relative precision in the far lower tail; it stands in for
    ``scipy.special.ndtr`` (the same to 1e-13, relative), whose import alone takes a third
    of a second of a fresh process's first galaxy.

    Parameters
    ----------
    x : array_like
        Standard normal deviates.

    Returns
    -------
    numpy.ndarray
        ``Phi(x)`` in [0, 1], float64, the shape of ``x``.

    Examples
    --------
    >>> normal_cdf([0.0, 1.0, -8.0]).round(6).tolist()
    [0.5, 0.841345, 0.0]
    >>> bool(normal_cdf(-8.0) > 0)
    True
    """
    x = np.asarray(x, np.float64)
    return np.asarray(_ERFC(-x / math.sqrt(2.0)), np.float64) / 2.0
