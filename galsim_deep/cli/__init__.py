"""The ``galsim-deep`` command line: one grammar, ``galsim-deep NOUN VERB [ARGS]``.

``galsim-deep hub | dataset | model | validation | latent | field ...`` (and
``demo``); each noun's group lives in its own module of this package and
exposes ``register(subparsers)``, which adds its parser(s) and sets ``func``
(called with the parsed arguments, returning an exit status); the registry
:data:`COMMAND_GROUPS` names each group's ``register``.  Every group's
sub-commands are listed as ``COMMAND``, and every command that shows progress
bars takes ``--quiet``.

Start-up: :func:`main` imports only the module of the group a command names (the others
get a parser holding their help line, :data:`COMMANDS`), heavy imports (TensorFlow,
GalSim) happen inside the command functions, and in the console script's process
``import galsim_deep`` imports nothing else (``galsim_deep/__init__.py``), so
``galsim-deep --help`` imports neither GalSim nor NumPy and ``hub list`` no GalSim
(``benchmarks/bench_cli.py``, ``benchmarks/cli.json``).  Every command but those of
:data:`LIGHT_COMMANDS` registers the package's GalSim config types before it runs.

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
import sys
import warnings
from pathlib import Path

from ..core.registry import Registry

#: The command groups, in help order, and the line ``galsim-deep --help`` shows for each
#: (each group's module of this package registers its parser with that line).
COMMANDS = {
    "hub": "list, inspect, download, verify and export hub modules",
    "dataset": "build, inspect and plot HDF5 stamp datasets (training data)",
    "model": "train models from recipes, distil decoders",
    "validation": "measure models: reports, reconstructions, clusters, latent space",
    "latent": "encode datasets, find similar galaxies and anomalies",
    "field": "render large fields from a catalog, tile by tile, on Dask",
    "demo": "render an LSST-like field with a generative model",
}

#: Spellings removed after their release of deprecation (the policy: docs/cli.rst, "Changing
#: a spelling"), each with the spelling that replaced it: ``(old words) -> new words``, the
#: longest match first.  A script that still uses one gets an error that names the new
#: spelling, not argparse's usage line.
REMOVED_SPELLINGS = {
    ("train", "export"): "hub export",
    ("train", "flow"): "model train-flow",
    ("train", "distill"): "model distill",
    ("train", "classifier"): "python research/classes/ceiling.py",
    ("train",): "model train RECIPE (the family is the recipe's)",
    ("validate",): "validation (the same sub-commands)",
    ("simulate",): "field render",
    ("--no-progress",): "--quiet",
}

#: Campaign commands that moved out of the installed package with their code, into scripts
#: of the repository's ``research/`` tree (not installed), deprecated for one minor release:
#: ``(old words) -> script``, the same options.  Run from a clone, the old spelling still
#: runs the script, with a warning naming it; where the package is installed without the
#: repository, it stops with one line naming the script.  The release after, each joins
#: :data:`REMOVED_SPELLINGS`.
MOVED_TO_RESEARCH = {
    ("validation", "priors"): "research/priors/prior_table.py",
    ("validation", "latent-fit"): "research/code_fits/latent_fit.py",
    ("validation", "convergence"): "research/code_fits/convergence.py",
    ("validation", "semi-supervised"): "research/classes/semi_supervised.py",
    ("validation", "ceiling"): "research/classes/ceiling.py",
    ("validation", "shear-outliers"): "research/shear/shear_outliers.py",
    ("latent", "classify"): "research/classes/latent_classify.py",
}

#: How a spelling of :data:`REMOVED_SPELLINGS` that moved to ``research/`` starts.
RESEARCH_SCRIPT = "python research/"


def run_moved_command(argv, repository=None):
    """Run a command of :data:`MOVED_TO_RESEARCH` as its script, or None for another.

    Parameters
    ----------
    argv : list of str
        The command line's words.
    repository : pathlib.Path, optional
        Where ``research/`` is looked for (default: the repository a development install
        runs from, the package folder's parent).

    Returns
    -------
    int or None
        The script's exit status (a warning naming the script is printed first); 2 with
        one line naming the script where the repository is not there; None when ``argv``
        names no moved command.
    """
    import runpy

    moved = next(((old, script) for old, script in MOVED_TO_RESEARCH.items()
                  if tuple(argv[:len(old)]) == old), None)
    if moved is None:
        return None
    old, script = moved
    if repository is None:
        repository = Path(__file__).resolve().parents[2]
    path = repository / script
    if not path.is_file():
        print(f"galsim-deep: '{' '.join(old)}' moved out of the installed package into the "
              f"repository's research/ tree; from a clone, use 'python {script}' instead "
              f"(the same options)", file=sys.stderr)
        return 2
    print(f"galsim-deep: warning: '{' '.join(old)}' moved into the repository's research/ "
          f"tree and this spelling goes in the next minor release; use 'python {script}' "
          f"(the same options)", file=sys.stderr)
    saved = sys.argv
    sys.argv = [str(path)] + list(argv[len(old):])
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.argv = saved
    return 0


def removed_spelling(argv):
    """The error line for a removed spelling in ``argv`` (:data:`REMOVED_SPELLINGS`), or
    None: a command's first words, or a removed flag anywhere."""
    for old, new in sorted(REMOVED_SPELLINGS.items(), key=lambda kv: -len(kv[0])):
        flag = old[0].startswith("--")
        if (flag and old[0] in argv) or (not flag and tuple(argv[:len(old)]) == old):
            if new.startswith(RESEARCH_SCRIPT):
                return (f"galsim-deep: '{' '.join(old)}' moved out of the installed package "
                        f"into the repository's research/ tree; from a clone, use '{new}' "
                        f"instead (the same options)")
            return (f"galsim-deep: '{' '.join(old)}' was removed after a release of "
                    f"deprecation; use '{new}' instead (galsim-deep --help lists the "
                    f"commands)")
    return None


#: The command groups, in help order: name -> the ``register(subparsers)`` of its module of
#: this package, imported only when a command names the group (listing the names imports
#: nothing).  A new group is its module, its entry here and its help line in
#: :data:`COMMANDS`.
COMMAND_GROUPS = Registry("command group", {
    name: f"{__name__}.{name}:register" for name in COMMANDS})

#: The names of :data:`COMMAND_GROUPS` (the modules of ``galsim_deep.cli`` that register
#: command groups), in help order.
COMMAND_MODULES = list(COMMAND_GROUPS)

#: Commands that need neither GalSim nor the package's GalSim config types: the console
#: script runs them without importing either (``galsim_deep/__init__.py``).
LIGHT_COMMANDS = {("hub", "list"), ("hub", "info")}


def build_parser(groups=None):
    """Return the top-level ``argparse`` parser.

    Parameters
    ----------
    groups : iterable of str, optional
        The command groups to register in full (their modules are imported); the others
        get a parser holding only their help line (:data:`COMMANDS`), so that
        ``galsim-deep --help``, or a command of one group, imports no other group's
        module.  Default: every group.

    Returns
    -------
    argparse.ArgumentParser
    """
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="galsim-deep",
        description="Deep generative galaxy models for GalSim: data, training, hub modules, "
                    "validation and simulations.")
    parser.add_argument("--version", action="version", version=f"galsim_deep {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    full = set(COMMAND_GROUPS if groups is None else groups)
    for name in COMMAND_GROUPS:
        if name in full:
            COMMAND_GROUPS[name](subparsers)
        else:
            subparsers.add_parser(name, help=COMMANDS[name], add_help=False)
    return parser


def _named_group(argv):
    """The command group an argument list names (its first word that is not an option),
    or None."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    return word if word in COMMAND_GROUPS else None


def add_group(subparsers, name, help, description=None):
    """Add a command group ``name`` and return its sub-command parsers (one is required)."""
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

    tensorflow_logs.install()  # the command's own process: TensorFlow starts quietly

    argv = sys.argv[1:] if argv is None else list(argv)
    removed = removed_spelling(argv)
    if removed:
        print(removed, file=sys.stderr)
        return 2
    moved = run_moved_command(argv)
    if moved is not None:
        return moved
    group = _named_group(argv)
    parser = build_parser([group] if group else [])
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if (args.command, getattr(args, f"{args.command}_command", None)) not in LIGHT_COMMANDS:
        from ..api import config  # noqa: F401  (GalSim's config types, for YAML and fields)
    command = " ".join(str(getattr(args, key)) for key in ("command", f"{args.command}_command")
                       if getattr(args, key, None))
    return run_command(args.func, args, f"galsim-deep {command}")


def run_command(func, args, name):
    """Run a command's function as the console script runs it.

    Parameters
    ----------
    func : callable
        ``func(args)`` -> exit status (None: 0).
    args : argparse.Namespace
        The parsed command line.
    name : str
        The command as its error lines name it (``galsim-deep hub list``; a script of
        ``research/`` gives its own, ``python research/...``).

    Returns
    -------
    int
        The exit status: the project's own errors are printed as one line, ``NAME: error:
        MESSAGE``, with status 1, and warnings as ``galsim-deep: warning: MESSAGE``
        (:func:`cli_warnings`), their advice spelled as the command's flags.
    """
    from ..core.errors import GalsimDeepError, reworded

    spell = cli_spelling(args)
    try:
        with cli_warnings(spell):
            return func(args) or 0
    except GalsimDeepError as err:
        print(f"{name}: error: {reworded(err, spell)}", file=sys.stderr)
        return 1



def run_script(parser, func, argv=None):
    """Run a script's command line as the console script runs a command: a script of the
    repository's ``research/`` tree uses it for its ``main``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The script's parser; its ``prog`` names the script in error lines.
    func : callable
        ``func(args)`` -> exit status; ``args.argv`` holds the words parsed (for a report
        that gives the command that made it).
    argv : list of str, optional
        Default: ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status (:func:`run_command`).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    return run_command(func, args, parser.prog)

if __name__ == "__main__":
    sys.exit(main())
