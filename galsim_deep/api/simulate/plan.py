"""Planning a simulation: settings, tiles, catalogs, seeds.

Everything decided before any galaxy is drawn: what to render
(:class:`SimulationSettings`), the catalog (:func:`read_catalog`, or
:func:`mock_catalog`), each field's WCS and its cut into tiles, every galaxy
given to the tile holding its centre (:func:`plan_simulation`), and the sky
noise's seeds (:func:`tile_seed`).  A galaxy's own draws come from its
catalog row by the sampling engine's rule (:mod:`galsim_deep.engine.random_draws`):
catalog row ``r`` is the API's row ``r`` for ``rng=seed``, however the work is
split.
"""
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import galsim
import numpy as np
from astropy.table import Table

from ...core.catalog import in_range
from ...core.errors import InputError, MissingInputError
from ...data.hub import DEFAULT_MODEL

__all__ = ["SimulationSettings", "Tile", "read_catalog", "plan_simulation",
           "tile_seed", "mock_catalog"]

_POSITION_COLUMNS = (("x", "y"), ("ra", "dec"))


@dataclass(frozen=True)
class SimulationSettings:
    """What to render (everything that changes the output images).

    Parameters
    ----------
    model : str
        Generative model (``hub:NAME``, a module directory or archive).
    field_size : tuple of int
        ``(nx, ny)``: size of each field in pixels.
    pixel_scale : float
        Field pixel scale, arcsec per pixel.
    tile_size : int
        Side of a tile, pixels (the last tiles of a row or column are cut at
        the field edge).  At least ``stamp_size``.
    psf_fwhm : float
        FWHM of the Kolmogorov PSF, arcsec.
    stamp_size : int
        Side of each galaxy's postage stamp in the field, pixels.
    zero_point : float
        AB magnitude of a source giving 1 count in the image: galaxy fluxes
        follow the catalog's magnitude condition (the model's
        ``flux.magnitude_condition``).
    sky_mag : float or None
        Sky brightness, AB mag per arcsec^2: Poisson noise of the sky level
        (sky subtracted) is added; None renders noiseless images.
    seed : int
        Seed of the run: galaxy ``k`` (catalog row) and tile noise draw from
        seeds derived from it.
    batch_size : int
        Galaxies per network call.
    range_policy : {'warn', 'clip', 'error'}
        Conditions outside the model's training range (see
        `GenerativeGalaxyModel`).
    rotate : bool
        Turn each galaxy by a uniformly random angle drawn from its own seed
        after its normals (default True: an isotropic population; False, the
        network's own orientation).
    center : tuple of float or None
        ``(ra, dec)`` in degrees of the field centre, for catalogs with
        ``ra``/``dec`` (default: the middle of each field's galaxies).
    """

    model: str = DEFAULT_MODEL
    field_size: tuple = (2048, 2048)
    pixel_scale: float = 0.2
    tile_size: int = 512
    psf_fwhm: float = 0.7
    stamp_size: int = 32
    zero_point: float = 28.3 + 2.5 * np.log10(30.0)
    sky_mag: float = 20.5
    seed: int = 0
    batch_size: int = 64
    range_policy: str = "warn"
    rotate: bool = True
    center: tuple = None

    def __post_init__(self):
        size = tuple(int(v) for v in np.atleast_1d(self.field_size))
        if len(size) == 1:
            size = size * 2
        object.__setattr__(self, "field_size", size)
        if self.center is not None:
            object.__setattr__(self, "center", tuple(float(v) for v in self.center))
        checks = [
            (len(size) == 2 and min(size) >= 1, "field_size must be one or two positive "
             f"pixel counts (nx, ny), got {self.field_size!r}"),
            (self.pixel_scale > 0, f"pixel_scale must be > 0 arcsec, got {self.pixel_scale}"),
            (self.psf_fwhm > 0, f"psf_fwhm must be > 0 arcsec, got {self.psf_fwhm}"),
            (int(self.stamp_size) >= 4, f"stamp_size must be >= 4 pixels, got {self.stamp_size}"),
            (int(self.tile_size) >= int(self.stamp_size),
             f"tile_size ({self.tile_size}) must be at least stamp_size ({self.stamp_size}) "
             "pixels, so that a stamp reaches only the neighbouring tiles: raise tile_size"),
            (int(self.batch_size) >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.range_policy in ("warn", "clip", "error"),
             f"range_policy must be warn, clip or error, got {self.range_policy!r}"),
            (self.center is None or len(self.center) == 2,
             f"center must be (ra, dec) in degrees, got {self.center!r}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(msg)

    def to_dict(self):
        """The settings as a JSON-ready dict."""
        d = asdict(self)
        d["field_size"] = list(self.field_size)
        d["center"] = None if self.center is None else list(self.center)
        return d


@dataclass(frozen=True)
class Tile:
    """One tile of a field: ``field`` name, indices ``(i, j)`` and 1-based inclusive pixel
    bounds ``xmin..xmax``, ``ymin..ymax`` in the field."""

    field: str
    i: int
    j: int
    xmin: int
    xmax: int
    ymin: int
    ymax: int

    @property
    def name(self):
        """``<field>_<i>_<j>``, the stem of the tile's files."""
        return f"{self.field}_{self.i:03d}_{self.j:03d}"

    def bounds(self):
        """The tile's ``galsim.BoundsI``."""
        return galsim.BoundsI(self.xmin, self.xmax, self.ymin, self.ymax)


# ---------------------------------------------------------------------------- catalog
def read_catalog(path):
    """Read a simulation catalog (FITS or ECSV table).

    Parameters
    ----------
    path : str or Path
        The table: one row per galaxy with positions ``x``, ``y`` (field
        pixels, 1-based: the first pixel's centre is (1, 1)) or ``ra``, ``dec``
        (degrees), the model's condition columns, and optionally ``field``
        (several fields in one catalog).

    Returns
    -------
    astropy.table.Table

    Raises
    ------
    galsim_deep.core.errors.MissingInputError
        No such file (a ``FileNotFoundError``).
    galsim_deep.core.errors.InputError
        Unreadable or corrupt file, no rows, or no position columns (a ``ValueError``).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"catalog {path} does not exist: give the path of a FITS or "
                                "ECSV table of galaxies (x/y or ra/dec and condition columns)")
    name = path.name.lower()
    fmt = ("ascii.ecsv" if name.endswith(".ecsv") else
           "fits" if name.endswith((".fits", ".fit", ".fits.gz", ".fts")) else None)
    try:
        table = Table.read(path, format=fmt) if fmt else Table.read(path)
    except Exception as err:  # astropy raises many kinds for bad files
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        raise InputError(f"cannot read catalog {path} ({type(err).__name__}: {reason}); it must "
                         "be a complete FITS (.fits) or ECSV (.ecsv) table: rewrite it, e.g. "
                         "with astropy.table.Table.write") from None
    if len(table) == 0:
        raise InputError(f"catalog {path} has no rows: give at least one galaxy")
    _position_columns(table, path)
    return table


def _position_columns(table, source="catalog"):
    names = {c.lower(): c for c in table.colnames}
    for pair in _POSITION_COLUMNS:
        if all(p in names for p in pair):
            return pair, [names[p] for p in pair]
    raise InputError(f"{source} has no position columns: it needs x and y (field pixels) or ra "
                     f"and dec (degrees); its columns are {list(table.colnames)}")


def _field_wcs(settings, ra=None, dec=None):
    """The field's WCS: a pixel scale, or a TAN projection around the centre (north up,
    east left), and the centre used."""
    nx, ny = settings.field_size
    if ra is None:
        return galsim.PixelScale(settings.pixel_scale), None
    if settings.center is not None:
        center = settings.center
    else:
        # the middle of the galaxies (RA unwrapped around the first one)
        ra0 = ra[0]
        dra = (np.asarray(ra) - ra0 + 180.0) % 360.0 - 180.0
        center = (float((ra0 + (dra.min() + dra.max()) / 2) % 360.0),
                  float((np.min(dec) + np.max(dec)) / 2))
    s = settings.pixel_scale
    affine = galsim.AffineTransform(s, 0.0, 0.0, s,  # GalSim's u points west: east left
                                    origin=galsim.PositionD((nx + 1) / 2, (ny + 1) / 2))
    world = galsim.CelestialCoord(center[0] * galsim.degrees, center[1] * galsim.degrees)
    return galsim.TanWCS(affine, world_origin=world, units=galsim.arcsec), center


def plan_simulation(cat, settings, conditions, magnitudes=None, canvas=None):
    """Cut the fields into tiles and give every galaxy to the tile holding its centre.

    Parameters
    ----------
    cat : astropy.table.Table
        The catalog (see :func:`read_catalog`).
    settings : SimulationSettings
    conditions : dict of str -> ndarray
        The checked condition arrays of every row (``model.conditions(cat)``).
    magnitudes : ndarray, optional
        Every row's catalog magnitude in the module's flux band, before any range
        policy (:func:`galsim_deep.core.catalog.catalog_values`): the tiles' galaxies carry
        it as ``magnitudes``, which sets their flux.
    canvas : ndarray, optional
        Every row's canvas factor (:mod:`galsim_deep.engine.canvas`), carried as
        ``canvas``.

    Returns
    -------
    dict
        ``fields``: per field name a dict with ``wcs``, ``center``, ``tiles``
        (list of :class:`Tile`) and ``rows`` (per tile name: the rows, x, y,
        conditions of its galaxies, in catalog order); ``n_outside``: galaxies
        whose stamps miss their field.
    """
    (kind_x, _), (cx, cy) = _position_columns(cat)
    px = np.asarray(cat[cx], dtype=np.float64)
    py = np.asarray(cat[cy], dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(px) & np.isfinite(py)))
    if len(bad):
        raise InputError(f"catalog positions ({cx}, {cy}) are NaN or infinite in {len(bad)} "
                         f"row(s): {', '.join(map(str, bad[:10]))}; fix or drop those rows")
    field_col = next((c for c in cat.colnames if c.lower() == "field"), None)
    names = (np.asarray(cat[field_col]).astype(str) if field_col
             else np.full(len(cat), "field"))
    nx, ny = settings.field_size
    t = int(settings.tile_size)
    ntx, nty = -(-nx // t), -(-ny // t)
    half = settings.stamp_size / 2 + 1
    fields, n_outside = {}, 0
    for name in sorted(set(names)):
        rows = np.flatnonzero(names == name)
        if kind_x == "ra":
            wcs, center = _field_wcs(settings, px[rows], py[rows])
            x, y = wcs.radecToxy(px[rows], py[rows], units="degrees")
            x, y = np.atleast_1d(x), np.atleast_1d(y)
        else:
            wcs, center = _field_wcs(settings)
            x, y = px[rows], py[rows]
        inside = (x > 0.5 - half) & (x < nx + 0.5 + half) & (y > 0.5 - half) & (y < ny + 0.5 + half)
        n_outside += int((~inside).sum())
        rows, x, y = rows[inside], x[inside], y[inside]
        ti = np.clip(np.floor((x - 0.5) / t).astype(int), 0, ntx - 1)
        tj = np.clip(np.floor((y - 0.5) / t).astype(int), 0, nty - 1)
        tiles, by_tile = [], {}
        for j in range(nty):
            for i in range(ntx):
                tile = Tile(str(name), i, j, 1 + i * t, min(nx, (i + 1) * t), 1 + j * t,
                            min(ny, (j + 1) * t))
                tiles.append(tile)
                sel = (ti == i) & (tj == j)
                by_tile[tile.name] = {"rows": rows[sel], "x": x[sel], "y": y[sel],
                                      "conditions": {q: v[rows[sel]]
                                                     for q, v in conditions.items()}}
                for key, values in (("magnitudes", magnitudes), ("canvas", canvas)):
                    if values is not None:
                        by_tile[tile.name][key] = values[rows[sel]]
        fields[str(name)] = {"wcs": wcs, "center": center, "tiles": tiles, "rows": by_tile,
                             "shape": (ntx, nty)}
    return {"fields": fields, "n_outside": n_outside}


def tile_seed(seed, tile):
    """Seed of a tile's noise: a hash of the run's ``seed``, the field name and the tile indices.

    Parameters
    ----------
    seed : int
        The run's seed.
    tile : Tile
        The tile.

    Returns
    -------
    int
        In [1, 2**31), independent of how the work is split.
    """
    entropy = [int(seed), 1, zlib.crc32(tile.field.encode()), tile.i, tile.j]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] % (2 ** 31 - 1)) + 1


def _settings_args(d):
    """``SimulationSettings`` keyword arguments from :meth:`SimulationSettings.to_dict`."""
    d = dict(d)
    d["field_size"] = tuple(d["field_size"])
    if d.get("center") is not None:
        d["center"] = tuple(d["center"])
    return d


def _neighbours(tile, field):
    """The tile and its (up to 8) neighbours, in a fixed order."""
    by_index = {(t.i, t.j): t for t in field["tiles"]}
    return [by_index[(i, j)] for j in range(tile.j - 1, tile.j + 2)
            for i in range(tile.i - 1, tile.i + 2) if (i, j) in by_index]


def mock_catalog(n, field_size, seed=0, model_stamp_size=64, model_pixel_scale=0.03,
                 population=None, conditions=None):
    """A catalog of ``n`` mock-COSMOS galaxies at uniform random positions of a field.

    Parameters
    ----------
    n : int
        Galaxies.
    field_size : tuple of int
        ``(nx, ny)`` pixels.
    seed : int
        Seed of the conditions and positions.
    model_stamp_size : int
        Stamp size (pixels) that bounds ``flux_radius``.
    model_pixel_scale : float
        arcsec/pixel of that stamp.
    population : str, optional
        Mock population of the conditions (:mod:`galsim_deep.data.population`;
        default ``'cosmos-example'``); a model's ``provenance.population`` names
        the one it was trained on.
    conditions : list of dict, optional
        A module's ``conditions`` metadata: only galaxies inside their training ranges
        are kept (the first ``n`` of a larger draw), so that the model is not asked to
        extrapolate on the catalog made for it.

    Returns
    -------
    astropy.table.Table
        ``x``, ``y`` (field pixels, 1-based), ``mag_auto``, ``flux_radius``, ``zphot``.
    """
    # (the dataset code is needed only for mock catalogs)
    from ...data.mock_galaxies import first_inside, sample_conditions

    size = np.atleast_1d(field_size)
    nx, ny = int(size[0]), int(size[-1])
    def draw(m):
        return sample_conditions(m, seed, stamp_size=model_stamp_size,
                                 pixel_scale=model_pixel_scale, population=population)

    cat = (draw(n) if conditions is None else
           first_inside(draw, lambda t: in_range(t, conditions), n, "the model's training "
                        "ranges"))
    rng = np.random.default_rng([int(seed), 7])
    cat["x"] = rng.uniform(0.5, nx + 0.5, n)
    cat["y"] = rng.uniform(0.5, ny + 0.5, n)
    cat.meta.clear()  # (FITS-friendly keys only)
    cat.meta.update(SOURCE="galsim_deep mock_catalog", SEED=int(seed), NX=int(nx), NY=int(ny))
    return cat
