"""``galsim-deep dataset``: build, inspect and look at stamp datasets.

* ``galsim-deep dataset build --source SOURCE --n N --out file.h5`` (a source of
  the registry ``galsim_deep.data.build.SOURCES``; ``--stamp-size``,
  ``--pixel-scale``, ``--processes``, ``--seed``, ``--quiet`` ...);
* ``galsim-deep dataset info file.h5``: attributes, fields, split and label counts;
* ``galsim-deep dataset show file.h5 --out grid.png``: a grid of stamps, truths and PSFs;
* ``galsim-deep dataset compare a.h5 b.h5``: means and spreads of the conditions and
  of HSM sizes and ellipticities;
* ``galsim-deep dataset population --population cosmos-25.2 --out fig.png``: a mock
  population's marginals beside the published measurements, and the fraction lost to
  the stamp.
"""
import sys

from galsim_deep.data.build import SOURCES
from galsim_deep.data.population import POPULATIONS
from . import COMMANDS
from ..core.errors import InputError

__all__ = ["register"]


def register(subparsers):
    """Add the ``dataset`` command group to the ``galsim-deep`` parser."""
    parser = subparsers.add_parser(
        "dataset", help=COMMANDS["dataset"],
        description="Build, inspect and plot HDF5 stamp datasets (see docs/datasets.rst).")
    sub = parser.add_subparsers(dest="dataset_command", metavar="COMMAND")

    def no_subcommand(args):
        parser.print_help()
        return 2

    parser.set_defaults(func=no_subcommand)
    _add_build_parser(sub)
    _add_population_parser(sub)
    _add_colours_parser(sub)
    _add_bands_parser(sub)
    _add_info_parser(sub)
    _add_show_parser(sub)
    _add_compare_parser(sub)


def _add_build_parser(sub):
    """``dataset build``: the options every source shares, then each source's own group
    (:func:`_add_cosmos_source_args`, :func:`_add_mock_source_args`)."""
    b = sub.add_parser("build", help="build a dataset from a source",
                       description="Build an HDF5 stamp dataset.  Interrupted builds resume when "
                                   "the same command is run again; the same seed gives the same "
                                   "arrays whatever --processes is.")
    b.add_argument("--source", required=True, choices=list(SOURCES),
                   help="where the galaxies come from (the registry of sources)")
    b.add_argument("--n", required=True,
                   help="number of galaxies ('all' with --source cosmos: every galaxy passing "
                        "the cuts)")
    b.add_argument("--out", required=True, help="output HDF5 file")
    b.add_argument("--stamp-size", type=int, default=64, help="stamp size in pixels (default 64)")
    b.add_argument("--pixel-scale", type=float, default=0.03,
                   help="pixel scale in arcsec/pixel (default 0.03; with --psf hst a whole "
                        "multiple of 0.03, e.g. 0.06: drawn at 0.03 and binned)")
    b.add_argument("--processes", type=int, default=None,
                   help="worker processes (default: all CPUs)")
    b.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    b.add_argument("--n-test", type=int, default=None,
                   help="number of test examples (default: --test-fraction of n)")
    b.add_argument("--test-fraction", type=float, default=0.1,
                   help="fraction of test examples when --n-test is not given (default 0.1)")
    b.add_argument("--chunk-size", type=int, default=32,
                   help="galaxies per unit of work / resume granularity (default 32)")
    b.add_argument("--overwrite", action="store_true",
                   help="replace an existing output file (atomically, when the new one is done)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_cosmos_source_args(b)
    _add_mock_source_args(b)
    b.add_argument("--max-flux-radius", type=float, default=None,
                   help="selection: largest flux_radius in pixels of 0.03\" (mock default: a "
                        "quarter of the stamp width)")
    b.set_defaults(func=_build)


def _add_cosmos_source_args(b):
    """The ``cosmos source`` group of ``dataset build``: where the real COSMOS sample lies
    and which of its galaxies pass."""
    g = b.add_argument_group("cosmos source")
    g.add_argument("--cosmos-dir", default=None,
                   help="folder of the COSMOS sample (default: where galsim_download_cosmos puts "
                        "it)")
    g.add_argument("--cosmos-file", default=None,
                   help="real-galaxy catalog file name in --cosmos-dir (default "
                        "real_galaxy_catalog_<sample>.fits)")
    g.add_argument("--sample", default=None, choices=["25.2", "23.5"],
                   help="COSMOS sample (default 25.2)")
    g.add_argument("--exclusion-level", default=None,
                   choices=["none", "bad_stamp", "bad_fits", "marginal"],
                   help="GalSim quality cut (default marginal)")


def _add_mock_source_args(b):
    """The ``mock-cosmos source`` group of ``dataset build``: the PSF, noise, population,
    depth and bands of a mock."""
    m = b.add_argument_group("mock-cosmos source")
    m.add_argument("--psf", default=None, choices=["hst", "optical"],
                   help="real HST PSF images (default; 0.03\"/pixel or a whole multiple, "
                        "binned) or optical PSFs (any pixel scale)")
    m.add_argument("--noise", default=None, choices=["cosmos", "white"],
                   help="COSMOS correlated noise (default) or white noise")
    m.add_argument("--population", default=None, choices=list(POPULATIONS),
                   help="galaxy population: cosmos-example (default: a smoothed copy of the 96 "
                        "real example galaxies, I <~ 22.5), cosmos-25.2 (the COSMOS 25.2 sample, "
                        "mag_auto <= 25.2) or great3-deep (same as --deep)")
    m.add_argument("--deep", action="store_true",
                   help="legacy: --population great3-deep (GalSim's GREAT3 recipe, 1.5 mag "
                        "fainter and 0.6x smaller; reaches only I ~ 24 with the example "
                        "catalog: use --population cosmos-25.2 for the 25.2 sample)")
    m.add_argument("--extra-depth", type=float, default=None, metavar="MAG",
                   help="stamps MAG magnitudes deeper than COSMOS: noise variance times "
                        "10**(-0.8 MAG), same galaxies and noise patterns (default 0; for "
                        "experiments on signal-to-noise)")
    m.add_argument("--deep-fraction", type=float, default=None, metavar="F",
                   help="with --extra-depth: only this random fraction of the galaxies is "
                        "made deeper, a deep subset (default 1: all); the other galaxies and "
                        "every noise pattern are those of the build without it")
    m.add_argument("--bands", default=None, metavar="BANDS",
                   help="comma-separated HST ACS bands (F435W, F606W, F775W, F814W, F850LP): "
                        "each galaxy also in these bands, its bulge, disk, knots and companion "
                        "with their own SEDs; F814W stays the mono build's (default: F814W "
                        "only)")


def _add_population_parser(sub):
    """``dataset population``: a mock population's marginals beside published
    measurements (checks the population before any build)."""
    pp = sub.add_parser(
        "population", help="plot a mock population's marginals against published measurements",
        description="Draw galaxies of a mock-COSMOS population and plot their number counts, "
                    "size-magnitude and redshift-magnitude relations beside the published "
                    "measurements, and the fraction lost to the stamp; print the numbers.")
    pp.add_argument("--population", default="cosmos-25.2", choices=list(POPULATIONS),
                    help="population (default cosmos-25.2)")
    pp.add_argument("--out", required=True, help="PNG file to write")
    pp.add_argument("--n", type=int, default=100000,
                    help="galaxies drawn (default 100000)")
    pp.add_argument("--n-structure", type=int, default=20000,
                    help="of which this many get a half-light radius (default 20000)")
    pp.add_argument("--stamp-size", type=int, default=64,
                    help="stamp size whose selection sets the fraction lost (default 64)")
    pp.add_argument("--pixel-scale", type=float, default=0.06,
                    help="pixel scale of those stamps in arcsec/pixel (default 0.06)")
    pp.add_argument("--max-flux-radius", type=float, default=None,
                    help="selection: largest flux_radius in pixels of 0.03\" (default: a quarter "
                         "of the stamp width)")
    pp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    pp.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    pp.set_defaults(func=_population)


def _add_colours_parser(sub):
    """``dataset colours``: a multi-band mock's colours and spectral types beside
    published ones."""
    co = sub.add_parser(
        "colours", help="plot a multi-band mock's colours and spectral types against published "
                        "ones",
        description="Draw galaxies of a mock-COSMOS population with their component SEDs, as "
                    "a multi-band build does, and plot F606W - F814W against redshift (with "
                    "the template tracks) and magnitude, and the spectral-type fractions "
                    "against magnitude beside Benitez (2000) and Driver et al. (1995); print "
                    "the numbers.")
    co.add_argument("--population", default="cosmos-25.2", choices=list(POPULATIONS),
                    help="population (default cosmos-25.2)")
    co.add_argument("--out", required=True, help="PNG file to write")
    co.add_argument("--n", type=int, default=20000, help="galaxies drawn (default 20000)")
    co.add_argument("--band", default="F606W",
                    help="the band of the colour BAND - F814W (default F606W)")
    co.add_argument("--stamp-size", type=int, default=64,
                    help="stamp size whose selection applies (default 64)")
    co.add_argument("--pixel-scale", type=float, default=0.06,
                    help="pixel scale of those stamps in arcsec/pixel (default 0.06)")
    co.add_argument("--seed", type=int, default=0, help="the build seed (default 0)")
    co.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    co.add_argument("--quiet", action="store_true", help="no progress bar")
    co.set_defaults(func=_colours)


def _add_bands_parser(sub):
    """``dataset add-bands``: a one-band mock file's galaxies' magnitudes in more bands."""
    ab = sub.add_parser(
        "add-bands", help="add each galaxy's magnitude in more bands to a one-band mock file",
        description="Add each galaxy's AB magnitude in more HST bands (conditions "
                    "mag_<band>) to a one-band mock-COSMOS file, exactly as a multi-band build "
                    "of the same seed holds them, so that a colour module can be sampled at "
                    "its galaxies' catalog rows (the release check of a colour module).  "
                    "Each galaxy is recomputed from its own seed and checked against the "
                    "file's conditions; the file is rewritten under a temporary name.")
    ab.add_argument("path", help="the mock-COSMOS HDF5 file (galsim-deep dataset build "
                                 "--source mock-cosmos)")
    ab.add_argument("--bands", required=True,
                    help="comma-separated bands besides F814W, e.g. F606W")
    ab.add_argument("--quiet", action="store_true", help="no progress bar")
    ab.set_defaults(func=_add_bands)


def _add_info_parser(sub):
    """``dataset info``: a dataset's attributes and contents, as text or JSON."""
    i = sub.add_parser("info", help="print a dataset's attributes and contents")
    i.add_argument("path", help="HDF5 stamp dataset")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    i.set_defaults(func=_info)


def _add_show_parser(sub):
    """``dataset show``: a PNG grid of stamps with their PSFs and truths."""
    s = sub.add_parser("show", help="draw a PNG grid of stamps with their PSFs and truths")
    s.add_argument("path", help="HDF5 stamp dataset")
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("--n", type=int, default=2, help="rows of galaxies (default 2)")
    s.add_argument("--columns", type=int, default=4, help="galaxies per row (default 4)")
    s.add_argument("--split", default="all", choices=["train", "test", "all"],
                   help="which galaxies to draw from (default all)")
    s.add_argument("--seed", type=int, default=0,
                   help="seed of the choice of galaxies (default 0)")
    s.add_argument("--title", default=None,
                   help="figure title (default: the source and stamp geometry)")
    s.set_defaults(func=_show)


def _add_compare_parser(sub):
    """``dataset compare``: the conditions and HSM sizes of several datasets side by
    side."""
    c = sub.add_parser("compare", help="compare populations: conditions and HSM size / |g|")
    c.add_argument("paths", nargs="+", help="HDF5 stamp datasets")
    c.add_argument("--catalog", action="store_true",
                   help="add a column for the real COSMOS example catalog's conditions")
    c.add_argument("--catalog-max-flux-radius", type=float, default=None,
                   help="apply this flux_radius cut (pixels of 0.03\") to the catalog column, "
                        "like the mock selection")
    c.add_argument("--max-examples", type=int, default=2000,
                   help="measure at most this many stamps per file (default 2000)")
    c.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    c.set_defaults(func=_compare)


def _build(args):
    import time
    from pathlib import Path

    from galsim_deep.data.build import build_dataset

    if str(args.n).lower() == "all":
        n = None
    else:
        try:
            n = int(args.n)
        except ValueError:
            raise InputError(f"--n must be a whole number of galaxies or 'all', got {args.n!r}")
    options = {}
    for key, value in (("cosmos_dir", args.cosmos_dir), ("file_name", args.cosmos_file),
                       ("sample", args.sample), ("exclusion_level", args.exclusion_level),
                       ("psf", args.psf), ("noise", args.noise),
                       ("population", args.population),
                       ("max_flux_radius", args.max_flux_radius),
                       ("extra_depth", args.extra_depth),
                       ("deep_fraction", args.deep_fraction), ("bands", args.bands)):
        if value is not None:
            options[key] = value
    if args.deep:
        if args.population not in (None, "great3-deep"):
            raise InputError(f"--deep is --population great3-deep and cannot be combined with "
                             f"--population {args.population}: drop --deep")
        options.pop("population", None)
        options["deep"] = True
        if args.source == "mock-cosmos":
            print("galsim-deep dataset: note: --deep is the legacy name of --population "
                  "great3-deep (GalSim's GREAT3 recipe, which reaches only I ~ 24 with the "
                  "example catalog); the COSMOS 25.2 sample is --population cosmos-25.2",
                  file=sys.stderr)
    flags = {"cosmos_dir": "--cosmos-dir", "file_name": "--cosmos-file", "sample": "--sample",
             "exclusion_level": "--exclusion-level", "psf": "--psf", "noise": "--noise",
             "deep": "--deep", "population": "--population", "extra_depth": "--extra-depth",
             "bands": "--bands"}
    wrong = {"cosmos": ("psf", "noise", "deep", "population", "extra_depth", "bands"),
             "mock-cosmos": ("cosmos_dir", "file_name", "sample", "exclusion_level")}[args.source]
    bad = [flags[k] for k in wrong if k in options]
    if bad:
        raise InputError(f"{', '.join(bad)} do(es) not apply to --source {args.source}")
    start = time.perf_counter()
    out = build_dataset(args.source, n, args.out, stamp_size=args.stamp_size,
                        pixel_scale=args.pixel_scale, seed=args.seed, processes=args.processes,
                        progress=not args.quiet, overwrite=args.overwrite,
                        test_fraction=args.test_fraction, n_test=args.n_test,
                        chunk_size=args.chunk_size, **options)
    elapsed = time.perf_counter() - start
    from galsim_deep.data.reader import StampDataset

    with StampDataset(out) as ds:
        n = ds.n_examples
        attrs = ds.attrs
    size = Path(out).stat().st_size
    print(f"wrote {out}: {n} galaxies ({attrs.get('n_train')} train, {attrs.get('n_test')} test), "
          f"{size / 1e6:.1f} MB; {elapsed:.1f} s, {n / elapsed:.1f} galaxies/s")
    return 0


def _info(args):
    import json

    import numpy as np

    from galsim_deep.data.reader import StampDataset

    with StampDataset(args.path) as ds:
        attrs = ds.attrs
        fields = {}
        for name in ds.fields:
            if name == "conditions":
                continue
            d = ds._file[name]
            fields[name] = {"dtype": str(d.dtype), "shape": list(d.shape),
                            "compression": d.compression, "chunks": list(d.chunks or ())}
        cond = ds.arrays("all", ["conditions"])["conditions"]
        stats = {name: {"unit": unit, "mean": float(cond[:, j].mean()),
                        "std": float(cond[:, j].std()), "min": float(cond[:, j].min()),
                        "max": float(cond[:, j].max())}
                 for j, (name, unit) in enumerate(zip(ds.condition_names, ds.condition_units))}
        split = {name: int(len(ds.indices(name))) for name in ("train", "test")}
        labels = {}
        if "label" in ds.fields:
            lab = ds.arrays("all", ["label"])["label"]
            labels = {name: int(np.sum(lab == k)) for k, name in enumerate(ds.class_names)}
    report = {"path": str(args.path), "attributes": attrs, "fields": fields,
              "conditions": stats, "split": split, "labels": labels}
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return 0
    print(f"{args.path}")
    print("attributes:")
    for key in sorted(attrs):
        value = attrs[key]
        if isinstance(value, dict):
            value = json.dumps(value, sort_keys=True)
        print(f"  {key}: {value}")
    print("fields:")
    for name, f in fields.items():
        print(f"  {name:20s} {f['dtype']:8s} {str(tuple(f['shape'])):20s} "
              f"chunks={tuple(f['chunks'])} {f['compression'] or ''}")
    print("conditions (all examples):")
    for name, s in stats.items():
        print(f"  {name:12s} [{s['unit']}] mean {s['mean']:.3f} std {s['std']:.3f} "
              f"range {s['min']:.3f} .. {s['max']:.3f}")
    print(f"split: {split['train']} train, {split['test']} test")
    if labels:
        print("labels: " + ", ".join(f"{k} {v}" for k, v in labels.items()))
    return 0


def _show(args):
    from galsim_deep.data.plots import plot_grid

    if args.n < 1 or args.columns < 1:
        raise InputError("--n (rows) and --columns must be >= 1")
    out = plot_grid(args.path, args.out, n=args.n * args.columns, split=args.split,
                    seed=args.seed, columns=args.columns, title=args.title)
    print(f"wrote {out}")
    return 0


def _compare(args):
    import json

    from galsim_deep.core.files import atomic_path
    from galsim_deep.data.population_stats import (catalog_summary, compare_table,
                                                       population_summary)

    summaries, labels = [], []
    for path in args.paths:
        summaries.append(population_summary(path, max_examples=args.max_examples))
        labels.append(str(path).rsplit("/", 1)[-1])
    if args.catalog:
        summaries.append(catalog_summary(max_flux_radius=args.catalog_max_flux_radius))
        labels.append("real catalog" if args.catalog_max_flux_radius is None
                      else f"catalog fr<={args.catalog_max_flux_radius:g}")
    print(compare_table(summaries, labels))
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(dict(zip(labels, summaries)), indent=1))
    return 0


def _population(args):
    import json

    from galsim_deep.core.files import atomic_path
    from galsim_deep.data.plots import plot_population
    from galsim_deep.data.population_stats import marginals_table

    if args.n < 100 or args.n_structure < 1:
        raise InputError("--n must be >= 100 and --n-structure >= 1")
    m = plot_population(args.out, population=args.population, n=args.n,
                        n_structure=args.n_structure, seed=args.seed,
                        stamp_size=args.stamp_size, pixel_scale=args.pixel_scale,
                        max_flux_radius=args.max_flux_radius)
    print(marginals_table(m))
    print(f"wrote {args.out}")
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({k: v for k, v in m.items() if k != "catalog"}, indent=1))
    return 0


def _add_bands(args):
    from galsim_deep.data.band_columns import add_band_magnitudes

    added = add_band_magnitudes(args.path, args.bands, progress=not args.quiet)
    print(f"added {', '.join(added)} to {args.path}")
    return 0


def _colours(args):
    import json

    from galsim_deep.core.files import atomic_path
    from galsim_deep.data.colour_stats import (TYPE_NAMES, colour_sample, colour_summary,
                                                   plot_colours)

    sample = colour_sample(args.population, args.n, args.seed, args.stamp_size,
                           args.pixel_scale, band=args.band, progress=not args.quiet)
    summary = colour_summary(sample)
    plot_colours(sample, summary, args.out, band=args.band)
    print(f"{'F814W':>11s} {'n':>6s}  " + "  ".join(f"{t:>17s}" for t in TYPE_NAMES)
          + "   (mock / Benitez 2000)")
    for b in summary["by_magnitude"]:
        cells = "  ".join(f"{f:.3f}+-{e:.3f}/{r:.3f}" for f, e, r in
                          zip(b["fractions"], b["errors"], b["benitez"]))
        print(f"{b['lo']:5.1f}-{b['hi']:4.1f} {b['n']:6d}  {cells}")
    o = summary["overall"]
    print(f"E/S0 to F814W 24.5: {o['fraction_e_to_24.5']:.3f} +- {o['error']:.3f} "
          f"(Driver et al. 1995: {o['driver_1995']:.3f} +- {o['driver_1995_error']:.3f})")
    print(f"{'zphot':>9s} {'n':>6s}  {args.band}-F814W median [16%, 84%]  E/S0")
    for b in summary["by_redshift"]:
        if b["n"]:
            print(f"{b['lo']:4.2f}-{b['hi']:4.2f} {b['n']:6d}  {b['colour_median']:.2f} "
                  f"[{b['colour_p16']:.2f}, {b['colour_p84']:.2f}]  {b['fraction_e']:.3f}")
    print(f"wrote {args.out}")
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(summary, indent=1))
    return 0
