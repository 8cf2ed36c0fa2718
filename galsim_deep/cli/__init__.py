"""The ``galsim-deep`` command line, one command group per noun.

``galsim-deep hub | dataset | train | validate | latent | simulate | demo ...``;
each group lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser(s) and sets ``func`` (called
with the parsed arguments, returning an exit status).  Heavy imports
(TensorFlow, GalSim) happen inside the command functions, so
``galsim-deep --help`` is fast.

The project's own errors (:class:`galsim_deep.errors.GalsimDeepError`: bad
input, with a message naming the fix) are printed as one line with exit
status 1; anything else is a bug and raises with its traceback.
"""
import argparse
import importlib
import sys

#: Modules of ``galsim_deep.cli`` that register command groups, in help order.
COMMAND_MODULES = ["hub", "dataset", "train", "validate", "latent", "simulate", "demo"]


def build_parser():
    """Return the top-level ``argparse`` parser with every command group registered."""
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="galsim-deep",
        description="Deep generative galaxy models for GalSim: data, training, hub modules, "
                    "validation and simulations.")
    parser.add_argument("--version", action="version", version=f"galsim_deep {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def add_group(subparsers, name, help, description=None):
    """Add a command group ``name`` and return its sub-command parsers (one is required)."""
    group = subparsers.add_parser(name, help=help, description=description or help)
    sub = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    sub.required = True
    return sub


def main(argv=None):
    """Entry point of the ``galsim-deep`` console script."""
    from ..errors import GalsimDeepError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except GalsimDeepError as err:
        command = " ".join(str(getattr(args, key)) for key in ("command", f"{args.command}_command")
                           if getattr(args, key, None))
        print(f"galsim-deep {command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
