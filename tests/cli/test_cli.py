"""One command-line grammar: ``galsim-deep NOUN VERB``, one progress flag, one metavar,
registries for choices, and the previous release's spellings still working."""
import argparse

import pytest

from galsim_deep.cli import build_parser, main
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


@pytest.mark.parametrize("old, new", [
    (["train", "flow-vae", "mock-cosmos-64"], ["model", "train", "mock-cosmos-64"]),
    (["train", "flow", "mock-cosmos-64"], ["model", "train-flow", "mock-cosmos-64"]),
    (["train", "export", "mock-cosmos-64", "--out", "x"], ["hub", "export", "mock-cosmos-64",
                                                          "--out", "x"]),
    (["train", "distill", "hub:m", "--out", "x"], ["model", "distill", "hub:m", "--out", "x"]),
    (["train", "classifier", "--dataset", "d", "--out", "x"],
     ["validation", "ceiling", "--dataset", "d", "--out", "x"]),
    (["validate", "report", "m", "--dataset", "d", "--out", "x"],
     ["validation", "report", "m", "--dataset", "d", "--out", "x"]),
    (["simulate", "cat.fits", "--out", "x"], ["field", "render", "cat.fits", "--out", "x"]),
])
def test_old_spellings_run_the_same_command(old, new):
    parser = build_parser()
    a, b = parser.parse_args(old), parser.parse_args(new)
    assert a.func is b.func
    # The same arguments (the old per-family spelling also checks the recipe's family).
    skip = {"deprecated", "family"}
    same = {k: v for k, v in vars(a).items() if not k.endswith("command") and k not in skip}
    assert same == {k: v for k, v in vars(b).items()
                    if not k.endswith("command") and k not in skip}
    assert a.deprecated == (" ".join(old[:2 if old[0] != "simulate" else 1]),
                            " ".join(new[:2]))
    assert getattr(b, "deprecated", None) is None


def test_an_old_spelling_prints_one_line_naming_the_new_one(tmp_path, capsys):
    status = main(["validate", "compare", f"a={tmp_path / 'missing'}"])
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("galsim-deep: 'galsim-deep validate compare' is deprecated and goes in "
                      "the next release; use 'galsim-deep validation compare' (same arguments)")
    assert status == 1  # and then it runs: the missing report is the command's own error
    parser = build_parser()
    args = parser.parse_args(["dataset", "build", "--source", "mock-cosmos", "--n", "2",
                              "--out", "x.h5", "--no-progress"])
    assert args.quiet is True
    assert "'--no-progress' is deprecated" in capsys.readouterr().err


def test_the_reference_page_has_every_command():
    text = reference_rst()
    for words, _ in commands():
        assert "galsim-deep " + " ".join(words) + "\n" in text
    assert "``galsim-deep train export``" in text and "``galsim-deep hub export``" in text


def test_hub_export_writes_the_portable_copy_unless_told_not_to():
    parser = build_parser()
    assert parser.parse_args(["hub", "export", "tiny", "--out", "x"]).portable is True
    assert parser.parse_args(["hub", "export", "tiny", "--out", "x",
                              "--no-portable"]).portable is False
