"""Rendering a tile: its galaxies' stamps, then the tile image.

Two steps per tile, each also a task of the distributed run
(:mod:`galsim_deep.api.simulate.distributed`) that writes one file and is skipped
if its file exists (so interrupted runs resume):

``stamps``
    :func:`render_stamps`: sample the tile's own galaxies (one network call
    per ``batch_size``, in catalog order) and draw each through the Kolmogorov
    PSF onto its postage stamp at its exact place in the field (the engine's
    drawing, :func:`galsim_deep.engine.drawing.draw_galaxies`); saved as
    ``stamps/<field>_<i>_<j>.npz``.
``tile``
    :func:`assemble_tile`: add the stamps of the tile's galaxies and of its
    8 neighbours' that reach into it, in a fixed order, then the sky noise
    (its own seed); written as ``tiles/<field>_<i>_<j>.fits``.

Each process loads the network once (:func:`worker_model`).
"""
from pathlib import Path

import galsim
import numpy as np

from ...core.files import atomic_path
from ...engine import object_seeds
from ...engine.batch import catalog_batches
from ...engine.drawing import draw_galaxies
from ..model import GenerativeGalaxyModel
from .plan import SimulationSettings, _settings_args, tile_seed

__all__ = ["worker_model", "render_stamps", "assemble_tile"]

def worker_model(model, batch_size=64, range_policy="warn"):
    """The model, its network loaded in this process (once per process: the engine's one
    cache, :mod:`galsim_deep.engine.network`).

    Parameters
    ----------
    model : str
        Model name or path.
    batch_size : int
        Galaxies per network call.
    range_policy : {'warn', 'clip', 'error'}
        See `GenerativeGalaxyModel`.

    Returns
    -------
    GenerativeGalaxyModel
    """
    m = GenerativeGalaxyModel(model, batch_size=int(batch_size), range_policy=range_policy)
    m.network.runner("sample")
    return m


def render_stamps(model, galaxies, settings, wcs, block=True):
    """Sample the galaxies of one tile and draw their postage stamps through the PSF.

    :func:`galsim_deep.engine.drawing.draw_galaxies` draws them: where the field's WCS is
    one pixel scale at every galaxy (a field placed by pixel positions) a batch at once,
    in one block; elsewhere (a TAN field, whose local frame turns across the sky) each
    galaxy through GalSim.

    Parameters
    ----------
    model : GenerativeGalaxyModel
        The generator.
    galaxies : dict
        ``rows`` (catalog rows), ``x``, ``y`` (field pixels, 1-based) and
        ``conditions`` (dict of arrays) of the tile's galaxies, catalog order.
    settings : SimulationSettings
        PSF, stamp size, zero point, seed and batch size.
    wcs : galsim.BaseWCS
        The field's WCS.
    block : bool
        Draw in blocks where the WCS allows (default); False draws every galaxy with
        GalSim (the reference the block is tested and timed against).

    Returns
    -------
    dict
        ``rows`` [n], ``xmin``, ``ymin`` [n] (1-based field pixel of each
        stamp's lower-left corner) and ``stamps`` [n, S, S] float32 (counts).
    """
    rows = np.asarray(galaxies["rows"], dtype=np.int64)
    n, size = len(rows), int(settings.stamp_size)
    if n == 0:
        return {"rows": rows, "xmin": np.zeros(0, np.int64), "ymin": np.zeros(0, np.int64),
                "stamps": np.zeros((0, size, size), np.float32)}
    conds = {q: np.asarray(v, dtype=np.float32) for q, v in galaxies["conditions"].items()}
    # Catalog row r is object r of the API's rng=seed (the engine's draws rule).
    seeds = object_seeds(settings.seed, n, rows=rows)
    batches = catalog_batches(model.kind, conds, seeds, int(settings.batch_size),
                              settings.rotate, magnitudes=galaxies.get("magnitudes"),
                              canvas=galaxies.get("canvas"))
    xy = np.stack([np.asarray(galaxies[c], np.float64) for c in ("x", "y")], axis=-1)
    stamps, corners = draw_galaxies(batches, galsim.Kolmogorov(fwhm=settings.psf_fwhm), size,
                                    wcs, positions=xy, flux={"zero_point": settings.zero_point},
                                    block=block)
    return {"rows": rows, "xmin": corners[:, 0].copy(), "ymin": corners[:, 1].copy(),
            "stamps": stamps}


def assemble_tile(tile, stamp_sets, settings, wcs):
    """Add the stamps reaching into a tile, then the sky noise.

    Parameters
    ----------
    tile : Tile
        The tile (its bounds in field pixels).
    stamp_sets : list of dict
        Outputs of :func:`render_stamps` for the tile and its neighbours, in a
        fixed order (the stamps are added in that order).
    settings : SimulationSettings
        Stamp size, zero point, sky brightness and seed.
    wcs : galsim.BaseWCS
        The field's WCS.

    Returns
    -------
    galsim.ImageF
        The tile in counts (sky subtracted), with the field's WCS and a header
        (``ZP``, ``SKYLEVEL`` in counts per pixel, ``NSTAMPS``...).
    """
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


def _stamps_task(path, model, galaxies, settings_dict, wcs):
    """Task: render a tile's own galaxies and save their stamps (kept if present).

    Run in this process or on a Dask worker; its arguments pickle.
    """
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


def _tile_task(path, tile, stamp_paths, settings_dict, wcs, header=None):
    """Task: assemble a tile from its stamp files and write it (kept if present), with
    ``header``'s cards added to its own."""
    path = Path(path)
    if path.is_file():
        return str(path)
    settings = SimulationSettings(**_settings_args(settings_dict))
    sets = []
    for p in stamp_paths:
        with np.load(p) as data:
            sets.append({k: data[k] for k in data.files})
    image = assemble_tile(tile, sets, settings, wcs)
    for key, value in (header or {}).items():
        image.header[key] = value
    with atomic_path(path) as tmp:
        galsim.fits.write(image, str(tmp))
    return str(path)
