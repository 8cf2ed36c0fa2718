"""One command-line grammar: ``galsim-deep NOUN VERB``, one progress flag, one metavar,
registries for choices, and the previous release's spellings gone."""
import argparse

from pathlib import Path

import pytest

from galsim_deep.cli import MOVED_TO_RESEARCH, build_parser, main
from galsim_deep.cli.reference import commands, reference_rst


def _subparser_actions(parser):
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def test_every_command_is_a_noun_and_a_verb():
    listed = [" ".join(words) for words, _ in commands()]
    assert "validation report" in listed and "hub export" in listed and "field render" in listed
    for words, _ in commands():
        assert len(words) == 2 or words == ("demo",), words
    # No group lists a verb as a noun any more.
    nouns = {words[0] for words, _ in commands()}
    assert nouns == {"hub", "dataset", "model", "validation", "latent", "field", "demo"}


def test_one_metavar_and_one_progress_flag():
    parser = build_parser()

    def walk(p):
        for action in _subparser_actions(p):
            assert action.metavar == "COMMAND", p.prog
            for child in action.choices.values():
                walk(child)
        for action in p._actions:
            for flag in action.option_strings:
                if "progress" in flag:  # only the hidden old spelling
                    assert action.help == argparse.SUPPRESS, (p.prog, flag)
    walk(parser)
    quiet = [" ".join(w) for w, p in commands(parser)
             if any("--quiet" in a.option_strings for a in p._actions)]
    assert {"dataset build", "validation report", "model train", "field render"} <= set(quiet)


def test_choices_come_from_the_registries():
    from galsim_deep.data.build import SOURCES
    from galsim_deep.data.population import POPULATIONS
    from galsim_deep.tools.validation.measures import MEASURES

    parser = dict((" ".join(w), p) for w, p in commands())
    build = {a.dest: a for a in parser["dataset build"]._actions}
    assert list(build["source"].choices) == list(SOURCES)
    assert list(build["population"].choices) == list(POPULATIONS)
    report = parser["validation report"].format_help()
    assert all(name in " ".join(report.split()) for name in MEASURES)


@pytest.mark.parametrize("argv, old, new", [
    (["train", "flow-vae", "mock-cosmos-64"], "train", "model train RECIPE"),
    (["train", "export", "mock-cosmos-64", "--out", "x"], "train export", "hub export"),
    (["validate", "report", "m", "--dataset", "d", "--out", "x"], "validate", "validation"),
    (["simulate", "cat.fits", "--out", "x"], "simulate", "field render"),
    (["dataset", "build", "--source", "mock-cosmos", "--out", "x.h5", "--no-progress"],
     "--no-progress", "--quiet"),
])
def test_a_removed_spelling_names_the_new_one(argv, old, new, capsys):
    """``train ...``, ``validate ...``, ``simulate`` and ``--no-progress`` were deprecated for
    one release and are gone from the parser (argparse refuses them), but a script that
    still uses one gets one line naming its new spelling and exit status 2."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"galsim-deep: '{old}' was removed after a release of deprecation; "
                          f"use '{new}"), err


def test_the_removed_spellings_are_no_commands_today():
    """No removed spelling shadows a command that exists: no command's words start with
    an old spelling (``validation priors`` is gone, ``validation`` stays a group), and the
    removed flag is no option of any command."""
    from galsim_deep.cli import MOVED_TO_RESEARCH, REMOVED_SPELLINGS
    from galsim_deep.cli.reference import commands

    words = [w for w, _ in commands()]
    groups = {w[0] for w in words}
    for old in [o for o in REMOVED_SPELLINGS if not o[0].startswith("--")] + list(
            MOVED_TO_RESEARCH):
        assert not any(w[:len(old)] == old for w in words), old
        assert len(old) > 1 or old[0] not in groups
    options = {o for _, p in commands() for a in p._actions for o in a.option_strings}
    assert "--no-progress" not in options


@pytest.mark.parametrize("old, script", [(list(o), s) for o, s in MOVED_TO_RESEARCH.items()],
                         ids=[" ".join(o) for o in MOVED_TO_RESEARCH])
def test_a_command_moved_to_research_still_runs_its_script_with_a_warning(old, script,
                                                                          capsys):
    """A campaign command that moved out of the package with its code runs its script of
    research/ from a clone for one minor release, with a warning naming the script; the
    options reach the script (its own --help)."""
    argv = old + ["--help"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert f"warning: '{' '.join(argv[:2])}' moved into the repository's research/" in err
    assert f"use 'python {script}'" in err
    assert out.startswith("usage:") and Path(script).stem in out


def test_a_command_moved_to_research_names_its_script_without_the_repository(tmp_path,
                                                                            capsys):
    """Installed without the repository, the moved command stops with one line naming the
    script (exit status 2), not argparse's usage line."""
    from galsim_deep.cli import run_moved_command

    assert run_moved_command(["validation", "priors", "hub:m"], repository=tmp_path) == 2
    err = capsys.readouterr().err
    assert "moved out of the installed package" in err
    assert "use 'python research/priors/prior_table.py' instead" in err
    assert run_moved_command(["hub", "list"], repository=tmp_path) is None


def test_every_research_spelling_names_a_script_that_exists():
    from galsim_deep.cli import MOVED_TO_RESEARCH, REMOVED_SPELLINGS, RESEARCH_SCRIPT
    from tests.checks import ROOT

    scripts = [new.split()[1] for new in REMOVED_SPELLINGS.values()
               if new.startswith(RESEARCH_SCRIPT)] + list(MOVED_TO_RESEARCH.values())
    assert len(scripts) >= 8
    assert all((ROOT / script).is_file() for script in scripts), scripts


def test_the_reference_page_has_every_command():
    text = reference_rst()
    for words, _ in commands():
        assert "galsim-deep " + " ".join(words) + "\n" in text


def test_hub_export_writes_the_portable_copy_unless_told_not_to():
    parser = build_parser()
    assert parser.parse_args(["hub", "export", "tiny", "--out", "x"]).portable is True
    assert parser.parse_args(["hub", "export", "tiny", "--out", "x",
                              "--no-portable"]).portable is False


def test_another_command_s_scoring_options_are_the_release_table_s():
    """model distill --judge scores with validation release-table's options and defaults."""
    from galsim_deep.cli.release import scoring_options

    table = build_parser().parse_args(["validation", "release-table", "--eval", "e.h5",
                                       "--out", "o", "--row", "sersic", "--n", "5"])
    options = vars(scoring_options("e.h5", "o", n=5))
    assert options == {key: getattr(table, key) for key in options}
    assert scoring_options("e.h5", "o", quiet=True).quiet is True


def test_init_from_a_distilled_module_starts_from_its_teacher(capsys):
    """A distilled module's decoder has fewer channels than its recipe's network, so
    --init-from takes the teacher it names; a module that is not distilled is itself."""
    from galsim_deep.cli.model import _init_source
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.data.hub import resolve

    student = "hub:flow-vae-mock-cosmos-25.2-distilled"
    teacher = read_metadata(resolve(student))["provenance"]["distilled_from"]
    source = _init_source(student)
    assert source == resolve(f"hub:{teacher}")
    assert "distilled_from" not in read_metadata(source).get("provenance", {})
    assert f"starts from its teacher, hub:{teacher}" in capsys.readouterr().err
    assert _init_source(f"hub:{teacher}") == source


# The console script's own process (``galsim_deep/__init__.py``): ``--help`` and the hub's
# listing start without GalSim (benchmarks/bench_cli.py times them).
_AS_THE_SCRIPT = """
import json, sys
sys.argv = ["galsim-deep"]  # as pip's console script starts
import galsim_deep.cli as cli
import galsim_deep.cli.hub as hub_cli
hub_cli._download = lambda args: print("registered:", "GenerativeModelGalaxy" in
                                       __import__("galsim").config.valid_gsobject_types)
try:
    status = cli.main(sys.argv_given)
except SystemExit as stop:
    status = stop.code
heavy = ["galsim", "astropy", "numpy", "scipy", "onnxruntime", "tensorflow"]
print(json.dumps({"status": status, "imported": [m for m in heavy if m in sys.modules]}))
"""


def _as_the_script(*argv):
    import json
    import subprocess
    import sys

    code = _AS_THE_SCRIPT.replace("sys.argv_given", repr(list(argv)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv, imported", [
    (["--help"], []), ([], []), (["--version"], []), (["hub", "--help"], []),
    (["hub", "list"], ["numpy"]),  # the kinds tell which modules need TensorFlow
])
def test_help_and_the_hub_listing_do_not_import_galsim(argv, imported):
    out, report = _as_the_script(*argv)
    assert report["imported"] == imported, (argv, report)
    assert report["status"] in (0, 2, None)
    if argv == ["--help"]:
        assert "hub       list, inspect, download, verify and export hub modules" in out


def test_other_commands_register_the_config_types_first():
    """Outside ``hub list`` and ``hub info`` the console script imports what
    ``import galsim_deep`` imports before the command runs (a YAML file's galaxies)."""
    out, report = _as_the_script("hub", "download", "hub:no-such-model")
    assert "registered: True" in out
    assert "galsim" in report["imported"]


def test_the_help_lines_of_unloaded_groups_are_the_groups_own():
    """``galsim-deep --help`` lists each group with the line its module registers."""
    assert build_parser([]).format_help() == build_parser().format_help()


def test_the_public_names_are_there_in_the_scripts_process():
    """In the console script's process the package's names import on first use."""
    import subprocess
    import sys

    code = ("import sys; sys.argv = ['galsim-deep']; import galsim_deep; "
            "print('galsim' in sys.modules); from galsim_deep import GenerativeGalaxyModel; "
            "print(GenerativeGalaxyModel.__module__, "
            "'GenerativeModelGalaxy' in sys.modules['galsim'].config.valid_gsobject_types)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "galsim_deep.api.model", "True"]
