"""The mock-COSMOS galaxy populations, by name (``--population``).

The populations are built on a smoothed copy of the real COSMOS example
catalog (:class:`~galsim_deep.data.population_kde.CosmosPopulation`, a
kernel density estimate: :mod:`galsim_deep.data.population_kde`); the
COSMOS 25.2 one extends it with published relations
(:mod:`galsim_deep.data.population_cosmos_25_2`).  Every name of both modules can
be read from here too.

Populations
-----------
:data:`POPULATIONS`, a :class:`~galsim_deep.core.registry.Registry`, holds the three
populations (:func:`get_population`), each name with the function that makes it with its
default settings; a new population is one more entry there:

``'cosmos-example'`` (the default)
    The KDE (:class:`CosmosPopulation`), I <~ 22.5 like the 96 galaxies.
``'great3-deep'``
    The KDE of the GREAT3 "deep" recipe (``deep=True``, the ``--deep`` flag).
``'cosmos-25.2'``
    :class:`Cosmos252Population`: the COSMOS 25.2 sample of Lanusse et al.
    (2020), ``mag_auto <= 25.2``, built from the KDE and published scaling
    relations (the constants below, with their sources):

    1. ``mag_auto`` follows the COSMOS2020 i-band galaxy number counts
       (:data:`WEAVER22_I_COUNTS`) on [the catalog's brightest magnitude, 25.2];
    2. at ``mag_auto <= mag_ref`` (the faintest real galaxy, I = 22.49) every
       other variable is drawn from the KDE's exact conditional distribution
       given ``mag_auto`` (a Gaussian mixture);
    3. a fainter galaxy takes a *donor* from the KDE's conditional at
       ``mag_ref`` and is extrapolated to its magnitude ``m``: its half-light
       radius is multiplied by ``k = 10^(-s (m - mag_ref))`` with ``s`` =
       :data:`SIZE_SLOPE` (from :data:`MANDELBAUM14_HLR`); its
       ``flux_radius`` (which includes the HST PSF) becomes
       ``sqrt(k^2 (fr^2 - p^2) + p^2)`` with ``p`` = :data:`PSF_FLUX_RADIUS`;
       its redshift is shifted by ``Z_SLOPE (m - mag_ref)`` (:data:`Z_SLOPE`,
       from :data:`ILBERT09_MEDIAN_Z`); its Sersic index, axis ratio, B/T,
       bulge/disk size ratio and its morphology class mix are the donor's
       (**assumption**: galaxy shapes and the mix of structures do not change
       between I = 22.5 and 25.2, only sizes and redshifts do).
"""
from .population_cosmos_25_2 import (GREAT3_DEEP_SIZE_SLOPE, ILBERT09_MEDIAN_Z,  # noqa: F401
                             LSST_SB_CUMULATIVE, MAG_LIMIT_25_2, MANDELBAUM14_HLR,
                             PSF_FLUX_RADIUS, SIZE_SLOPE, WEAVER22_I_COUNTS, Z_SLOPE,
                             Cosmos252Population, NumberCounts)
from .population_kde import N_CONDITIONS, VARIABLES, CosmosPopulation  # noqa: F401
from ..core.errors import InputError
from ..core.registry import Registry

__all__ = ["CosmosPopulation", "Cosmos252Population", "VARIABLES", "N_CONDITIONS",
           "POPULATIONS", "DEFAULT_POPULATION", "resolve_population", "get_population",
           "great3_deep_population",
           "WEAVER22_I_COUNTS", "LSST_SB_CUMULATIVE", "MANDELBAUM14_HLR", "SIZE_SLOPE",
           "GREAT3_DEEP_SIZE_SLOPE", "ILBERT09_MEDIAN_Z", "Z_SLOPE", "PSF_FLUX_RADIUS",
           "MAG_LIMIT_25_2", "NumberCounts"]


def great3_deep_population():
    """The KDE of the GREAT3 "deep" recipe: ``CosmosPopulation(deep=True)``."""
    return CosmosPopulation(deep=True)


#: The populations (:func:`get_population`, ``--population``): name -> the function that
#: makes it with its default settings.  Read as the names (``list(POPULATIONS)``, ``name in
#: POPULATIONS``) it imports nothing new: the factories are beside it.
POPULATIONS = Registry("population", {
    "cosmos-example": CosmosPopulation,
    "great3-deep": great3_deep_population,
    "cosmos-25.2": Cosmos252Population,
})
#: The population of the ``mock-cosmos`` source when none is given.
DEFAULT_POPULATION = "cosmos-example"


def resolve_population(population=None, deep=False):
    """The population name of the ``population`` and (legacy) ``deep`` arguments.

    Parameters
    ----------
    population : str, optional
        One of :data:`POPULATIONS`; default :data:`DEFAULT_POPULATION`, or
        ``'great3-deep'`` with ``deep=True``.
    deep : bool, optional
        Legacy switch, the same as ``population='great3-deep'``.

    Returns
    -------
    str

    Raises
    ------
    UnknownNameError
        For an unknown name (:class:`~galsim_deep.core.registry.UnknownNameError`, listing
        the names).
    InputError
        For ``deep=True`` with another population.
    """
    if population is None:
        return "great3-deep" if deep else DEFAULT_POPULATION
    POPULATIONS.target(population)  # an UnknownNameError listing the names
    if deep and population != "great3-deep":
        raise InputError(f"deep=True (--deep) is population='great3-deep' and cannot be combined "
                         f"with population={population!r}: drop deep (--deep)")
    return population


_CACHE = {}


def get_population(deep=False, population=None):
    """The population of this name with default settings (cached per process).

    Parameters
    ----------
    deep : bool, optional
        Legacy: ``population='great3-deep'``.
    population : str, optional
        One of :data:`POPULATIONS` (default ``'cosmos-example'``).

    Returns
    -------
    CosmosPopulation
        :class:`Cosmos252Population` for ``'cosmos-25.2'``.
    """
    name = resolve_population(population, deep)
    if name not in _CACHE:
        _CACHE[name] = POPULATIONS[name]()
    return _CACHE[name]
