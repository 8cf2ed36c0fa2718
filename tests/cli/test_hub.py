"""``galsim-deep hub`` and the command-line entry point."""
import json
import subprocess
import sys
from pathlib import Path

from galsim_deep.cli import main
from galsim_deep.training.export import make_archive


def test_help_lists_commands(capsys):
    assert main([]) == 2
    assert "hub" in capsys.readouterr().out


def test_hub_list_fits_the_terminal_and_says_what_each_version_adds(tmp_path, monkeypatch,
                                                                    capsys):
    """A later version's description starts where it differs from its name's first,
    lines are cut to the terminal's width (a terminal of 90 columns here; output to a pipe
    is not cut), and --full prints them whole."""
    from galsim_deep.cli import hub as hub_cli

    base = "a long description of the first version, " * 4
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"format_version": 1, "modules": [
        {"name": "toy", "version": v, "description": d, "url": f"toy-{v}.tar.gz",
         "sha256": "0" * 64, "size": 1}
        for v, d in (("1.0", base), ("1.1", base + "; its portable copy"))]}))
    monkeypatch.setenv("GALSIM_DEEP_INDEX", str(index))
    monkeypatch.setattr(hub_cli, "_terminal_width", lambda: 90)
    assert main(["hub", "list"]) == 0
    table = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert max(len(line) for line in table) <= 90
    assert table[1].endswith("…") and "…; its" in table[2] and base not in table[2]
    assert main(["hub", "list", "--full"]) == 0
    assert base + "; its portable copy" in capsys.readouterr().out


def test_hub_list_info_download_verify(tiny_module_path, tmp_path, monkeypatch, capsys):
    archive = make_archive(tiny_module_path, tmp_path / "toy.tar.gz")
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"format_version": 1, "modules": [
        {"name": "toy", "version": "0.1", "description": "a toy module", "url": "toy.tar.gz",
         "sha256": archive["sha256"], "size": archive["size"]}]}))
    monkeypatch.setenv("GALSIM_DEEP_INDEX", str(index))

    assert main(["hub", "list"]) == 0
    out = capsys.readouterr().out
    # an archive on this disk, not yet unpacked: nothing to download
    assert "toy" in out and "a toy module" in out and "local" in out

    assert main(["hub", "download", "hub:toy"]) == 0
    assert "hub:toy:" in capsys.readouterr().out
    assert main(["hub", "verify"]) == 0
    assert "toy@0.1: ok" in capsys.readouterr().out

    assert main(["hub", "info", "hub:toy", "--json"]) == 0
    assert '"latent_size": 5' in capsys.readouterr().out

    assert main(["hub", "info", "hub:missing"]) == 1
    assert "no module 'missing'" in capsys.readouterr().err


def test_console_script_runs():
    script = Path(sys.executable).with_name("galsim-deep")
    exe = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert exe.returncode == 0 and "galsim_deep" in exe.stdout


def test_every_option_has_help_and_states_its_default():
    """Each option of each command says what it does, and its default when it has one."""
    import argparse

    from galsim_deep.cli import build_parser

    def options(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from options(sub, path + [name])
            elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                yield " ".join(path), action

    missing, no_default = [], []
    for command, action in options(build_parser(), ["galsim-deep"]):
        name = "/".join(action.option_strings) or action.dest
        if type(action).__name__ == "DeprecatedFlag":
            continue  # an old spelling, hidden (tests/cli/test_cli.py)
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(f"{command} {name}")
        elif (action.option_strings and action.default not in (None, False, [])
              and "default" not in action.help):
            no_default.append(f"{command} {name} (default {action.default!r})")
    assert not missing, f"options without help: {missing}"
    assert not no_default, f"options whose help does not state the default: {no_default}"


def test_hub_verify_is_fast_and_load_checks_the_graph(tiny_module_path, tmp_path, monkeypatch,
                                                      capsys):
    from galsim_deep.data import hub

    archive = make_archive(tiny_module_path, tmp_path / "toy.tar.gz")
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"format_version": 1, "modules": [
        {"name": "toy", "version": "0.1", "description": "a toy module", "url": "toy.tar.gz",
         "sha256": archive["sha256"], "size": archive["size"]}]}))
    monkeypatch.setenv("GALSIM_DEEP_INDEX", str(index))
    folder = hub.resolve("hub:toy")
    assert main(["hub", "verify", "--load"]) == 0
    assert "toy@0.1: ok" in capsys.readouterr().out
    (folder / "saved_model.pb").unlink()  # a damaged cache: found without TensorFlow
    assert main(["hub", "verify"]) == 1
    out = capsys.readouterr().out
    assert "toy@0.1: corrupt" in out and "saved_model.pb" in out and "hub download" in out


def test_hub_info_prints_the_training_ranges(tiny_module_path, capsys):
    from galsim_deep import GenerativeGalaxyModel

    assert main(["hub", "info", str(tiny_module_path)]) == 0
    out = capsys.readouterr().out
    for name, (lo, hi) in GenerativeGalaxyModel(tiny_module_path).condition_ranges.items():
        assert any(line.split()[:1] == [name] and f"{lo:.4g}" in line and f"{hi:.4g}" in line
                   for line in out.splitlines()), name
