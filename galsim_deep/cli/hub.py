"""``galsim-deep hub list|info|download|verify|export|portable|window|wings|shape-prior|
release|yank``: modules, their index and cache.

``release`` (the release check, then the module into an index) and ``yank`` are
:mod:`galsim_deep.cli.release`.

``export`` writes a trained run as a module.
"""
import json
import shutil
import sys
import textwrap

from . import COMMANDS, add_group, add_recipe_args, recipe_from_args
from ..core.extras import install_hint
from .release import add_release


def register(subparsers):
    """Add the ``hub`` command group."""
    sub = add_group(subparsers, "hub", help=COMMANDS["hub"])

    _add_list(sub)
    _add_info(sub)
    _add_download(sub)
    _add_verify(sub)
    add_export(sub, "export")
    _add_portable(sub)
    _add_window(sub)
    _add_wings(sub)
    _add_shape_prior(sub)
    add_release(sub)


def _add_info(sub):
    """Add ``hub info``: a module's conditions and their training ranges."""
    p = sub.add_parser(
        "info", help="print a module's conditions and their training ranges",
        description="Print a module's description, stamps and conditions with their "
                    "training ranges (stay inside them); --json prints its whole metadata "
                    "instead.")
    p.add_argument("model", help="NAME[@VERSION] as `hub list` prints it, hub:NAME[@VERSION], "
                                 "a module directory, archive or URL")
    p.add_argument("--json", action="store_true",
                   help="print the module's whole metadata as JSON instead of the table")
    p.set_defaults(func=_info)


def _add_download(sub):
    """Add ``hub download``: modules into the cache ahead of use."""
    p = sub.add_parser("download", help="download and unpack modules into the cache")
    p.add_argument("models", nargs="+",
                   help="NAME[@VERSION] as `hub list` prints it, hub:NAME[@VERSION] or URL")
    p.set_defaults(func=_download)


def _add_verify(sub):
    """Add ``hub verify``: re-check the cached modules (``--load``: their graphs too)."""
    p = sub.add_parser(
        "verify", help="re-check the cached modules of the index",
        description="Check each cached module of the index(es): the cached archive's sha256 "
                    "against the index, the metadata, and that the SavedModel files are there "
                    "(well under a second).  --load also loads each module's TensorFlow graph "
                    "and checks its signatures against the metadata, which takes about 10 s to "
                    "start TensorFlow and 5 to 20 s per module on a 2-core CPU.")
    p.add_argument("--load", action="store_true",
                   help="also load each module with TensorFlow and check its signatures (slow)")
    p.set_defaults(func=_verify)


def _add_portable(sub):
    """Add ``hub portable``: an ONNX copy of a module's signatures, so that it runs
    without TensorFlow."""
    p = sub.add_parser(
        "portable", help="add a portable (ONNX) copy of a module's sampling and latent "
                         "signatures",
        description="Convert a module directory's sampling signatures, and its encode, "
                    "log_prob and cluster where it has them, to ONNX (tf2onnx), check each "
                    "against TensorFlow on random inputs (1e-5 of each row's peak; of the "
                    "norm of each row's code for the latent ones) and record them in its "
                    "metadata, so that it samples, and its latent tools run, "
                    "without TensorFlow (docs/performance.rst).  A latent signature tf2onnx "
                    "cannot convert is left out with a warning (it runs in TensorFlow).  "
                    "Modules exported by `hub export` have one already.  Needs the [train] "
                    "extra (TensorFlow and tf2onnx).")
    p.add_argument("module", help="an unpacked module directory (changed in place)")
    p.add_argument("--version", default=None,
                   help="also set the module's version: its files change, so publish it as a "
                        "new version")
    p.add_argument("--description", default=None,
                   help="also set the module's description, the index entry's (default: "
                        "unchanged)")
    p.add_argument("--archive", action="store_true",
                   help="also write MODULE.tar.gz and print its index.json entry")
    p.set_defaults(func=_portable)


def _add_window(sub):
    """Add ``hub window``: a metadata entry that fades a module's images before the
    stamp's edge."""
    p = sub.add_parser(
        "window", help="give a module a circular window that fades its images before the "
                       "stamp's edge",
        description="Write the metadata entry 'window' into a module directory: at run time "
                    "every image its sampling signature outputs is multiplied by a raised-cosine "
                    "taper in the radius from the stamp's centre (1 inside --inner-radius, 0 "
                    "beyond --outer-radius) and rescaled to its own flux, so that a rotated "
                    "galaxy shows no square outline (docs/module_format.rst).  The network and "
                    "its portable copy are unchanged; the metadata changes, so publish the "
                    "module as a new --version.")
    p.add_argument("module", help="an unpacked module directory (changed in place)")
    p.add_argument("--inner-radius", type=float, required=True, metavar="PIXELS",
                   help="radius (pixels) inside which the window is 1")
    p.add_argument("--outer-radius", type=float, required=True, metavar="PIXELS",
                   help="radius (pixels) from which the window is 0; the stamp's inscribed "
                        "circle is stamp_size / 2")
    _add_entry_args(p, "window")
    p.set_defaults(func=_window)


def _add_wings(sub):
    """Add ``hub wings``: a metadata entry that continues each image's outer profile past
    the stamp, one flag per parameter of
    :data:`galsim_deep.core.module_format.WINGS_DEFAULTS`."""
    from ..core.module_format import WINGS_DEFAULTS

    p = sub.add_parser(
        "wings", help="give a module wings: each galaxy's own outer profile, continued past "
                      "the stamp",
        description="Write the metadata entry 'wings' into a module directory: at run time "
                    "each image's light beyond --match-radius half-light radii (in its "
                    "elliptical radius) is replaced by an exponential fitted to its own "
                    "profile between --fit-from and --match-radius, drawn on the rotated "
                    "grid past the stamp and faded out before that grid's edge, each image "
                    "keeping its flux (docs/module_format.rst).  A module with a window must "
                    "start from its version without one.  The network is unchanged; the "
                    "metadata changes, so publish the module as a new --version.")
    p.add_argument("module", help="an unpacked module directory (changed in place)")
    meaning = {"match_radius": "half-light radii beyond which the tail replaces the image",
               "fit_from": "half-light radii from which the tail's exponential is fitted",
               "min_scale": "the tail's shortest scale length, half-light radii",
               "max_scale": "the tail's longest scale length, half-light radii",
               "blend": "width of the blend from image to tail, matching radii",
               "edge_margin": "pixels inside the rotated grid's inscribed circle where the "
                              "tail has faded to zero"}
    for key, value in WINGS_DEFAULTS.items():
        p.add_argument("--" + key.replace("_", "-"), type=float, default=value,
                       help=f"{meaning[key]} (default {value:g})")
    _add_entry_args(p, "wings")
    p.set_defaults(func=_wings)


def _add_shape_prior(sub):
    """Add ``hub shape-prior``."""
    p = sub.add_parser(
        "shape-prior", help="ship the catalog's population of axis ratios in a module",
        description="Write the metadata entry 'shape_prior' into a module directory: the "
                    "axis ratios of --galaxies mock galaxies of --population, "
                    "as quantiles in cells of the conditions (--bins); at run time a galaxy "
                    "whose catalog row gives no q draws its axis ratio from its cell "
                    "(docs/shapes.rst).  The network is unchanged; the metadata changes, "
                    "so publish the module as a new --version.")
    p.add_argument("module", help="an unpacked module directory (changed in place)")
    p.add_argument("--population", default="cosmos-25.2",
                   help="the mock population the module was trained on (default cosmos-25.2)")
    p.add_argument("--galaxies", type=int, default=40000,
                   help="mock galaxies to fit (default 40000)")
    p.add_argument("--seed", type=int, default=2_940_000,
                   help="their seed, one no training or evaluation set uses (default "
                        "2940000)")
    p.add_argument("--bins", default="mag_auto=5,flux_radius=5,zphot=3",
                   help="cells per condition, NAME=N,... (default %(default)s)")
    p.add_argument("--levels", type=int, default=32,
                   help="quantiles per cell (default 32)")
    p.add_argument("--axis-ratio", choices=("moments", "sersic"), default="moments",
                   help="the truths' axis ratios: their adaptive moments on the module's "
                        "grid, the shape a mapped galaxy is given (default), or their "
                        "single-Sersic fits (the datasets' parametric row)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_entry_args(p, "population of shapes")
    p.set_defaults(func=_shape_prior)


def _add_list(sub):
    """Add ``hub list``."""
    p = sub.add_parser(
        "list", help="list the modules of the index(es)",
        description="List the modules of the index(es), each name's versions together and "
                    "in order: version (* marks the one a bare hub:NAME gives), archive "
                    "size, where the module is (cached, shipped, local or remote), notes "
                    "(the default model, the models that need TensorFlow, the experimental "
                    "and the yanked ones) and description; a legend follows the table.  "
                    "Versions this install cannot sample (they need TensorFlow, which is "
                    "not installed, or their archive is not in this install) are left out "
                    "and counted (--all lists them).  On a terminal the lines are cut to "
                    "its width (--full prints them whole; so does "
                    "`galsim-deep hub info NAME@VERSION`).  A name it prints is a model "
                    "name: `galsim-deep hub info NAME` or hub:NAME.")
    p.add_argument("--full", action="store_true", help="print every description whole")
    p.add_argument("--all", action="store_true",
                   help="also list the versions this install cannot sample")
    p.set_defaults(func=_list)


def _add_entry_args(p, what):
    """``--version``, ``--description`` and ``--archive`` of ``hub window`` and ``hub wings``."""
    p.add_argument("--version", default=None,
                   help="also set the module's version (default: unchanged)")
    p.add_argument("--description", default=None,
                   help=f"the module's new description (default: its own, with a clause "
                        f"naming the {what})")
    p.add_argument("--archive", action="store_true",
                   help="also write MODULE.tar.gz and print its index.json entry")


def add_export(sub, name):
    """The ``export`` command: a trained run as a hub module."""
    p = sub.add_parser(
        name, help="write a trained run (model and latent flow) as a hub module (+ .tar.gz)",
        description="Export the latest checkpoints of a recipe's run as a galsim_deep module "
                    "(SavedModel + metadata with sample, encode, decode and log_prob "
                    "signatures; MPCC adds sample_cluster and cluster) and print its "
                    "index.json entry.")
    add_recipe_args(p)
    p.add_argument("--out", required=True, help="module directory to write")
    p.add_argument("--name", default=None, help="module name (default: the recipe's)")
    p.add_argument("--version", default=None, help="module version (default: the recipe's)")
    p.add_argument("--archive", action="store_true",
                   help="also write OUT.tar.gz and print its sha256 and size")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--no-portable", dest="portable", action="store_false",
                   help="leave out the portable (ONNX) copy, which takes most of the export's "
                        "time: the module then samples with TensorFlow only, until "
                        "`galsim-deep hub portable OUT` adds the copy (default: written)")
    p.set_defaults(func=_export)
    return p


def _export(args):
    from pathlib import Path

    from ..core.module_format import read_metadata
    from ..training.export import make_archive
    from ..training.families import family_of

    recipe = recipe_from_args(args)
    out = family_of(recipe).export(recipe, args.out, name=args.name, version=args.version,
                                   overwrite=args.overwrite, portable=args.portable)
    meta = read_metadata(out)
    entry = {"name": meta["name"], "version": meta["version"],
             "description": meta["description"]}
    if args.archive:
        archive = make_archive(out)
        entry.update(url=Path(archive["path"]).name, sha256=archive["sha256"],
                     size=archive["size"])
    print(f"exported {meta['name']} {meta['version']} to {out}")
    print(json.dumps(entry, indent=2))
    return 0


def _portable(args):
    from pathlib import Path

    from ..core.module_format import read_metadata, write_metadata
    from ..training.portable import LATENT_SIGNATURES, add_portable_copy

    module = Path(args.module)
    portable = add_portable_copy(module, version=args.version)
    meta = read_metadata(module)
    if args.description is not None:
        meta["description"] = args.description
        write_metadata(module, meta)
    for name, entry in portable["signatures"].items():
        scale = "norm" if name in LATENT_SIGNATURES else "peak"  # the rule it was checked by
        print(f"{name}: {entry['file']}, max |onnx - tensorflow| / {scale} "
              f"{entry['max_relative_difference']:.1e}")
    if args.archive:
        _print_archive(module, meta)
    return 0


def _print_archive(module, meta):
    """Archive a module directory and print its index entry (name, version, description,
    file, sha256, size) for hub_modules/index.json."""
    from pathlib import Path

    from ..training.export import make_archive

    archive = make_archive(module)
    print(json.dumps({"name": meta["name"], "version": meta["version"],
                      "description": meta["description"], "url": Path(archive["path"]).name,
                      "sha256": archive["sha256"], "size": archive["size"]}, indent=2))


def _write_stamp_entry(args, key, entry, clause):
    """:func:`_write_entry` of ``window`` or ``wings``, which exclude each other."""
    from pathlib import Path

    from ..core.errors import InputError
    from ..core.module_format import read_metadata

    module = Path(args.module)
    meta = read_metadata(module)
    for present in ("window", "wings"):
        if present in meta:
            raise InputError(f"{module} has a {present} already ({meta[present]}); start "
                             f"from the module without one")
    return _write_entry(args, module, meta, key, entry, clause, json.dumps(entry))


def _write_entry(args, module, meta, key, entry, clause, summary):
    """Write a module's metadata entry ``key``, its description (``args.description``, or
    its own + ``clause``) and version, then print ``summary`` of it (and its archive's index
    entry with ``--archive``)."""
    from ..core.module_format import write_metadata

    meta[key] = entry
    meta["description"] = args.description or f"{meta['description']}; {clause}"
    if args.version is not None:
        meta["version"] = args.version
    write_metadata(module, meta)
    print(f"{meta['name']} {meta['version']}: {key} {summary}")
    if args.archive:
        _print_archive(module, meta)
    return 0


def _window(args):
    from ..engine.window import window_entry

    return _write_stamp_entry(
        args, "window", window_entry(args.inner_radius, args.outer_radius),
        f"its images fade to zero before the stamp's edge (a circular raised-cosine window "
        f"from {args.inner_radius:g} to {args.outer_radius:g} pixels, each image's flux "
        f"kept), so a rotated galaxy shows no square outline")


def _shape_prior(args):
    import functools
    from pathlib import Path

    from ..core.errors import InputError
    from ..core.module_format import read_metadata
    from ..data.mock_galaxies import sample_shapes
    from ..engine.shape_prior import fit_shape_prior
    from ..engine.shapes import profile_shape

    try:
        bins = {k: int(v) for k, v in (item.split("=") for item in args.bins.split(","))}
    except ValueError:
        raise InputError(f"--bins is NAME=N,... (e.g. mag_auto=5,flux_radius=5), got "
                         f"{args.bins!r}") from None
    module = Path(args.module)
    meta = read_metadata(module)
    measure = None if args.axis_ratio == "sersic" else functools.partial(
        profile_shape, stamp_size=meta["stamp_size"], pixel_scale=meta["pixel_scale"])
    shapes = sample_shapes(args.galaxies, args.seed, args.population, progress=not args.quiet,
                           measure=measure)
    what = ("single-Sersic axis ratios" if measure is None else
            "adaptive-moment axis ratios (as the engine measures a stamp)")
    entry = fit_shape_prior(shapes, shapes["q"], bins, levels=args.levels,
                            source=f"the {what} of {args.galaxies} mock galaxies (population "
                                   f"{args.population}, seed {args.seed})")
    return _write_entry(args, module, meta, "shape_prior", entry,
                        f"a galaxy whose catalog gives no axis ratio draws one from the "
                        f"training catalog's, given its {', '.join(bins)}",
                        f"of {args.galaxies} galaxies, cells {bins}")


def _wings(args):
    from ..engine.wings import WINGS_DEFAULTS, wings_entry

    return _write_stamp_entry(
        args, "wings", wings_entry(**{k: getattr(args, k) for k in WINGS_DEFAULTS}),
        f"each galaxy's light beyond {args.match_radius:g} half-light radii continued by an "
        f"exponential fitted to its own profile, past the stamp (each image's flux kept)")


def _entries():
    from ..data import hub

    entries = []
    for location in hub._index_locations():
        entries.extend(hub.load_index(location))
    return entries


#: What the status column of ``hub list`` says, in the legend's order.
_STATUS = {
    "cached": "unpacked in the cache",
    "shipped": "in galsim_deep's package, unpacked on first use",
    "local": "an archive on this disk, unpacked on first use",
    "remote": "downloaded on first use",
    "absent": "an older version this install leaves out: in the clone's hub_modules/ "
              "(docs/hub.rst, \"Older versions\")",
    "corrupt": "run `galsim-deep hub verify`",
}


def _status(entry):
    """Where an index entry's module is: a key of :data:`_STATUS`."""
    from ..data import hub

    found = hub.verify_entry(entry)
    if found == "ok":
        return "cached"
    if found != "not cached":
        return "corrupt"
    if hub.archive_missing(entry):
        return "absent"
    if hub.is_shipped(entry):
        return "shipped"
    return "local" if entry["url"].startswith("file:") else "remote"


def _needs_tensorflow(meta):
    """Whether a module samples only in TensorFlow (no portable copy of a sampling
    signature); None where its metadata is not known."""
    from ..core.module_format import ModuleFormatError
    from ..engine.kinds import kind_class
    from ..engine.runtimes import has_portable_copy

    if meta is None:
        return None
    try:
        signatures = kind_class(meta).sampling_signatures(meta)
    except (ModuleFormatError, KeyError):
        return None
    return not all(has_portable_copy(meta, name) for name in signatures)


def _notes(entry, defaults):
    """The notes of an index entry (the legend of ``hub list`` says what they mean)."""
    from ..core.module_format import EXPERIMENTAL_PREFIX
    from ..data import hub

    notes = [note for note, default in defaults.items()
             if default is not None and (entry["name"], entry["version"], entry["index"])
             == (default["name"], default["version"], default["index"])]
    tensorflow = _needs_tensorflow(hub.entry_metadata(entry))
    if tensorflow or tensorflow is None:
        notes.append("tensorflow" if tensorflow else "tensorflow?")
    if entry["description"].startswith(EXPERIMENTAL_PREFIX):
        notes.append("experimental")
    if entry.get("yanked"):
        notes.append("yanked")
    return notes


def _legend(notes):
    """What the notes of ``hub list`` mean, those shown only."""
    from ..data import hub

    meaning = {
        "default": f"{hub.DEFAULT_MODEL}, the model used where none is named",
        "colour-default": f"{hub.DEFAULT_COLOUR_MODEL}, the demo's colour model",
        "tensorflow": "samples only with TensorFlow (no portable copy): "
                      + install_hint("tensorflow"),
        "tensorflow?": "whether it needs TensorFlow is known once it is downloaded",
        "experimental": "not for simulations (its description says why)",
        "yanked": "never chosen for a bare hub:NAME, only by its @VERSION, which warns "
                  "why (the index entry's reason)",
    }
    return "; ".join(f"{note} = {text}" for note, text in meaning.items() if note in notes)


def _table(header, rows, right=()):
    """Lines of a table whose columns are as wide as their longest cell; the last column
    is left unpadded and the columns in ``right`` are right-aligned."""
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]

    def line(row):
        cells = [f"{cell:>{w}}" if i in right else f"{cell:<{w}}"
                 for i, (cell, w) in enumerate(zip(row[:-1], widths))]
        return "  ".join(cells + [str(row[-1])]).rstrip()

    return [line(header)] + [line(row) for row in rows]


def _terminal_width():
    """The terminal's width in characters (at least 60) when the output is one, else None:
    a listing piped to a file or another program is not cut."""
    if not sys.stdout.isatty():
        return None
    return max(shutil.get_terminal_size((100, 24)).columns, 60)


def _listed_entries():
    """The index entries as ``hub list`` shows them: each name's versions together (names
    in the order the indexes first list them; an earlier index's versions first) and in
    version order; each with the entry ``hub:NAME`` gives (None where every version is
    yanked)."""
    from ..data import hub

    entries = _entries()
    names = list(dict.fromkeys(e["name"] for e in entries))
    indexes = list(dict.fromkeys(e["index"] for e in entries))
    entries.sort(key=lambda e: (names.index(e["name"]), indexes.index(e["index"]),
                                hub._version_key(e["version"])))
    bare = {}
    for name in names:
        try:
            bare[name] = hub.find_entry(name)
        except hub.HubError:
            bare[name] = None
    return entries, bare


def _same(entry, other):
    return other is not None and (entry["name"], entry["version"], entry["index"]) == (
        other["name"], other["version"], other["index"])


def _tensorflow_installed():
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def _why_not_here(status, marks, tensorflow):
    """Why this install cannot sample a listed version (None where it can): its archive is
    not here (``absent``), or it needs TensorFlow and ``tensorflow`` (whether TensorFlow is
    installed) is False."""
    if status == "absent":
        return "absent"
    if "tensorflow" in marks and not tensorflow:
        return "tensorflow"
    return None


def _list(args):
    from ..data import hub

    defaults = {}
    for note, name in (("default", hub.DEFAULT_MODEL), ("colour-default",
                                                        hub.DEFAULT_COLOUR_MODEL)):
        try:
            defaults[note] = hub.find_entry(name[len("hub:"):])
        except hub.HubError:
            defaults[note] = None
    entries, bare = _listed_entries()
    tensorflow = _tensorflow_installed()
    rows, statuses, notes, hidden = [], [], [], []
    for e in entries:
        status, marks = _status(e), _notes(e, defaults)
        why = _why_not_here(status, marks, tensorflow)
        if why and not args.all:
            hidden.append(why)
            continue
        statuses.append(status)
        notes.extend(marks)
        rows.append([e["name"], e["version"], "*" if _same(e, bare[e["name"]]) else "",
                     f"{e['size'] / 1e6:.1f} MB", status, ",".join(marks), e["description"]])
    lines = _table(["name", "version", "", "size", "status", "notes", "description"], rows,
                   right={3})
    width = _terminal_width()
    if width and not args.full:
        lines = [line if len(line) <= width else line[:width - 1] + "…" for line in lines]
    print("\n".join(lines))
    _print_legend(statuses, notes, hidden, width or 100)
    return 0


def _print_legend(statuses, notes, hidden, width):
    """The legend under ``hub list``'s table: the marks, statuses and notes it shows, what
    it left out, and the cache."""
    import functools

    from ..data import hub

    fill = functools.partial(textwrap.fill, width=width, break_on_hyphens=False)
    print("\n" + fill("*: the version a bare hub:NAME gives (its newest version that is not "
                      "yanked)"))
    print(fill("status: " + "; ".join(
        f"{s} = {text}" for s, text in _STATUS.items() if s in statuses)))
    if notes:
        print(fill("notes: " + _legend(notes)))
    if hidden:
        why = {"tensorflow": "need TensorFlow, which is not installed: "
                             + install_hint("tensorflow"),
               "absent": "are older versions this install leaves out (docs/hub.rst, "
                         "\"Older versions\")"}
        parts = [f"{hidden.count(k)} {text}" for k, text in why.items() if k in hidden]
        print(fill(f"not listed: {len(hidden)} version(s) this install cannot sample "
                   f"({'; '.join(parts)}); --all lists them"))
    print(f"cache: {hub.cache_dir()}")


def _unit(cond):
    """A condition's unit as ``hub info`` shows it: a blank unit is a dimensionless
    quantity (the mock-COSMOS redshift, ``zphot``)."""
    unit = str(cond.get("unit") or "").strip()
    if unit:
        return unit
    return "dimensionless (redshift)" if "redshift" in cond.get("description", "") \
        else "dimensionless"


def _info(args):
    from ..core.module_format import read_metadata
    from ..data import hub

    name = hub.index_name(args.model)
    module_dir = hub.resolve(name)
    meta = read_metadata(module_dir)
    if args.json:
        print(json.dumps(meta, indent=2, sort_keys=True))
        return 0
    tensorflow = _needs_tensorflow(meta)
    print(f"{meta['name']} {meta['version']}: {meta['description']}")
    print(f"module directory: {module_dir}")
    print(f"{meta['stamp_size']}x{meta['stamp_size']} stamps at {meta['pixel_scale']}\"/pixel; "
          + ("samples only with TensorFlow (no portable copy)" if tensorflow else
             "samples without TensorFlow (portable copy)"))
    print("conditions and their training range (stay inside it):")
    rows = [[c["name"], f"{c['min']:.4g}", f"{c['max']:.4g}", _unit(c), c.get("description", "")]
            for c in meta["conditions"]]
    for line in _table(["condition", "min", "max", "unit", "description"], rows, right={1, 2}):
        print("  " + line)
    print(_shapes_line(meta))
    print(f"the whole metadata: galsim-deep hub info {args.model} --json")
    return 0


def _shapes_line(meta):
    """What ``hub info`` says of a module's shapes (docs/shapes.rst)."""
    if "image_flow" in meta:
        return ("shapes: its samples are noisy observed stamps, whose moments are not a "
                "galaxy's: a catalog's q and beta map them, but not to a galaxy's shape")
    prior = meta.get("shape_prior")
    without = (f"its axis ratio from the catalog's population, given its "
               f"{', '.join(prior['conditions'])}" if prior else "its network's own axis ratio")
    return (f"shapes: a catalog's q and beta give each galaxy that shape exactly; without q, "
            f"{without} (docs/shapes.rst)")


def _download(args):
    from ..data import hub

    for name in args.models:
        print(f"{name}: {hub.resolve(hub.index_name(name))}")
    return 0


def _saved_model_files(entry):
    """'ok', or what is missing from a cached module directory."""
    from ..data import hub

    key = f"{entry['name']}-{entry['version']}-{entry['sha256'][:12]}"
    folder = hub.cache_dir() / key
    missing = [name for name in ("saved_model.pb", "variables/variables.index")
               if not (folder / name).is_file()]
    return f"corrupt: {', '.join(missing)} missing from {folder}" if missing else "ok"


def _verify(args):
    from ..data import hub

    bad = 0
    for e in _entries():
        status = hub.verify_entry(e, load=args.load)
        if status == "ok":
            status = _saved_model_files(e)
        bad += status not in ("ok", "not cached")
        print(f"{e['name']}@{e['version']}: {status}")
    if bad:
        print("a corrupt module is fixed by deleting its folder from the cache "
              f"({hub.cache_dir()}) and running `galsim-deep hub download` again")
    return 1 if bad else 0
