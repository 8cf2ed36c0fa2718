"""One command-line grammar: ``galsim-deep NOUN VERB``, one progress flag, one metavar,
registries for choices, and the previous release's spellings gone."""
import argparse

import pytest

from galsim_deep.cli import build_parser
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


@pytest.mark.parametrize("old", [["train", "flow-vae", "mock-cosmos-64"],
                                 ["validate", "report", "m", "--dataset", "d", "--out", "x"],
                                 ["simulate", "cat.fits", "--out", "x"]])
def test_the_previous_release_s_spellings_are_gone(old, capsys):
    """``train ...``, ``validate ...`` and ``simulate`` were deprecated for one release and
    are gone: argparse names the commands there are."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(old)
    assert f"invalid choice: '{old[0]}'" in capsys.readouterr().err


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
