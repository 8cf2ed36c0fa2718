"""Render survey fields from a catalog, tile by tile, on Dask (``galsim-deep field render``).

A field is cut into square tiles and every galaxy belongs to the tile holding
its centre.  Each tile takes two tasks: ``stamps`` samples its galaxies and
draws their PSF-convolved stamps, ``tile`` adds up the stamps reaching into it
(its own and its 8 neighbours') and the sky noise; the tiles are then copied
into a mosaic.  The tasks run on a ``dask.distributed`` cluster, or in this
process (``n_workers=0``, no Dask needed).  Results do not depend on the number
of workers or the order tasks finish, and interrupted runs resume: see
``docs/simulate.rst`` ("How it runs").

One module per job:

- :mod:`~galsim_deep.api.simulate.plan`: settings, tiles, catalog reading, seeds,
  mock catalogs, the plan of a run;
- :mod:`~galsim_deep.api.simulate.render`: the stamps of a tile's galaxies, the
  model of each process, assembling a tile;
- :mod:`~galsim_deep.api.simulate.mosaic`: the mosaic FITS file and its PNG preview;
- :mod:`~galsim_deep.api.simulate.distributed`: the Dask worker plugin and run
  (needs the optional extra ``[simulate]``);
- :mod:`~galsim_deep.api.simulate.region`: the field of a skyCatalogs region
  (:func:`render_region`: our galaxies or the catalog's own, through an LSST band; needs
  the optional extra ``[skycatalogs]``);
- this package: :func:`simulate`, the driver, and the run's manifest.
"""
import json
import time
from pathlib import Path

from tqdm import tqdm

from ...core.errors import InputError
from ...core.files import atomic_path, sha256sum
from ...core.parallel import cpu_count
from ...data import hub
from ...data.hub import DEFAULT_MODEL  # noqa: F401  (the default of SimulationSettings.model)
from ..model import GenerativeGalaxyModel
from .mosaic import write_mosaic, write_preview
from .plan import (SimulationSettings, Tile, _neighbours, mock_catalog, plan_simulation,
                   read_catalog, tile_seed)
from .region import region_settings, render_region
from .render import _stamps_task, _tile_task, assemble_tile, render_stamps, worker_model

__all__ = ["SimulationSettings", "Tile", "read_catalog", "plan_simulation", "simulate",
           "render_stamps", "assemble_tile", "write_mosaic", "tile_seed",
           "worker_model", "SamplerPlugin", "mock_catalog", "write_preview",
           "render_region", "region_settings"]

#: Manifest of a run in its output folder.
MANIFEST = "simulation.json"


def __getattr__(name):
    # SamplerPlugin needs Dask, the optional extra [simulate]: it is imported when asked
    # for, so that runs in this process (n_workers=0) work without Dask.
    if name == "SamplerPlugin":
        from .distributed import SamplerPlugin

        return SamplerPlugin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
            raise InputError(f"{out_dir} holds a simulation made differently ({detail}); "
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
    t_start = time.perf_counter()
    settings = settings or SimulationSettings()
    out_dir = Path(out_dir)
    cat = read_catalog(catalog)
    model = GenerativeGalaxyModel(settings.model, batch_size=settings.batch_size,
                                  range_policy=settings.range_policy)
    if "magnitude_condition" not in model.metadata["flux"]:
        raise InputError(f"model {settings.model} declares no flux.magnitude_condition, so "
                         "galaxy fluxes cannot follow catalog magnitudes: use a module with "
                         "a magnitude condition (such as mag_auto)")
    conditions, magnitudes, canvas = model.kind.catalog_rows(cat, column_map,
                                                             model.range_policy)
    plan = plan_simulation(cat, settings, conditions, magnitudes, canvas)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_manifest(out_dir, _manifest(settings, catalog, model), overwrite)
    # Workers on this machine load the resolved module folder; remote ones resolve the name.
    model_ref = settings.model if scheduler else str(hub.resolve(settings.model))
    settings_dict = settings.to_dict()

    # Stamps are needed for every tile next to an unfinished one.
    jobs, todo, needed, stamp_path = _jobs(plan, out_dir)
    done_before = len(jobs) - len(todo)

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
            from .distributed import run_dask  # (Dask: the optional extra [simulate])

            run_dask(todo, needed, stamp_path, model_ref, settings, settings_dict, scheduler,
                     n_workers or cpu_count(), bar)
    finally:
        bar.close()

    return _finish(plan, jobs, todo, done_before, settings, out_dir, mosaic, keep_stamps,
                   t_start)


def _jobs(plan, out_dir):
    """A run's tiles, ``(field name, field, tile, stamp path, tile path)``; those still to
    assemble; and, per ``(field name, tile name)`` whose stamps they need (each unfinished
    tile's and its neighbours'), ``(field, tile)`` and the stamp file."""
    jobs = []
    for fname, field in plan["fields"].items():
        for tile in field["tiles"]:
            jobs.append((fname, field, tile, out_dir / "stamps" / f"{tile.name}.npz",
                         out_dir / "tiles" / f"{tile.name}.fits"))
    (out_dir / "stamps").mkdir(exist_ok=True)
    (out_dir / "tiles").mkdir(exist_ok=True)
    todo = [job for job in jobs if not job[4].is_file()]
    needed = {}
    for fname, field, tile, _, _ in todo:
        for nb in _neighbours(tile, field):
            needed[(fname, nb.name)] = (field, nb)
    stamp_path = {key: out_dir / "stamps" / f"{key[1]}.npz" for key in needed}
    return jobs, todo, needed, stamp_path


def _finish(plan, jobs, todo, done_before, settings, out_dir, mosaic, keep_stamps, t_start,
            header=None):
    """Write each field's mosaic and preview (again if a tile was redone), drop the stamp
    files unless kept, and return the run's summary (:func:`simulate`)."""
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
                                     "SKYLEVEL": sky, "SEED": settings.seed,
                                     **(header or {})})
                write_preview(path, path.with_suffix(".png"))
            mosaics.append(str(path))
            previews.append(str(path.with_suffix(".png")))
    if not keep_stamps:
        for f in (out_dir / "stamps").glob("*.npz"):
            f.unlink()
        try:
            (out_dir / "stamps").rmdir()  # the folder too, unless something else is in it
        except OSError:
            pass
    n_gal = sum(len(r["rows"]) for field in plan["fields"].values()
                for r in field["rows"].values())
    return {"tiles": [str(job[4]) for job in jobs], "mosaics": mosaics,
            "previews": previews, "n_galaxies": n_gal,
            "n_outside": plan["n_outside"], "n_tiles": len(jobs),
            "n_tiles_done_before": done_before,
            "wall_time_s": time.perf_counter() - t_start}
