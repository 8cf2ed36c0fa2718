"""Mock-COSMOS galaxies one by one: their conditions, their profiles and the seeding rule.

Galaxy ``i`` of a build with seed ``seed`` is drawn with :func:`galaxy_rng`
``(seed, i)``, first its conditions ``(mag_auto, flux_radius, zphot)`` from a
population (:mod:`galsim_deep.data.population`), re-drawn until
``flux_radius`` fits the stamp (:func:`default_max_flux_radius`), then its
structure and profile (:func:`make_mock_galaxy`,
:mod:`galsim_deep.data.morphology`).  :func:`sample_conditions` returns the
conditions of a build's galaxies and :func:`make_galaxy` its truth profile for
given conditions, without building a dataset.

The ``mock-cosmos`` builder source that draws, observes and stores them is
:class:`galsim_deep.data.mock_cosmos.MockCosmosSource`; every public name of
this module is re-exported by :mod:`galsim_deep.data.mock_cosmos`, its public
path (see that module for the whole drawing order).
"""
import numpy as np

from .format import CONDITIONS, COSMOS_PIXEL_SCALE, flux_from_mag
from .morphology import build_galaxy
from .population import get_population
from ..core.errors import InputError, InputTypeError

__all__ = ["sample_conditions", "first_inside", "make_galaxy", "make_mock_galaxy", "galaxy_rng",
           "default_max_flux_radius", "sample_shapes"]

#: Largest flux_radius, as a fraction of the stamp width, that the default selection accepts.
MAX_FLUX_RADIUS_FRACTION = 0.25


def galaxy_rng(seed, index):
    """The random generator of galaxy ``index`` in a build with ``seed``.

    Returns
    -------
    numpy.random.Generator
        ``default_rng(SeedSequence([seed, index]))``.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def default_max_flux_radius(stamp_size, pixel_scale):
    """Default selection: the largest ``flux_radius`` (pixels of 0.03 arcsec) for a stamp.

    A quarter of the stamp width: ``0.25 * stamp_size * pixel_scale / 0.03``
    (16 pixels = 0.48 arcsec for 64 x 64 stamps at 0.03 arcsec/pixel, where a
    galaxy's light out to about 2 x its observed half-light radius stays in the stamp;
    32 pixels = 0.96 arcsec for 64 x 64 stamps at 0.06 arcsec/pixel, which keep 99.4% of
    the ``'cosmos-25.2'`` population).
    """
    return MAX_FLUX_RADIUS_FRACTION * stamp_size * pixel_scale / COSMOS_PIXEL_SCALE


def _as_generator(rng):
    import galsim

    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, galsim.BaseDeviate):
        return np.random.default_rng(int(rng.raw()))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(np.random.SeedSequence(int(rng)))
    raise InputTypeError(f"rng must be a numpy.random.Generator, a galsim.BaseDeviate or an int seed, "
                    f"got {type(rng).__name__}: pass e.g. numpy.random.default_rng(42)")


def _check_positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def first_inside(draw, keep, n, what):
    """The first ``n`` rows of a mock catalog that ``keep``: ``draw(m)`` is drawn for
    ``m = n, 4n, 16n, 64n`` (a catalog of ``m`` rows, the same first rows whatever ``m``,
    as :func:`sample_conditions`) until ``n`` of its rows pass.

    Parameters
    ----------
    draw : callable
        ``draw(m) -> astropy.table.Table`` of ``m`` rows.
    keep : callable
        ``keep(table) -> ndarray of bool``: the rows to keep (e.g. inside a model's
        training ranges).
    n : int
    what : str
        What the rows must lie inside, for the error.

    Raises
    ------
    InputError
        When fewer than ``n`` of ``64 n`` rows pass.
    """
    drawn = int(n)
    while True:
        cat = draw(drawn)
        cat = cat[keep(cat)]
        if len(cat) >= n:
            return cat[:n]
        if drawn >= 64 * n:
            raise InputError(f"only {len(cat)} of {drawn} mock-COSMOS galaxies lie inside "
                             f"{what}; use a catalog of your own (or another model)")
        drawn *= 4


def sample_conditions(n, seed, stamp_size=64, pixel_scale=COSMOS_PIXEL_SCALE,
                      max_flux_radius=None, deep=False, population=None):
    """Draw the conditions of ``n`` mock-COSMOS galaxies.

    Parameters
    ----------
    n : int
        Number of galaxies.
    seed : int
        Seed; galaxy ``i`` uses :func:`galaxy_rng` ``(seed, i)``, so the result equals
        the conditions of a ``mock-cosmos`` build with the same seed and selection.
    stamp_size : int, optional
        Stamp size (pixels) that sets the default selection (default 64).
    pixel_scale : float, optional
        arcsec/pixel of those stamps (default 0.03).
    max_flux_radius : float, optional
        Largest ``flux_radius`` in pixels of 0.03 arcsec (default:
        :func:`default_max_flux_radius`).
    deep : bool, optional
        Legacy: ``population='great3-deep'`` (1.5 mag fainter, 0.6 x smaller).
    population : str, optional
        ``'cosmos-example'`` (default), ``'cosmos-25.2'`` or ``'great3-deep'``
        (:mod:`galsim_deep.data.population`).

    Returns
    -------
    astropy.table.Table
        Columns ``mag_auto`` (AB mag), ``flux_radius`` (pixels of 0.03 arcsec),
        ``zphot``, float64, with units and descriptions.
    """
    from astropy.table import Table

    n = _check_positive_int("n", n)
    seed = _check_positive_int("seed", seed, minimum=0)
    pop = get_population(deep, population)
    fr_max = (default_max_flux_radius(stamp_size, pixel_scale) if max_flux_radius is None
              else float(max_flux_radius))
    rows = np.array([pop.sample_conditions(galaxy_rng(seed, i), fr_max) for i in range(n)])
    t = Table()
    for j, name in enumerate(CONDITIONS):
        unit, description = CONDITIONS[name]
        t[name] = rows[:, j]
        t[name].description = description
    t["mag_auto"].unit = "mag"
    t["flux_radius"].unit = "pix"
    t.meta.update(seed=seed, max_flux_radius=fr_max, deep=bool(deep), population=pop.name,
                  source="galsim_deep.data.mock_cosmos.sample_conditions")
    return t


def sample_shapes(n, seed, population="cosmos-25.2", progress=False, measure=None):
    """The conditions and catalog shapes of ``n`` mock galaxies: what a module's population
    of shapes is fitted to (:func:`galsim_deep.engine.shape_prior.fit_shape_prior`).

    Parameters
    ----------
    n : int
        Galaxies.
    seed : int
        Galaxy ``i``'s conditions come from :func:`galaxy_rng` ``(seed, i)`` (as
        :func:`sample_conditions`), its structure from ``(seed + 1, i)``.
    population : str
        The mock population (:mod:`galsim_deep.data.population`).
    progress : bool
        Show a progress bar.
    measure : callable, optional
        ``profile -> (q, beta in radians)``: the shapes are instead each truth's as it
        measures them (``galsim-deep hub shape-prior`` passes the adaptive moments the
        engine gives a mapped galaxy, :func:`galsim_deep.engine.shapes.measured_shapes`).

    Returns
    -------
    dict of str -> ndarray [n]
        ``mag_auto``, ``flux_radius``, ``zphot``, and ``q`` and ``beta`` (degrees): the
        single-Sersic approximation's axis ratio and position angle (the datasets'
        ``parametric`` row), or with ``measure`` the truth's own.
    """
    from tqdm import tqdm

    table = sample_conditions(n, seed=seed, population=population)
    out = {c: np.asarray(table[c], np.float64) for c in CONDITIONS}
    shapes = np.empty((n, 2))
    for i in tqdm(range(n), desc="mock shapes", disable=not progress):
        galaxy = make_mock_galaxy(*(out[c][i] for c in CONDITIONS), galaxy_rng(seed + 1, i),
                                  population=population)
        shapes[i] = galaxy.parametric[3:5] if measure is None else measure(galaxy.profile)
    out["q"], out["beta"] = shapes[:, 0], np.degrees(shapes[:, 1]) % 180.0
    return out


def make_mock_galaxy(mag_auto, flux_radius, zphot, rng, max_extent=0.9, deep=False,
                     gsparams=None, population=None):
    """The mock galaxy for given conditions, with its label and parametric description.

    Parameters
    ----------
    mag_auto : float
        F814W AB magnitude; sets the total flux (GalSim's COSMOS zero point 25.94).
    flux_radius : float
        pixels of 0.03 arcsec.
    zphot : float
        redshift.
    rng : numpy.random.Generator, galsim.BaseDeviate or int
        Randomness of the structure.
    max_extent : float, optional
        Radius (arcsec) inside which extended features are kept (default 0.9).
    deep : bool, optional
        Legacy: ``population='great3-deep'``.
    gsparams : galsim.GSParams, optional
        Applied to the profile.
    population : str, optional
        Population whose conditional structure is drawn (default ``'cosmos-example'``).

    Returns
    -------
    galsim_deep.data.morphology.MockGalaxy
    """
    rng = _as_generator(rng)
    for name, value in (("mag_auto", mag_auto), ("flux_radius", flux_radius), ("zphot", zphot)):
        if not np.isfinite(value):
            raise InputError(f"{name} must be finite, got {value}: drop or fix this catalog row")
    if flux_radius <= 0:
        raise InputError(f"flux_radius must be > 0 pixels of 0.03 arcsec, got {flux_radius}")
    structure = get_population(deep, population).sample_structure(rng, mag_auto, flux_radius,
                                                                  zphot)
    return build_galaxy(float(flux_from_mag(mag_auto)), structure, mag_auto, flux_radius,
                        zphot, rng, max_extent=max_extent, gsparams=gsparams)


def make_galaxy(mag_auto, flux_radius, zphot, rng, max_extent=0.9, deep=False, population=None):
    """Unconvolved mock-COSMOS galaxy profile for given conditions.

    Parameters
    ----------
    mag_auto : float
        F814W AB magnitude (flux in HST counts/s with GalSim's COSMOS zero point 25.94).
    flux_radius : float
        FLUX_RADIUS in pixels of 0.03 arcsec.
    zphot : float
        Photometric redshift.
    rng : numpy.random.Generator, galsim.BaseDeviate or int
        Randomness of the structure (explicit: the same rng state gives the same galaxy).
    max_extent : float, optional
        Radius in arcsec inside which extended features are kept (default 0.9).
    deep : bool, optional
        Legacy: ``population='great3-deep'``.
    population : str, optional
        ``'cosmos-example'`` (default), ``'cosmos-25.2'`` or ``'great3-deep'``.

    Returns
    -------
    profile : galsim.GSObject
        The noiseless, unconvolved light profile (arcsec units).
    label : int
        Morphology class, an index into
        :data:`galsim_deep.data.morphology.CLASS_NAMES`.
    """
    gal = make_mock_galaxy(mag_auto, flux_radius, zphot, rng, max_extent=max_extent, deep=deep,
                           population=population)
    return gal.profile, gal.label
