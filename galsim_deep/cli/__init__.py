"""The ``galsim-deep`` command line.

Each command group lives in its own module of this package and exposes
``register(subparsers)``, which adds its sub-command parser(s) and sets
``func`` (called with the parsed arguments, returning an exit status).
Heavy imports (TensorFlow, GalSim) happen inside the command functions, so
``galsim-deep --help`` is fast.
"""
import argparse
import importlib
import sys

#: Modules of ``galsim_deep.cli`` that register command groups, in help order.
COMMAND_MODULES = [
    "hub",
    "dataset",
    "demo",
    "validate",
    "train",
    "latent",
    "cluster",
    "simulate",
]


def build_parser():
    """Return the top-level ``argparse`` parser with every command group registered."""
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="galsim-deep",
        description="Deep generative galaxy models for GalSim: data, training, hub modules.")
    parser.add_argument("--version", action="version", version=f"galsim_deep {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv=None):
    """Entry point of the ``galsim-deep`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except (KeyError, ValueError, FileNotFoundError, TypeError, RuntimeError) as err:
        # Errors raised for bad input carry a message that names the problem
        # and the fix; show it without a traceback.
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"galsim-deep {args.command}: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
