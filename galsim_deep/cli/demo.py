"""``galsim-deep demo``: render a survey-like field with the default model."""
from . import COMMANDS
from ..data.hub import DEFAULT_MODEL
from ..tools.demo import run_demo


def register(subparsers):
    """Add the ``demo`` command."""
    p = subparsers.add_parser("demo", help=COMMANDS["demo"])
    p.add_argument("--out", default="demo_output", help="output folder (default demo_output)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model (default {DEFAULT_MODEL})")
    p.add_argument("--n", type=int, default=250, help="number of galaxies (default 250)")
    p.add_argument("--field-size", type=int, default=512,
                   help="field side in pixels of 0.2\" (default 512, at least 64)")
    p.add_argument("--seed", type=int, default=2026,
                   help="seed of the conditions, positions, galaxies and noise (default 2026)")
    p.add_argument("--colour-model", default="auto",
                   help="chromatic model of the LSST gri field and colour gallery ('auto', the "
                        "default: --model if chromatic, else the hub's default colour model "
                        "when the index has it; 'none': no colour part)")
    p.add_argument("--skycatalogs", choices=["auto", "none"], default="auto",
                   help="the cosmoDC2 gallery (gallery_skycatalogs.png: galaxies of the CI "
                        "sample of skyCatalogs' wheel, its bulge + disk + knots beside ours "
                        "through the same PSF): 'auto' (default) draws it where skyCatalogs "
                        "is installed (the extra [skycatalogs]); 'none': not")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_demo)


def _demo(args):
    colour = None if args.colour_model.lower() == "none" else args.colour_model
    paths = run_demo(args.out, model_name=args.model, n_galaxies=args.n,
                     field_size=args.field_size, seed=args.seed, colour_model_name=colour,
                     skycatalogs=None if args.skycatalogs == "none" else "auto",
                     progress=not args.quiet)
    for name, path in paths.items():
        print(f"{name:8s} {path}")
    return 0
