"""The catalog's population of shapes: the axis ratio a galaxy gets where its catalog gives none.

A network trained on noisy stamps draws galaxies rounder than the truth (the noise pulls its
codes towards round ones).  A module may ship the training catalog's own distribution of
axis ratios given the conditions, p(q | conditions), as its metadata entry
``shape_prior`` (``docs/module_format.rst``); the engine then gives every galaxy whose
catalog row has no ``q`` an axis ratio drawn from it (:mod:`~galsim_deep.engine.shapes`
maps the galaxy to it, at its own position angle turned by its random one), so that the
population's ellipticities are the catalog's, not the noise's.

The density is a table, sampled with NumPy alone: the conditions it depends on are cut into
cells at quantiles of the training catalog (:func:`fit_shape_prior`), and each cell holds
the quantiles of its galaxies' axis ratios at ``levels + 1`` evenly spaced probabilities.  A
galaxy's ``q`` is its cell's quantile function at a uniform number from its object seed's
stream (:func:`~galsim_deep.engine.random_draws.shape_uniforms`), linearly interpolated:
the same seed, the same ``q``, whatever the batch or the caller.

Example
-------
>>> import numpy as np
>>> from galsim_deep.engine.shape_prior import ShapePrior, fit_shape_prior
>>> rng = np.random.default_rng(0)
>>> mag = rng.uniform(18, 25, 20000)
>>> q = np.clip(rng.normal(0.4 + 0.04 * (mag - 18), 0.1), 0.05, 1.0)   # fainter: rounder
>>> prior = ShapePrior(fit_shape_prior({"mag_auto": mag}, q, bins={"mag_auto": 4}))
>>> drawn = prior.sample({"mag_auto": np.full(5000, 24.5)}, rng.uniform(size=5000))
>>> bool(abs(np.median(drawn) - np.median(q[mag > 23.25])) < 0.01)
True
"""
import numpy as np

from ..core.errors import InputError

__all__ = ["ShapePrior", "fit_shape_prior", "module_shape_prior", "SHAPE_SOURCES",
           "use_population_shapes"]

#: Where a galaxy without a catalog ``q`` takes its axis ratio from.
SHAPE_SOURCES = ("population", "network")

#: The smallest axis ratio a prior gives (an edge-on disc's).
MIN_Q = 0.05


def fit_shape_prior(conditions, q, bins, levels=32, min_count=100, source=""):
    """A ``shape_prior`` entry: the quantiles of ``q`` in cells of the conditions.

    Parameters
    ----------
    conditions : dict of str -> array_like [N]
        The training catalog's values of the conditions the prior depends on.
    q : array_like [N]
        Their axis ratios b/a (the catalog's fits), in (0, 1].
    bins : dict of str -> int
        Cells per condition (cut at the catalog's quantiles of it), one key per condition.
    levels : int
        The quantile function's steps per cell.
    min_count : int
        A cell with fewer galaxies takes its neighbours' too (along the last condition,
        then the others), until it has this many.
    source : str
        What the axis ratios are (for ``hub info``).

    Returns
    -------
    dict
        ``{"variable": "q", "conditions": [...], "edges": [[...], ...], "levels": int,
        "quantiles": nested list [cells..., levels + 1], "galaxies": N, "source": str}``.
    """
    q = np.asarray(q, np.float64)
    names = list(bins)
    if not names or set(names) - set(conditions):
        raise InputError(f"bins names the conditions the prior depends on, each one of "
                         f"{sorted(conditions)}; got {names}")
    if not np.all((q > 0) & (q <= 1)):
        raise InputError("the catalog's axis ratios must all be in (0, 1]")
    values = [np.asarray(conditions[name], np.float64) for name in names]
    edges = [np.quantile(v, np.linspace(0, 1, int(bins[n]) + 1)[1:-1]).tolist()
             for n, v in zip(names, values)]
    cell = tuple(np.searchsorted(e, v) for e, v in zip(edges, values))
    shape = tuple(int(bins[n]) for n in names)
    probabilities = np.linspace(0.0, 1.0, int(levels) + 1)
    table = np.empty(shape + (len(probabilities),))
    for index in np.ndindex(*shape):
        chosen = _cell_members(cell, index, shape, min_count)
        table[index] = np.quantile(q[chosen], probabilities)
    return {"variable": "q", "conditions": names, "edges": edges, "levels": int(levels),
            "quantiles": np.round(table, 5).tolist(), "galaxies": int(len(q)),
            "source": str(source)}


def _cell_members(cell, index, shape, min_count):
    """The galaxies of cell ``index`` (bool [N]), grown to neighbouring cells until there are
    ``min_count`` of them (every galaxy at the most)."""
    for reach in range(max(shape)):
        near = np.ones(len(cell[0]), bool)
        for axis, (c, i) in enumerate(zip(cell, index)):
            near &= np.abs(c - i) <= reach
        if near.sum() >= min_count:
            return near
    return np.ones(len(cell[0]), bool)


class ShapePrior:
    """A module's p(q | conditions), from its ``shape_prior`` entry (module docstring)."""

    def __init__(self, entry):
        self.entry = entry
        self.conditions = list(entry["conditions"])
        self.edges = [np.asarray(e, np.float64) for e in entry["edges"]]
        self.quantiles = np.asarray(entry["quantiles"], np.float64)
        self.levels = np.linspace(0.0, 1.0, self.quantiles.shape[-1])

    def sample(self, conditions, uniforms):
        """Axis ratios for galaxies of given conditions, from their uniform numbers.

        Parameters
        ----------
        conditions : dict of str -> ndarray [N]
            At least the prior's conditions (values outside the catalog's take its
            outermost cells).
        uniforms : ndarray [N]
            In [0, 1): each galaxy's own (:func:`~galsim_deep.engine.random_draws.
            shape_uniforms`).

        Returns
        -------
        ndarray [N]
            float64 axis ratios in [MIN_Q, 1].
        """
        uniforms = np.asarray(uniforms, np.float64)
        cells = tuple(np.searchsorted(e, np.asarray(conditions[name], np.float64))
                      for name, e in zip(self.conditions, self.edges))
        table = self.quantiles[cells]                                    # [N, levels + 1]
        place = uniforms * (table.shape[-1] - 1)
        low = np.clip(np.floor(place).astype(int), 0, table.shape[-1] - 2)
        rows = np.arange(len(uniforms))
        weight = place - low
        q = (1 - weight) * table[rows, low] + weight * table[rows, low + 1]
        return np.clip(q, MIN_Q, 1.0)

    def describe(self):
        """One line for ``hub info``."""
        cells = "x".join(str(len(e) + 1) for e in self.edges)
        return (f"axis ratio q drawn from p(q | {', '.join(self.conditions)}) where the "
                f"catalog gives none ({cells} cells of {self.entry.get('galaxies', '?')} "
                f"galaxies: {self.entry.get('source', 'the training catalog')})")


def module_shape_prior(metadata):
    """The :class:`ShapePrior` of a module's metadata, or None where it ships none."""
    entry = metadata.get("shape_prior")
    return None if entry is None else ShapePrior(entry)


def use_population_shapes(kind, shapes=None):
    """Set a sampling kind's population of shapes for ``shapes`` (``GenerativeGalaxyModel``'s
    argument): ``'population'`` (or None) keeps its module's, ``'network'`` drops it."""
    if shapes is not None and shapes not in SHAPE_SOURCES:
        raise InputError(f"shapes must be one of {list(SHAPE_SOURCES)} (a galaxy without a "
                         f"catalog q takes the catalog's population of axis ratios, or its "
                         f"network's own), got {shapes!r}")
    if shapes == "network":
        kind.shape_prior = None
    elif shapes == "population" and kind.shape_prior is None:
        raise InputError(f"shapes='population' needs a module that ships the catalog's "
                         f"population of shapes (metadata entry 'shape_prior'); "
                         f"{kind.metadata['name']} {kind.metadata['version']} ships none: "
                         f"drop shapes=, or give the catalog's q")
