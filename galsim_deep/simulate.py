"""Render survey fields from a catalog, tile by tile, on Dask (``galsim-deep simulate``).

A field is cut into square tiles.  Every galaxy belongs to the tile holding its
centre.  The work runs in two kinds of tasks:

``stamps`` (one per tile)
    samples the tile's own galaxies with the generative model, convolves each
    with the PSF (Kolmogorov) and draws its postage stamp at its exact place in
    the field; the stamps are saved in ``stamps/<field>_<i>_<j>.npz``.
``tile`` (one per tile)
    adds up the stamps of the tile's galaxies and of its 8 neighbours' that
    reach into it, adds sky noise and writes ``tiles/<field>_<i>_<j>.fits``.

Finally the tiles are copied into ``mosaic[_<field>].fits`` (through a memory
map: memory stays flat however large the field).  Tasks run on a
``dask.distributed`` cluster: a ``LocalCluster`` of worker processes by
default, or any scheduler by address.  Each worker process loads the model
once (:class:`SamplerPlugin`) and uses its share of the cores.

Results do not depend on the number of workers or on the order tasks finish:
every galaxy has its own seed (from the run's seed and its catalog row), each
tile's galaxies are generated as one list in catalog order, stamps are added in
a fixed order, and each tile's noise has its own seed.  (They do depend on
the tile size, at the level of float32 rounding in the network, since a tile's
galaxies are generated together, and through the noise realisation.)

Interrupted runs resume: finished tiles (and stamp files) are kept, and the
same command continues with the rest.  Every file is written under a
temporary name and renamed when complete.
"""
import json
import logging
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from distributed import WorkerPlugin

from ._io import atomic_path, sha256sum

__all__ = ["SimulationSettings", "Tile", "read_catalog", "plan_simulation", "simulate",
           "render_stamps", "assemble_tile", "write_mosaic", "galaxy_seeds", "tile_seed",
           "worker_model", "SamplerPlugin", "mock_catalog", "write_preview"]

#: The default model.
DEFAULT_MODEL = "hub:flow-vae-mock-cosmos-64"
#: Manifest of a run in its output folder.
MANIFEST = "simulation.json"
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
                raise ValueError(msg)

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
        import galsim

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
    FileNotFoundError
        No such file.
    ValueError
        Unreadable or corrupt file, or no position columns.
    """
    from astropy.table import Table

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"catalog {path} does not exist: give the path of a FITS or "
                                "ECSV table of galaxies (x/y or ra/dec and condition columns)")
    name = path.name.lower()
    fmt = ("ascii.ecsv" if name.endswith(".ecsv") else
           "fits" if name.endswith((".fits", ".fit", ".fits.gz", ".fts")) else None)
    try:
        table = Table.read(path, format=fmt) if fmt else Table.read(path)
    except Exception as err:  # astropy raises many kinds for bad files
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        raise ValueError(f"cannot read catalog {path} ({type(err).__name__}: {reason}); it must "
                         "be a complete FITS (.fits) or ECSV (.ecsv) table: rewrite it, e.g. "
                         "with astropy.table.Table.write") from None
    if len(table) == 0:
        raise ValueError(f"catalog {path} has no rows: give at least one galaxy")
    _position_columns(table, path)
    return table


def _position_columns(table, source="catalog"):
    names = {c.lower(): c for c in table.colnames}
    for pair in _POSITION_COLUMNS:
        if all(p in names for p in pair):
            return pair, [names[p] for p in pair]
    raise ValueError(f"{source} has no position columns: it needs x and y (field pixels) or ra "
                     f"and dec (degrees); its columns are {list(table.colnames)}")


def galaxy_seeds(seed, rows):
    """Seed of each galaxy: a hash of the run's ``seed`` and the galaxy's catalog row.

    Parameters
    ----------
    seed : int
        The run's seed.
    rows : array of int
        Catalog rows.

    Returns
    -------
    ndarray of int64
        Seeds in [1, 2**31), independent of how the catalog is split.
    """
    states = [np.random.SeedSequence([int(seed), int(r)]).generate_state(1)[0] for r in rows]
    return (np.asarray(states, dtype=np.int64) % (2 ** 31 - 1)) + 1


def _field_wcs(settings, ra=None, dec=None):
    """The field's WCS: a pixel scale, or a TAN projection around the centre (north up,
    east left), and the centre used."""
    import galsim

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


def plan_simulation(cat, settings, conditions):
    """Cut the fields into tiles and give every galaxy to the tile holding its centre.

    Parameters
    ----------
    cat : astropy.table.Table
        The catalog (see :func:`read_catalog`).
    settings : SimulationSettings
    conditions : dict of str -> ndarray
        The checked condition arrays of every row (``model.conditions(cat)``).

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
        raise ValueError(f"catalog positions ({cx}, {cy}) are NaN or infinite in {len(bad)} "
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
        fields[str(name)] = {"wcs": wcs, "center": center, "tiles": tiles, "rows": by_tile,
                             "shape": (ntx, nty)}
    return {"fields": fields, "n_outside": n_outside}


# ---------------------------------------------------------------------------- workers
_WORKER_MODELS = {}


def worker_model(model, batch_size=64, range_policy="warn"):
    """The model of this process, loaded once (TensorFlow graph included).

    Parameters
    ----------
    model : str
        Model name or path.
    batch_size : int
    range_policy : str

    Returns
    -------
    GenerativeGalaxyModel
    """
    from .model import GenerativeGalaxyModel

    key = (str(model), int(batch_size), range_policy)
    if key not in _WORKER_MODELS:
        m = GenerativeGalaxyModel(model, batch_size=int(batch_size), range_policy=range_policy)
        m._signature("sample")
        _WORKER_MODELS[key] = m
    return _WORKER_MODELS[key]


class SamplerPlugin(WorkerPlugin):
    """A Dask worker plugin that prepares each worker process to sample.

    At worker start it sets TensorFlow's and GalSim's threads to ``threads``
    (default: the worker's Dask thread count) and loads the model once
    (:func:`worker_model`).

    Parameters
    ----------
    model : str
        Model name or path (resolved on the worker).
    batch_size : int
        Galaxies per network call.
    range_policy : str
        See `GenerativeGalaxyModel`.
    threads : int, optional
        Threads per worker process.
    """

    name = "galsim-deep-sampler"
    idempotent = True

    def __init__(self, model, batch_size=64, range_policy="warn", threads=None):
        self.model, self.batch_size = model, batch_size
        self.range_policy, self.threads = range_policy, threads

    def setup(self, worker):
        """Set the threads and load the model (called by Dask in each worker)."""
        from . import parallel

        threads = self.threads or getattr(getattr(worker, "state", worker), "nthreads", 1)
        parallel.configure_worker(1, threads=max(1, int(threads)))
        worker_model(self.model, self.batch_size, self.range_policy)


def render_stamps(model, galaxies, settings, wcs):
    """Sample, convolve and draw the postage stamps of one tile's galaxies.

    Parameters
    ----------
    model : GenerativeGalaxyModel
    galaxies : dict
        ``rows`` (catalog rows), ``x``, ``y`` (field pixels) and
        ``conditions`` (dict of arrays) of the tile's galaxies, catalog order.
    settings : SimulationSettings
    wcs : galsim.BaseWCS
        The field's WCS.

    Returns
    -------
    dict
        ``rows`` [n], ``xmin``, ``ymin`` [n] (1-based field pixel of each
        stamp's lower-left corner) and ``stamps`` [n, S, S] float32 (counts).
    """
    import galsim

    rows = np.asarray(galaxies["rows"], dtype=np.int64)
    n, size = len(rows), int(settings.stamp_size)
    out = {"rows": rows, "xmin": np.zeros(n, np.int64), "ymin": np.zeros(n, np.int64),
           "stamps": np.zeros((n, size, size), np.float32)}
    if n == 0:
        return out
    conds = {q: np.asarray(v, dtype=np.float32) for q, v in galaxies["conditions"].items()}
    seeds = galaxy_seeds(settings.seed, rows)
    normals = np.concatenate([model.random_normal(1, int(s)) for s in seeds])
    psf = galsim.Kolmogorov(fwhm=settings.psf_fwhm)
    batch = int(settings.batch_size)
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        part = {q: v[start:stop] for q, v in conds.items()}
        images = model.generate(part, normals[start:stop], first_row=start)
        factors = model.flux_factors(part, zero_point=settings.zero_point, images=images)
        for k in range(start, stop):
            gal = model.profile(images[k - start] * np.float32(factors[k - start]))
            x, y = float(galaxies["x"][k]), float(galaxies["y"][k])
            center = galsim.PositionI(int(np.floor(x + 0.5)), int(np.floor(y + 0.5)))
            stamp = galsim.Convolve(gal, psf).drawImage(
                nx=size, ny=size, wcs=wcs.local(galsim.PositionD(x, y)), center=center,
                offset=galsim.PositionD(x - center.x, y - center.y), dtype=np.float32)
            out["xmin"][k], out["ymin"][k] = stamp.bounds.xmin, stamp.bounds.ymin
            out["stamps"][k] = stamp.array
    return out


def assemble_tile(tile, stamp_sets, settings, wcs):
    """Add the stamps reaching into a tile, then the sky noise.

    Parameters
    ----------
    tile : Tile
    stamp_sets : list of dict
        Outputs of :func:`render_stamps` for the tile and its neighbours, in a
        fixed order (the stamps are added in that order).
    settings : SimulationSettings
    wcs : galsim.BaseWCS
        The field's WCS.

    Returns
    -------
    galsim.ImageF
        The tile, with the field's WCS and a header (``ZP``, ``SKYLEVEL``,
        ``NGAL``...).
    """
    import galsim

    image = galsim.ImageF(tile.bounds(), wcs=wcs)
    size = int(settings.stamp_size)
    n_own = 0
    for stamps in stamp_sets:
        for k in range(len(stamps["rows"])):
            x0, y0 = int(stamps["xmin"][k]), int(stamps["ymin"][k])
            b = galsim.BoundsI(x0, x0 + size - 1, y0, y0 + size - 1)
            overlap = b & image.bounds
            if not overlap.isDefined():
                continue
            sub = stamps["stamps"][k][overlap.ymin - y0:overlap.ymax - y0 + 1,
                                      overlap.xmin - x0:overlap.xmax - x0 + 1]
            image[overlap].array[:, :] += sub
            n_own += 1
    sky = 0.0
    if settings.sky_mag is not None:
        area = settings.pixel_scale ** 2
        sky = 10 ** (-0.4 * (settings.sky_mag - settings.zero_point)) * area
        rng = galsim.BaseDeviate(tile_seed(settings.seed, tile))
        image.addNoise(galsim.PoissonNoise(rng, sky_level=sky))
    image.header = galsim.FitsHeader(header={
        "FIELD": tile.field, "TILE_I": tile.i, "TILE_J": tile.j, "ZP": settings.zero_point,
        "SKYLEVEL": sky, "NSTAMPS": n_own, "SEED": settings.seed,
        "PSFFWHM": settings.psf_fwhm, "MODEL": str(settings.model)[:68]})
    return image


def tile_seed(seed, tile):
    """Seed of a tile's noise: a hash of the run's ``seed``, the field name and the tile indices.

    Parameters
    ----------
    seed : int
    tile : Tile

    Returns
    -------
    int
        In [1, 2**31).
    """
    entropy = [int(seed), 1, zlib.crc32(tile.field.encode()), tile.i, tile.j]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] % (2 ** 31 - 1)) + 1


def _stamps_task(path, model, galaxies, settings_dict, wcs):
    """Dask task: render a tile's own galaxies and save their stamps (kept if present)."""
    path = Path(path)
    if path.is_file():
        return str(path)
    settings = SimulationSettings(**_settings_args(settings_dict))
    m = worker_model(model, settings.batch_size, settings.range_policy)
    out = render_stamps(m, galaxies, settings, wcs)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **out)
    return str(path)


def _tile_task(path, tile, stamp_paths, settings_dict, wcs):
    """Dask task: assemble a tile from its stamp files and write it (kept if present)."""
    import galsim

    path = Path(path)
    if path.is_file():
        return str(path)
    settings = SimulationSettings(**_settings_args(settings_dict))
    sets = []
    for p in stamp_paths:
        with np.load(p) as data:
            sets.append({k: data[k] for k in data.files})
    image = assemble_tile(tile, sets, settings, wcs)
    with atomic_path(path) as tmp:
        galsim.fits.write(image, str(tmp))
    return str(path)


def _settings_args(d):
    d = dict(d)
    d["field_size"] = tuple(d["field_size"])
    if d.get("center") is not None:
        d["center"] = tuple(d["center"])
    return d


def write_mosaic(path, field_size, wcs, tile_paths, header=None):
    """Copy finished tiles into one FITS image, through a memory map (flat memory).

    Parameters
    ----------
    path : str or Path
        The mosaic file.
    field_size : tuple of int
        ``(nx, ny)`` pixels.
    wcs : galsim.BaseWCS
        The field's WCS (written to the header).
    tile_paths : dict of Tile -> path
        The tiles' FITS files.
    header : dict, optional
        Extra header cards.

    Returns
    -------
    Path
    """
    import galsim
    from astropy.io import fits

    nx, ny = field_size
    hdr = fits.Header()
    hdr["SIMPLE"] = True
    hdr["BITPIX"] = -32
    hdr["NAXIS"] = 2
    hdr["NAXIS1"] = nx
    hdr["NAXIS2"] = ny
    gs_header = galsim.FitsHeader()
    wcs.writeToFitsHeader(gs_header, galsim.BoundsI(1, nx, 1, ny))
    for card in gs_header.header.cards:
        hdr[card.keyword] = (card.value, card.comment)
    for key, value in (header or {}).items():
        hdr[key] = value
    data_bytes = nx * ny * 4
    padded = -(-data_bytes // 2880) * 2880
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            hdr.tofile(f)
            offset = f.tell()
            f.truncate(offset + padded)
        mosaic = np.memmap(tmp, dtype=">f4", mode="r+", offset=offset, shape=(ny, nx))
        for tile, tile_path in tile_paths.items():
            with fits.open(tile_path, memmap=False) as hdul:
                mosaic[tile.ymin - 1:tile.ymax, tile.xmin - 1:tile.xmax] = hdul[0].data
        mosaic.flush()
        del mosaic
    return Path(path)


def write_preview(mosaic_path, out, max_pixels=1024):
    """Save a PNG preview of a mosaic, block-averaged to at most ``max_pixels`` a side.

    Parameters
    ----------
    mosaic_path : str or Path
        The mosaic FITS file (read through a memory map).
    out : str or Path
        The PNG file.
    max_pixels : int
        Largest side of the preview, pixels.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.io import fits

    with fits.open(mosaic_path, memmap=True) as hdul:
        data, header = hdul[0].data, hdul[0].header
        ny, nx = data.shape
        f = max(1, -(-max(nx, ny) // max_pixels))
        small = np.zeros((-(-ny // f), -(-nx // f)))
        for y0 in range(0, ny, f * 256):  # a band of rows at a time: flat memory
            band = np.asarray(data[y0:y0 + f * 256], dtype=np.float64)
            h = -(-band.shape[0] // f)
            padded = np.zeros((h * f, small.shape[1] * f))
            padded[:band.shape[0], :nx] = band
            small[y0 // f:y0 // f + h] = padded.reshape(h, f, -1, f).mean(axis=(1, 3))
        sky = float(header.get("SKYLEVEL", 0.0))
    noise = np.sqrt(sky / f ** 2) if sky > 0 else max(float(np.percentile(small, 99.5)), 1e-30) / 50
    fig, ax = plt.subplots(figsize=(7, 7 * small.shape[0] / small.shape[1] + 0.4))
    ax.imshow(np.arcsinh(small / (3 * noise)), origin="lower", cmap="gray_r", vmin=-1, vmax=6,
              extent=(0.5, nx + 0.5, 0.5, ny + 0.5))
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    ax.set_title(f"{Path(mosaic_path).name}: {nx} x {ny} pixels"
                 + (f" (preview binned {f}x{f})" if f > 1 else ""), fontsize=9)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
    plt.close(fig)
    return Path(out)


def mock_catalog(n, field_size, seed=0, model_stamp_size=64):
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
        Stamp size (pixels of 0.03 arcsec) that bounds ``flux_radius``.

    Returns
    -------
    astropy.table.Table
        ``x``, ``y`` (field pixels, 1-based), ``mag_auto``, ``flux_radius``, ``zphot``.
    """
    from .datasets.mock_cosmos import sample_conditions

    size = np.atleast_1d(field_size)
    nx, ny = int(size[0]), int(size[-1])
    cat = sample_conditions(n, seed, stamp_size=model_stamp_size)
    rng = np.random.default_rng([int(seed), 7])
    cat["x"] = rng.uniform(0.5, nx + 0.5, n)
    cat["y"] = rng.uniform(0.5, ny + 0.5, n)
    cat.meta.clear()  # (FITS-friendly keys only)
    cat.meta.update(SOURCE="galsim_deep mock_catalog", SEED=int(seed), NX=int(nx), NY=int(ny))
    return cat


# ---------------------------------------------------------------------------- driver
def _manifest(settings, catalog, model):
    return {"settings": settings.to_dict(), "catalog": str(Path(catalog).resolve()),
            "catalog_sha256": sha256sum(catalog), "module": model.metadata["name"],
            "module_version": model.metadata["version"]}


def _check_manifest(out_dir, manifest, overwrite):
    path = out_dir / MANIFEST
    if path.is_file() and not overwrite:
        old = json.loads(path.read_text())
        keys = ("settings", "catalog_sha256", "module", "module_version")
        diff = [k for k in keys if old.get(k) != manifest[k]]
        if diff:
            detail = ", ".join(f"{k}: {old.get(k)!r} -> {manifest[k]!r}" for k in diff
                               if k != "settings")
            if "settings" in diff:
                changed = [k for k in manifest["settings"]
                           if old.get("settings", {}).get(k) != manifest["settings"][k]]
                detail = ", ".join(filter(None, [detail, f"settings {changed}"]))
            raise ValueError(f"{out_dir} holds a simulation made differently ({detail}); "
                             "resume only with the same catalog, model and settings: use a new "
                             "--out folder, or --overwrite to replace its tiles")
    elif path.is_file() and overwrite:
        for sub in ("tiles", "stamps"):
            for f in (out_dir / sub).glob("*"):
                f.unlink()
        for f in list(out_dir.glob("mosaic*.fits")) + list(out_dir.glob("mosaic*.png")):
            f.unlink()
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")


def _neighbours(tile, field):
    """The tile and its (up to 8) neighbours, in a fixed order."""
    by_index = {(t.i, t.j): t for t in field["tiles"]}
    return [by_index[(i, j)] for j in range(tile.j - 1, tile.j + 2)
            for i in range(tile.i - 1, tile.i + 2) if (i, j) in by_index]


def simulate(catalog, out_dir, settings=None, scheduler=None, n_workers=None,
             column_map=None, mosaic=True, keep_stamps=False, overwrite=False, progress=True):
    """Render the fields of a catalog into FITS tiles and mosaics.

    Parameters
    ----------
    catalog : str or Path
        FITS or ECSV table (see :func:`read_catalog`).
    out_dir : str or Path
        Output folder: ``tiles/``, ``mosaic[_<field>].fits`` (and ``.png``
        previews), ``simulation.json``.
    settings : SimulationSettings, optional
        What to render (default: ``SimulationSettings()``).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); its workers
        must see ``out_dir`` (a shared file system) and have galsim_deep.
    n_workers : int, optional
        Without ``scheduler``: worker processes of the ``LocalCluster``
        (default: one per core); 0 runs everything in this process, without
        Dask.
    column_map : dict, optional
        Condition name -> catalog column.
    mosaic : bool
        Also write each field's mosaic.
    keep_stamps : bool
        Keep the per-tile stamp files after the run (they are only needed to
        resume an interrupted run).
    overwrite : bool
        Replace the results of a run made with other settings in ``out_dir``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``tiles``, ``mosaics``, ``previews`` (PNG) paths, ``n_galaxies``, ``n_outside``,
        ``n_tiles``, ``n_tiles_done_before`` (kept from an earlier run),
        ``wall_time_s``.
    """
    from tqdm import tqdm

    from . import hub
    from .model import GenerativeGalaxyModel
    from .parallel import cpu_count

    t_start = time.perf_counter()
    settings = settings or SimulationSettings()
    out_dir = Path(out_dir)
    cat = read_catalog(catalog)
    model = GenerativeGalaxyModel(settings.model, batch_size=settings.batch_size,
                                  range_policy=settings.range_policy)
    if "magnitude_condition" not in model.metadata["flux"]:
        raise ValueError(f"model {settings.model} declares no flux.magnitude_condition, so "
                         "galaxy fluxes cannot follow catalog magnitudes: use a module with "
                         "a magnitude condition (such as mag_auto)")
    conditions = model.conditions(cat, column_map=column_map)
    plan = plan_simulation(cat, settings, conditions)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_manifest(out_dir, _manifest(settings, catalog, model), overwrite)
    # Workers on this machine load the resolved module folder; remote ones resolve the name.
    model_ref = settings.model if scheduler else str(hub.resolve(settings.model))
    settings_dict = settings.to_dict()

    jobs = []  # (field name, field, tile, stamp path, tile path)
    for fname, field in plan["fields"].items():
        for tile in field["tiles"]:
            jobs.append((fname, field, tile, out_dir / "stamps" / f"{tile.name}.npz",
                         out_dir / "tiles" / f"{tile.name}.fits"))
    (out_dir / "stamps").mkdir(exist_ok=True)
    (out_dir / "tiles").mkdir(exist_ok=True)
    done_before = sum(1 for job in jobs if job[4].is_file())
    todo = [job for job in jobs if not job[4].is_file()]
    # Stamps are needed for every tile next to an unfinished one.
    needed = {}
    for fname, field, tile, _, _ in todo:
        for nb in _neighbours(tile, field):
            needed[(fname, nb.name)] = (field, nb)
    stamp_path = {key: out_dir / "stamps" / f"{key[1]}.npz" for key in needed}

    bar = tqdm(total=len(jobs), initial=done_before, unit="tile", desc="simulate",
               disable=not progress)
    try:
        if n_workers == 0 and scheduler is None:
            # The same tasks, run here one after the other.
            for key, (field, nb) in needed.items():
                _stamps_task(stamp_path[key], model_ref, field["rows"][nb.name], settings_dict,
                             field["wcs"])
            for fname, field, tile, _, tile_path in todo:
                paths = [stamp_path[(fname, nb.name)] for nb in _neighbours(tile, field)]
                _tile_task(tile_path, tile, paths, settings_dict, field["wcs"])
                bar.update(1)
        else:
            _run_dask(todo, needed, stamp_path, model_ref, settings, settings_dict, scheduler,
                      n_workers or cpu_count(), bar)
    finally:
        bar.close()

    mosaics, previews = [], []
    if mosaic:
        for fname, field in plan["fields"].items():
            suffix = "" if list(plan["fields"]) == ["field"] else f"_{fname}"
            path = out_dir / f"mosaic{suffix}.fits"
            if not path.is_file() or todo:
                tiles = {t: out_dir / "tiles" / f"{t.name}.fits" for t in field["tiles"]}
                sky = 0.0 if settings.sky_mag is None else (
                    10 ** (-0.4 * (settings.sky_mag - settings.zero_point))
                    * settings.pixel_scale ** 2)
                write_mosaic(path, settings.field_size, field["wcs"], tiles,
                             header={"FIELD": fname, "ZP": settings.zero_point,
                                     "SKYLEVEL": sky, "SEED": settings.seed})
                write_preview(path, path.with_suffix(".png"))
            mosaics.append(str(path))
            previews.append(str(path.with_suffix(".png")))
    if not keep_stamps:
        for f in (out_dir / "stamps").glob("*.npz"):
            f.unlink()
    n_gal = sum(len(r["rows"]) for field in plan["fields"].values()
                for r in field["rows"].values())
    return {"tiles": [str(job[4]) for job in jobs], "mosaics": mosaics,
            "previews": previews, "n_galaxies": n_gal,
            "n_outside": plan["n_outside"], "n_tiles": len(jobs),
            "n_tiles_done_before": done_before,
            "wall_time_s": time.perf_counter() - t_start}


def _run_dask(todo, needed, stamp_path, model_ref, settings, settings_dict, scheduler,
              n_workers, bar):
    from distributed import Client, LocalCluster, as_completed

    from .parallel import cpu_count

    if scheduler:
        client, cluster = Client(scheduler), None
        threads = None
    else:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        threads = max(1, cpu_count() // n_workers)
    try:
        client.register_plugin(SamplerPlugin(model_ref, settings.batch_size,
                                             settings.range_policy, threads))
        stamp_futures = {}
        for key, (field, nb) in needed.items():
            stamp_futures[key] = client.submit(
                _stamps_task, str(stamp_path[key]), model_ref, field["rows"][nb.name],
                settings_dict, field["wcs"], key=f"stamps-{key[0]}-{key[1]}", pure=False)
        tile_futures = []
        for fname, field, tile, _, tile_path in todo:
            deps = [stamp_futures[(fname, nb.name)] for nb in _neighbours(tile, field)]
            tile_futures.append(client.submit(_tile_task, str(tile_path), tile, deps,
                                              settings_dict, field["wcs"],
                                              key=f"tile-{fname}-{tile.name}", pure=False))
        for future in as_completed(tile_futures):
            future.result()  # re-raises a task's error here
            bar.update(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
