"""``galsim-deep field render CATALOG --out DIR``: render survey fields by tiles on Dask.

``galsim-deep field render --skycatalog CONFIG --region RA_MIN RA_MAX DEC_MIN DEC_MAX
--band i --out DIR`` renders a skyCatalogs region's galaxies instead, drawn by the model
(or, ``--catalog-profiles``, the catalog's own bulge + disk + knots) through an LSST band
(:mod:`galsim_deep.api.simulate.region`).
"""
from pathlib import Path

from . import COMMANDS, add_group
from ..api.simulate import SimulationSettings, mock_catalog, simulate
from ..api.simulate.region import BAND_SKY, LSST_BANDS, STAMP_SIZE, WIDE
from ..core.errors import InputError
from ..core.files import atomic_path
from ..data.hub import DEFAULT_MODEL


def register(subparsers):
    """Add the ``field`` command group."""
    sub = add_group(subparsers, "field", help=COMMANDS["field"])
    _add_render_args(sub.add_parser("render", help="render the fields of a catalog into FITS "
                                                   "tiles and a mosaic",
                                    description=_RENDER))


_RENDER = ("Render the fields of a catalog (FITS or ECSV: x/y in field pixels or ra/dec in "
           "degrees, the model's condition columns, optionally a 'field' column) into FITS "
           "tiles and a mosaic, on a Dask LocalCluster (default) or a cluster's scheduler.  "
           "Each worker loads the model once.  Interrupted runs resume: run the same command "
           "again.  Results do not depend on the number of workers.  With --skycatalog "
           "CONFIG --region RA_MIN RA_MAX DEC_MIN DEC_MAX instead of CATALOG: the galaxies "
           "of a skyCatalogs region (the optional extra [skycatalogs]), at their sky "
           "positions on a TAN projection around the region's centre, each with its own "
           "SED through an LSST band, drawn by the model (or by the catalog's own bulge + "
           "disk + knots, --catalog-profiles), in this process.")


def _add_render_args(p):
    """The options of ``field render``: the catalog (or a skyCatalogs region,
    :func:`_add_skycatalog_args`), the field and its observation, and how the run is
    spread over Dask."""
    p.add_argument("catalog", nargs="?", default=None,
                   help="catalog file (.fits or .ecsv); or --skycatalog")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", default=None, help=f"model (default {DEFAULT_MODEL})")
    _add_skycatalog_args(p)
    p.add_argument("--field-size", type=int, nargs="+", default=None, metavar="N",
                   help="field size in pixels: NX [NY] (default 2048; with --skycatalog the "
                        "region's extent)")
    p.add_argument("--pixel-scale", type=float, default=0.2, help="arcsec/pixel (default 0.2)")
    p.add_argument("--tile-size", type=int, default=512, help="tile side, pixels (default 512)")
    p.add_argument("--psf-fwhm", type=float, default=0.7,
                   help="Kolmogorov PSF FWHM, arcsec (default 0.7)")
    p.add_argument("--stamp-size", type=int, default=None,
                   help=f"postage stamp side per galaxy, pixels (default 32; {STAMP_SIZE} "
                        f"with --skycatalog)")
    p.add_argument("--zero-point", type=float, default=None,
                   help="AB mag giving 1 count (default: LSST-like i band, 30 s: 31.99; with "
                        "--skycatalog the band's AB zero point for Rubin's area, as imSim "
                        "takes it, and 30 s)")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--sky-mag", type=float, default=None,
                       help="sky brightness, AB mag/arcsec^2, for Poisson noise (default 20.5; "
                            "with --skycatalog the band's dark sky)")
    noise.add_argument("--no-noise", action="store_true", help="noiseless images")
    p.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    p.add_argument("--batch-size", type=int, default=64,
                   help="galaxies per network call (default 64); the images do not depend on it")
    p.add_argument("--range-policy", choices=["warn", "clip", "error"], default="warn",
                   help="conditions outside the training range (default warn)")
    p.add_argument("--center", type=float, nargs=2, default=None, metavar=("RA", "DEC"),
                   help="field centre in degrees for ra/dec catalogs (default: middle of the "
                        "galaxies; with --skycatalog the region's centre)")
    p.add_argument("--column", action="append", default=[], metavar="CONDITION=COLUMN",
                   help="read a condition from another column, e.g. mag_auto=MAG_I")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="LocalCluster worker processes (default: one per core); 0 runs in "
                            "this process without Dask")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="address of a running Dask scheduler (tcp://host:8786); its workers "
                            "must see --out and have galsim_deep installed")
    p.add_argument("--make-mock-catalog", type=int, default=None, metavar="N",
                   help="first write CATALOG with N mock-COSMOS galaxies at random positions")
    p.add_argument("--no-mosaic", action="store_true", help="tiles only")
    p.add_argument("--keep-stamps", action="store_true",
                   help="keep the per-tile stamp files after the run")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a run made with other settings in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_render)
    return p


def _add_skycatalog_args(p):
    """The ``field render`` group that renders a skyCatalogs region instead of a catalog
    file: the catalog's config, the region, the band and whose profiles to draw."""
    sky = p.add_argument_group("a skyCatalogs region (instead of CATALOG)")
    sky.add_argument("--skycatalog", default=None, metavar="CONFIG",
                     help="the skyCatalogs catalog's top-level YAML config")
    sky.add_argument("--region", type=float, nargs=4, default=None,
                     metavar=("RA_MIN", "RA_MAX", "DEC_MIN", "DEC_MAX"),
                     help="the region whose galaxies to render, degrees")
    sky.add_argument("--band", choices=LSST_BANDS, default="i",
                     help="the LSST band (default i)")
    sky.add_argument("--catalog-profiles", action="store_true",
                     help="draw the catalog's own bulge + disk + knots instead of the model's "
                          "galaxies (the comparison)")
    sky.add_argument("--skycatalog-root", default=None, metavar="DIR",
                     help="the folder holding the catalog's files (default: skyCatalogs' rule, "
                          "$SKYCATALOG_ROOT or the config's skycatalog_root)")


def _column_map(items):
    mapping = {}
    for item in items:
        name, sep, column = item.partition("=")
        if not sep or not name or not column:
            raise InputError(f"--column {item!r}: write CONDITION=COLUMN, e.g. "
                             "--column mag_auto=MAG_I")
        mapping[name] = column
    return mapping


def _render(args):
    if args.field_size is not None and len(args.field_size) not in (1, 2):
        raise InputError("--field-size takes NX or NX NY (pixels)")
    if (args.catalog is None) == (args.skycatalog is None):
        raise InputError("give a CATALOG file or --skycatalog CONFIG --region RA_MIN RA_MAX "
                         "DEC_MIN DEC_MAX (one of them)")
    if args.skycatalog is not None:
        return _render_region(args)
    if args.region is not None or args.catalog_profiles:
        raise InputError("--region and --catalog-profiles select a skyCatalogs region: give "
                         "--skycatalog CONFIG with them")
    kwargs = dict(model=args.model or DEFAULT_MODEL,
                  field_size=tuple(args.field_size or [2048]),
                  pixel_scale=args.pixel_scale, tile_size=args.tile_size,
                  psf_fwhm=args.psf_fwhm, stamp_size=args.stamp_size or 32,
                  sky_mag=None if args.no_noise else (20.5 if args.sky_mag is None
                                                      else args.sky_mag),
                  seed=args.seed, batch_size=args.batch_size,
                  range_policy=args.range_policy, center=args.center)
    if args.zero_point is not None:
        kwargs["zero_point"] = args.zero_point
    settings = SimulationSettings(**kwargs)
    if args.make_mock_catalog:
        # the conditions of the population the model was trained on, inside its stamp
        from ..core.module_format import read_metadata
        from ..data.hub import resolve

        meta = read_metadata(resolve(settings.model))
        cat = mock_catalog(args.make_mock_catalog, settings.field_size, seed=args.seed,
                           model_stamp_size=meta["stamp_size"],
                           model_pixel_scale=meta["pixel_scale"],
                           population=meta.get("provenance", {}).get("population"),
                           conditions=meta["conditions"])
        path = Path(args.catalog)
        with atomic_path(path) as tmp:
            fmt = "ascii.ecsv" if path.suffix.lower() == ".ecsv" else "fits"
            cat.write(tmp, format=fmt, overwrite=True)
        print(f"wrote {path}: {len(cat)} mock-COSMOS galaxies")
    result = simulate(args.catalog, args.out, settings, scheduler=args.scheduler,
                      n_workers=args.workers, column_map=_column_map(args.column) or None,
                      mosaic=not args.no_mosaic, keep_stamps=args.keep_stamps,
                      overwrite=args.overwrite, progress=not args.quiet)
    print(f"{result['n_galaxies']} galaxies in {result['n_tiles']} tiles "
          f"({result['n_tiles_done_before']} kept from an earlier run) in "
          f"{result['wall_time_s']:.1f} s; {result['n_outside']} outside the field")
    for path in result["mosaics"] + result["previews"]:
        print(f"wrote {path}")
    print(f"tiles in {Path(args.out) / 'tiles'}")
    return 0


def _render_region(args):
    """``field render --skycatalog CONFIG --region ...``: a skyCatalogs region's field."""
    from ..api.simulate import region_settings, render_region
    from ..core.extras import require

    require("skycatalogs", "galsim-deep field render --skycatalog")
    if args.region is None:
        raise InputError("--skycatalog takes --region RA_MIN RA_MAX DEC_MIN DEC_MAX (degrees)")
    other = [flag for flag, given in (("--column", args.column),
                                      ("--make-mock-catalog", args.make_mock_catalog),
                                      ("--scheduler", args.scheduler),
                                      ("--workers", args.workers)) if given]
    if other:
        raise InputError(f"{', '.join(other)} apply to a CATALOG file: a skyCatalogs region "
                         f"is rendered in this process from the catalog's own columns")
    settings = region_settings(
        args.region, args.band, pixel_scale=args.pixel_scale, field_size=args.field_size,
        zero_point=args.zero_point, sky_mag=None if args.no_noise else (
            BAND_SKY if args.sky_mag is None else args.sky_mag),
        stamp_size=args.stamp_size or STAMP_SIZE, model=args.model or DEFAULT_MODEL,
        tile_size=args.tile_size, psf_fwhm=args.psf_fwhm, seed=args.seed,
        batch_size=args.batch_size, range_policy=args.range_policy, center=args.center)
    result = render_region(args.skycatalog, args.region, args.out, settings, band=args.band,
                           catalog_profiles=args.catalog_profiles,
                           skycatalog_root=args.skycatalog_root, mosaic=not args.no_mosaic,
                           keep_stamps=args.keep_stamps, overwrite=args.overwrite,
                           progress=not args.quiet)
    if "range_line" in result:
        print(result["range_line"])
    print(f"{result['n_galaxies']} of the region's {result['n_region']} galaxies drawn by "
          f"{result['drawn_by']} through LSST {result['band']} (zero point "
          f"{result['zero_point']:.2f}) in {result['n_tiles']} tiles "
          f"({result['n_tiles_done_before']} kept from an earlier run) in "
          f"{result['wall_time_s']:.1f} s; {result['n_outside']} outside the field")
    if result["n_wide"]:
        side = settings.stamp_size * settings.pixel_scale
        print(f"{result['n_wide']} galaxies have a half-light radius over {WIDE * side:.2f}\" "
              f"(an eighth of the {side:.1f}\" stamp): their light beyond the stamp is lost; "
              f"raise --stamp-size to keep it")
    for path in result["mosaics"] + result["previews"]:
        print(f"wrote {path}")
    print(f"tiles in {Path(args.out) / 'tiles'}")
    return 0
