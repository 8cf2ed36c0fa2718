"""``galsim-deep hub list|info|download|verify``: the module index and cache."""
import json


def register(subparsers):
    """Add the ``hub`` command group."""
    hub = subparsers.add_parser("hub", help="list, inspect, download and verify hub modules")
    sub = hub.add_subparsers(dest="hub_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="list the modules of the index(es)")
    p.set_defaults(func=_list)

    p = sub.add_parser("info", help="print a module's metadata")
    p.add_argument("model", help="hub:NAME[@VERSION], a module directory, archive or URL")
    p.set_defaults(func=_info)

    p = sub.add_parser("download", help="download and unpack modules into the cache")
    p.add_argument("models", nargs="+", help="hub:NAME[@VERSION] or URL")
    p.set_defaults(func=_download)

    p = sub.add_parser("verify", help="re-check cached modules of the index")
    p.set_defaults(func=_verify)


def _entries():
    from .. import hub

    entries = []
    for location in hub._index_locations():
        entries.extend(hub.load_index(location))
    return entries


def _list(args):
    from .. import hub

    print(f"{'name':32s} {'version':10s} {'size':>10s}  {'cached':8s} description")
    for e in _entries():
        print(f"{e['name']:32s} {e['version']:10s} {e['size'] / 1e6:8.2f}MB  "
              f"{hub.verify_entry(e):8s} {e['description']}")
    print(f"\ncache: {hub.cache_dir()}")
    return 0


def _info(args):
    from ..model import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(args.model)
    print(json.dumps(model.metadata, indent=2, sort_keys=True))
    print(f"\nmodule directory: {model.module_dir}")
    return 0


def _download(args):
    from .. import hub

    for name in args.models:
        print(f"{name}: {hub.resolve(name)}")
    return 0


def _verify(args):
    from .. import hub

    bad = 0
    for e in _entries():
        status = hub.verify_entry(e, load=True)
        bad += status not in ("ok", "not cached")
        print(f"{e['name']}@{e['version']}: {status}")
    return 1 if bad else 0
