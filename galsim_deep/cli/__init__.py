"""The ``galsim-deep`` command line: one grammar, ``galsim-deep NOUN VERB [ARGS]``.

``galsim-deep hub | dataset | model | validation | latent | field ...`` (and
``demo``); each noun's group lives in its own module of this package and
exposes ``register(subparsers)``, which adds its parser(s) and sets ``func``
(called with the parsed arguments, returning an exit status).  Every group's
sub-commands are listed as ``COMMAND``, and every command that shows progress
bars takes ``--quiet``.  Heavy imports (TensorFlow, GalSim) happen inside the
command functions, so ``galsim-deep --help`` is fast.

Spellings of the previous release (``train ...``, ``validate ...``,
``simulate``, ``--no-progress``) still work for one release: they are hidden
from the help, run the same code and print one line naming the new spelling
(:func:`deprecate`, :func:`deprecated_flag`).

The project's own errors (:class:`galsim_deep.core.errors.GalsimDeepError`: bad
input, with a message naming the fix) are printed as one line with exit
status 1; anything else is a bug and raises with its traceback.  Warnings are
printed as ``galsim-deep: warning: MESSAGE``.  Where an error or a warning
advises a keyword argument of the library (``range_policy='clip'``,
``column_map={...}``) and the command has the flag that sets it, the advice
names the flag instead (:data:`CLI_OPTIONS`, :func:`cli_spelling`).
"""
import argparse
import contextlib
import importlib
import sys
import warnings

#: Modules of ``galsim_deep.cli`` that register command groups, in help order.
COMMAND_MODULES = ["hub", "dataset", "model", "validation", "latent", "field", "demo"]


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
    """Add a command group ``name`` and return its sub-command parsers (one is required).

    ``subparsers`` may be a :class:`HiddenCommands` (an old group name, hidden from the help).
    """
    group = subparsers.add_parser(name, help=help, description=description or help)
    sub = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    sub.required = True
    return sub


def add_recipe_args(p):
    """Add the RECIPE argument and ``--set KEY=VALUE`` overrides to a command's parser."""
    from ..training.recipes import available_recipes

    p.add_argument("recipe", help="shipped recipe name (" + ", ".join(available_recipes(None))
                                  + ") or path of a recipe YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set vae.steps=100 (repeatable)")


def positive(name, value, zero_ok=False):
    """Refuse a count option below 1 (``zero_ok``: below 0) with an error naming it; None
    (an option left unset) passes."""
    from ..core.errors import InputError

    if value is not None and value < (0 if zero_ok else 1):
        raise InputError(f"{name} must be {'>= 0' if zero_ok else '>= 1'}, got {value}")


def recipe_from_args(args):
    """Load the recipe named by :func:`add_recipe_args`'s arguments, with its overrides."""
    from ..training.recipes import load_recipe

    return load_recipe(args.recipe, args.overrides)


class HiddenCommands:
    """A sub-command adder that leaves its commands out of the help (argparse lists only the
    commands that have a help): the previous release's spellings, registered by the same
    builders as the new ones (see :func:`deprecate`)."""

    def __init__(self, sub):
        self.sub = sub

    def add_parser(self, name, help=None, **kwargs):
        return self.sub.add_parser(name, **kwargs)


def deprecate(parser, old, new):
    """Mark a parser reached by an old spelling: running it prints one line naming ``new``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    old, new : str
        The old and the new spelling after ``galsim-deep``, e.g. ``"train export"``
        and ``"hub export"``.
    """
    parser.set_defaults(deprecated=(old, new))


def deprecate_group(sub, old, new):
    """:func:`deprecate` every command of an old group name (``validate X`` -> ``validation X``)."""
    for name, parser in sub.choices.items():
        deprecate(parser, f"{old} {name}", f"{new} {name}")


def deprecated_flag(new):
    """An ``argparse`` action for an old flag spelling: sets ``new``'s (boolean) destination and
    prints the deprecation line (``--no-progress`` -> ``--quiet``)."""
    class DeprecatedFlag(argparse.Action):
        def __init__(self, option_strings, dest, **kwargs):
            kwargs.setdefault("help", argparse.SUPPRESS)
            super().__init__(option_strings, dest, nargs=0, **kwargs)

        def __call__(self, parser, namespace, values, option_string=None):
            setattr(namespace, self.dest, True)
            _warn_deprecated(option_string, new)

    return DeprecatedFlag


def _warn_deprecated(old, new):
    print(f"galsim-deep: '{old}' is deprecated and goes in the next release; use '{new}' "
          f"(same arguments)", file=sys.stderr)


#: The library's keyword arguments that commands set with a flag: keyword -> (the flag's
#: ``argparse`` destination, its spelling of a value), for the advice of errors and
#: warnings (:func:`galsim_deep.core.errors.reworded`).
CLI_OPTIONS = {
    "range_policy": ("range_policy", lambda value: f"--range-policy {value}"),
    "column_map": ("column", lambda value: "--column CONDITION=COLUMN"),
}


def cli_spelling(args):
    """How a command spells the options its errors and warnings advise.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line: an option is spelled as a flag where the command has that
        flag (its destination is in ``args``), else left in Python.

    Returns
    -------
    callable
        ``spell(option)`` -> str or None, for :func:`galsim_deep.core.errors.reworded`.
    """
    def spell(option):
        dest, flag = CLI_OPTIONS.get(option.name, (None, None))
        return flag(option.value) if dest is not None and hasattr(args, dest) else None

    return spell


@contextlib.contextmanager
def cli_warnings(spell):
    """Print the warnings raised inside as ``galsim-deep: warning: MESSAGE`` on stderr, their
    advice spelled by ``spell``; another package's warning also names its category and
    line.  The previous warning display is restored on exit."""
    from ..core.errors import reworded

    def show(message, category, filename, lineno, file=None, line=None):
        text = reworded(message, spell) if isinstance(message, Warning) else str(message)
        if not category.__module__.startswith("galsim_deep"):
            text += f" ({category.__name__}, {filename}:{lineno})"
        print(f"galsim-deep: warning: {text}", file=file or sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv=None):
    """Entry point of the ``galsim-deep`` console script."""
    from ..core import tensorflow_logs
    from ..core.errors import GalsimDeepError, reworded

    tensorflow_logs.install()  # the command's own process: TensorFlow starts quietly

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "deprecated", None):
        _warn_deprecated(*(f"galsim-deep {spelling}" for spelling in args.deprecated))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    spell = cli_spelling(args)
    try:
        with cli_warnings(spell):
            return args.func(args) or 0
    except GalsimDeepError as err:
        command = " ".join(str(getattr(args, key)) for key in ("command", f"{args.command}_command")
                           if getattr(args, key, None))
        print(f"galsim-deep {command}: error: {reworded(err, spell)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
