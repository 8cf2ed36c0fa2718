"""``docs/cli.rst``, generated from the parser: every listed command's ``--help``.

``docs/conf.py`` writes the page before Sphinx reads the sources, so the
reference cannot drift from the code.
"""
import argparse

__all__ = ["commands", "reference_rst"]


def _listed(action):
    """The sub-commands a sub-parsers action lists in the help (the hidden ones have no help)."""
    names = [choice.dest for choice in action._choices_actions]
    return [(name, action.choices[name]) for name in names]


def commands(parser=None):
    """Every listed command: ``(words, parser)``, e.g. ``(("validation", "report"), parser)``."""
    from . import build_parser

    parser = parser or build_parser()
    found = []

    def walk(words, p):
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.append((tuple(words), p))
            return
        for name, child in _listed(subs[0]):
            walk(words + [name], child)
    walk([], parser)
    return found


def reference_rst():
    """The reStructuredText of the command-line reference."""
    from . import build_parser

    parser = build_parser()
    lines = ["Command-line reference", "======================", "",
             "Generated from the parser (``galsim_deep/cli/reference.py``) when the docs are "
             "built.  One grammar: ``galsim-deep NOUN VERB [ARGUMENTS]``; every command that "
             "shows progress bars takes ``--quiet``.", "",
             ".. code-block:: text", ""]
    lines += ["   " + line for line in parser.format_help().splitlines()] + [""]
    for words, p in commands(parser):
        title = "galsim-deep " + " ".join(words)
        lines += [title, "-" * len(title), "", ".. code-block:: text", ""]
        lines += [("   " + line).rstrip() for line in p.format_help().splitlines()] + [""]
    return "\n".join(lines + _policy_rst())


def _policy_rst():
    """The section on changed spellings, with the table of removed ones."""
    from . import MOVED_TO_RESEARCH, REMOVED_SPELLINGS

    lines = ["Changing a spelling", "-------------------", "",
             "A renamed command, flag or keyword argument is never removed at once: its old "
             "spelling keeps working for one more minor release, hidden from the help, and "
             "prints one line naming the new spelling each time it runs; the release after, "
             "it is removed, and a script that still uses it stops with one line naming the "
             "new spelling (exit status 2) instead of argparse's usage line "
             "(``REMOVED_SPELLINGS`` in ``galsim_deep/cli/__init__.py``, tested in "
             "``tests/cli/test_cli.py``).  A campaign's command that moved out of the "
             "installed package with its code, into a script of the repository's "
             "``research/`` tree (not installed), keeps its old spelling for one minor "
             "release too: run from a clone, it runs the script with the same options and "
             "prints one line naming it; where the package is installed without the "
             "repository, it stops with that line (``MOVED_TO_RESEARCH``).  Moved:", "",
             ".. list-table::", "   :header-rows: 1", "", "   * - deprecated", "     - use"]
    for old, script in MOVED_TO_RESEARCH.items():
        lines += [f"   * - ``{' '.join(old)}``", f"     - ``python {script}``"]
    lines += ["", "Removed so far:", "",
              ".. list-table::", "   :header-rows: 1", "", "   * - removed", "     - use"]
    for old, new in REMOVED_SPELLINGS.items():
        lines += [f"   * - ``{' '.join(old)}``", f"     - ``{new}``"]
    return lines + [""]
