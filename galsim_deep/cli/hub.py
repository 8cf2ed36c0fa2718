"""``galsim-deep hub list|info|download|verify|export|portable|window``: modules, their index
and cache.

``export`` writes a trained run as a module (the previous release's ``galsim-deep
train export``, which still works with a deprecation line).
"""
import json

from . import add_group, add_recipe_args, recipe_from_args


def register(subparsers):
    """Add the ``hub`` command group."""
    sub = add_group(subparsers, "hub",
                    help="list, inspect, download, verify and export hub modules")

    p = sub.add_parser("list", help="list the modules of the index(es)")
    p.set_defaults(func=_list)

    p = sub.add_parser("info", help="print a module's metadata")
    p.add_argument("model", help="hub:NAME[@VERSION], a module directory, archive or URL")
    p.set_defaults(func=_info)

    p = sub.add_parser("download", help="download and unpack modules into the cache")
    p.add_argument("models", nargs="+", help="hub:NAME[@VERSION] or URL")
    p.set_defaults(func=_download)

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
    add_export(sub, "export")

    p = sub.add_parser(
        "portable", help="add a portable (ONNX) copy of a module's sampling and latent "
                         "signatures",
        description="Convert a module directory's sampling signatures, and its encode, "
                    "log_prob and cluster where it has them, to ONNX (tf2onnx), check each "
                    "against TensorFlow on random inputs (1e-5 of each row's peak) and record "
                    "them in its metadata, so that it samples, and its latent tools run, "
                    "without TensorFlow (docs/performance.rst).  A latent signature tf2onnx "
                    "cannot convert is left out with a warning (it runs in TensorFlow).  "
                    "Modules exported by `hub export` have one already.  Needs the [train] "
                    "extra (TensorFlow and tf2onnx).")
    p.add_argument("module", help="an unpacked module directory (changed in place)")
    p.add_argument("--version", default=None,
                   help="also set the module's version: its files change, so publish it as a "
                        "new version")
    p.add_argument("--archive", action="store_true",
                   help="also write MODULE.tar.gz and print its index.json entry")
    p.set_defaults(func=_portable)

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
    p.add_argument("--version", default=None,
                   help="also set the module's version (default: unchanged)")
    p.add_argument("--description", default=None,
                   help="the module's new description (default: its own, with a clause "
                        "naming the window)")
    p.add_argument("--archive", action="store_true",
                   help="also write MODULE.tar.gz and print its index.json entry")
    p.set_defaults(func=_window)


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
    p.set_defaults(func=_export)
    return p


def _export(args):
    from pathlib import Path

    from ..core.module_format import read_metadata
    from ..training.export import make_archive
    from ..training.families import family_of

    recipe = recipe_from_args(args)
    out = family_of(recipe).export(recipe, args.out, name=args.name, version=args.version,
                                   overwrite=args.overwrite)
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

    from ..core.module_format import read_metadata
    from ..training.export import make_archive
    from ..training.portable import add_portable_copy

    module = Path(args.module)
    portable = add_portable_copy(module, version=args.version)
    meta = read_metadata(module)
    for name, entry in portable["signatures"].items():
        print(f"{name}: {entry['file']}, max |onnx - tensorflow| / peak "
              f"{entry['max_relative_difference']:.1e}")
    if args.archive:
        archive = make_archive(module)
        print(json.dumps({"name": meta["name"], "version": meta["version"],
                          "description": meta["description"],
                          "url": Path(archive["path"]).name, "sha256": archive["sha256"],
                          "size": archive["size"]}, indent=2))
    return 0


def _window(args):
    from pathlib import Path

    from ..core.errors import InputError
    from ..core.module_format import read_metadata, write_metadata
    from ..engine.window import window_entry

    module = Path(args.module)
    meta = read_metadata(module)
    if "window" in meta:
        raise InputError(f"{module} has a window already ({meta['window']}); start from the "
                         f"module without one")
    meta["window"] = window_entry(args.inner_radius, args.outer_radius)
    meta["description"] = args.description or (
        f"{meta['description']}; its images fade to zero before the stamp's edge (a circular "
        f"raised-cosine window from {args.inner_radius:g} to {args.outer_radius:g} pixels, "
        f"each image's flux kept), so a rotated galaxy shows no square outline")
    if args.version is not None:
        meta["version"] = args.version
    write_metadata(module, meta)
    print(f"{meta['name']} {meta['version']}: window {json.dumps(meta['window'])}")
    if args.archive:
        from ..training.export import make_archive

        archive = make_archive(module)
        print(json.dumps({"name": meta["name"], "version": meta["version"],
                          "description": meta["description"],
                          "url": Path(archive["path"]).name, "sha256": archive["sha256"],
                          "size": archive["size"]}, indent=2))
    return 0


def _entries():
    from ..data import hub

    entries = []
    for location in hub._index_locations():
        entries.extend(hub.load_index(location))
    return entries


def _list(args):
    from ..data import hub

    print(f"{'name':32s} {'version':10s} {'size':>10s}  {'cached':8s} description")
    for e in _entries():
        print(f"{e['name']:32s} {e['version']:10s} {e['size'] / 1e6:8.2f}MB  "
              f"{hub.verify_entry(e):8s} {e['description']}")
    print(f"\ncache: {hub.cache_dir()}")
    return 0


def _info(args):
    from ..api.model import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(args.model)
    print(json.dumps(model.metadata, indent=2, sort_keys=True))
    print(f"\nmodule directory: {model.module_dir}")
    print(f"{model.stamp_size}x{model.stamp_size} stamps at {model.pixel_scale}\"/pixel; "
          f"conditions and their training range (stay inside it):")
    for cond in model.metadata["conditions"]:
        print(f"  {cond['name']:14s} {cond['min']:9.4g} .. {cond['max']:<9.4g} "
              f"{cond.get('unit', '')}")
    return 0


def _download(args):
    from ..data import hub

    for name in args.models:
        print(f"{name}: {hub.resolve(name)}")
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
