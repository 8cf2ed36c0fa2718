"""``galsim-deep hub`` and the command-line entry point."""
import json
import re
import subprocess
import sys
from pathlib import Path

from galsim_deep.cli import main
from galsim_deep.core.module_format import read_metadata
from galsim_deep.training.export import make_archive


def test_help_lists_commands(capsys):
    assert main([]) == 2
    assert "hub" in capsys.readouterr().out


def _toy_index(tmp_path, monkeypatch, versions):
    """An index of modules whose archives are not on this disk (``absent``): ``versions``
    is a list of (name, version, description, yanked reason or None)."""
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"format_version": 1, "modules": [
        {"name": n, "version": v, "description": d, "url": f"{n}-{v}.tar.gz",
         "sha256": "0" * 64, "size": 1, **({"yanked": y} if y else {})}
        for n, v, d, y in versions]}))
    monkeypatch.setenv("GALSIM_DEEP_INDEX", str(index))


def _table_rows(out, names=None):
    """The table's rows, split into words (those of ``names`` only)."""
    rows = [line.split() for line in out.split("\n\n")[0].splitlines()[1:]]
    return [row for row in rows if names is None or row[0] in names]


def test_hub_list_groups_each_names_versions_and_marks_what_a_bare_name_gives(
        tmp_path, monkeypatch, capsys):
    """Each name's versions together and in version order (1.10 after 1.2), wherever the
    index lists them; * on the version hub:NAME gives (the newest not yanked); versions
    whose archives this install lacks are left out and counted unless --all."""
    _toy_index(tmp_path, monkeypatch, [
        ("toy", "1.0", "a toy", None), ("other", "0.1", "another toy", None),
        ("toy", "1.10", "a toy, yanked", "its pixels are wrong"), ("toy", "1.2", "a toy", None)])
    assert main(["hub", "list", "--all"]) == 0
    out = capsys.readouterr().out
    assert [(row[0], row[1], row[2] == "*") for row in _table_rows(out, {"toy", "other"})] == [
        ("toy", "1.0", False), ("toy", "1.2", True), ("toy", "1.10", False),
        ("other", "0.1", True)]
    assert "*: the version a bare hub:NAME gives" in out and "not listed" not in out
    assert main(["hub", "list"]) == 0
    out = capsys.readouterr().out
    assert _table_rows(out, {"toy", "other"}) == []
    assert ("not listed: 4 version(s) this install cannot sample (4 are older versions"
            in " ".join(out.split())) and "--all lists them" in out


def test_hub_list_leaves_out_what_needs_a_missing_tensorflow(tiny_module_path, tmp_path,
                                                             monkeypatch, capsys):
    """A version that samples only with TensorFlow is listed, marked, where TensorFlow is
    installed; where it is not, it is left out, counted with the extra to install."""
    from galsim_deep.cli import hub as hub_cli

    archive = make_archive(tiny_module_path, tmp_path / "toy.tar.gz")
    (tmp_path / "index.json").write_text(json.dumps({"format_version": 1, "modules": [
        {"name": "toy", "version": "0.1", "description": "a toy module", "url": "toy.tar.gz",
         "sha256": archive["sha256"], "size": archive["size"]}]}))
    monkeypatch.setenv("GALSIM_DEEP_INDEX", str(tmp_path / "index.json"))
    real = hub_cli._needs_tensorflow  # the toy's copy is portable: make it need TensorFlow
    monkeypatch.setattr(hub_cli, "_needs_tensorflow", lambda meta: True if meta and meta[
        "description"] == read_metadata(tiny_module_path)["description"] else real(meta))
    monkeypatch.setattr(hub_cli, "_tensorflow_installed", lambda: True)
    assert main(["hub", "list"]) == 0
    out = capsys.readouterr().out
    row = _table_rows(out, {"toy"})[0]
    assert row[:3] == ["toy", "0.1", "*"] and "tensorflow" in row
    monkeypatch.setattr(hub_cli, "_tensorflow_installed", lambda: False)
    assert main(["hub", "list"]) == 0
    out = capsys.readouterr().out
    assert _table_rows(out, {"toy"}) == []
    legend = " ".join(out.split())
    assert re.search(r"not listed: \d+ version\(s\) this install cannot sample \(\d+ need "
                     r"TensorFlow, which is not installed", legend), legend
    assert 'pip install ".[tensorflow]"' in legend
    assert main(["hub", "list", "--all"]) == 0
    assert _table_rows(capsys.readouterr().out, {"toy"})[0][:2] == ["toy", "0.1"]


def test_hub_list_descriptions_stand_alone_and_fit_the_terminal(tmp_path, monkeypatch,
                                                               capsys):
    """Every version's description is its own, whole (no "…;" pointing at another row),
    lines are cut to the terminal's width (90 columns here; output to a pipe is not cut),
    and --full prints them whole."""
    from galsim_deep.cli import hub as hub_cli

    base = "a long description of the first version, " * 4
    _toy_index(tmp_path, monkeypatch, [("toy", "1.0", base, None),
                                       ("toy", "1.1", base + "; its portable copy", None)])
    monkeypatch.setattr(hub_cli, "_terminal_width", lambda: 90)
    assert main(["hub", "list", "--all"]) == 0
    table = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert max(len(line) for line in table) <= 90
    assert all(line.endswith("…") for line in table[1:]) and "…;" not in "".join(table)
    assert main(["hub", "list", "--all", "--full"]) == 0
    out = capsys.readouterr().out
    assert base + "; its portable copy" in out and "…" not in out


def test_hub_list_of_the_shipped_index_marks_the_default(capsys):
    """The shipped index: the default model's versions together, its * on the version
    hub:flow-vae-mock-cosmos-25.2 resolves to, which is also marked default."""
    from galsim_deep.data import hub

    assert main(["hub", "list", "--all"]) == 0
    rows = [r for r in _table_rows(capsys.readouterr().out)
            if r[0] == "flow-vae-mock-cosmos-25.2"]
    default = hub.find_entry("flow-vae-mock-cosmos-25.2")["version"]
    versions = [r[1] for r in rows]
    assert versions == sorted(versions, key=hub._version_key)
    starred = [r for r in rows if r[2] == "*"]
    assert len(starred) == 1 and starred[0][1] == default and "default" in starred[0]


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


def test_hub_shape_prior_ships_the_catalogs_axis_ratios(tmp_path, capsys):
    """``hub shape-prior`` writes a valid ``shape_prior`` entry and a new version; ``hub info``
    then says a galaxy without q takes the catalog's population's."""
    import shutil

    from galsim_deep.data import hub

    module = tmp_path / "module"
    shutil.copytree(hub.resolve("hub:flow-vae-mock-cosmos-25.2"), module)
    assert main(["hub", "shape-prior", str(module), "--galaxies", "300", "--seed", "7",
                 "--bins", "mag_auto=2,zphot=2", "--levels", "8", "--version", "9.9.9",
                 "--quiet"]) == 0
    assert "mock shapes" not in capsys.readouterr().err  # --quiet: no progress bar
    meta = read_metadata(module)   # read_metadata validates the entry
    assert meta["version"] == "9.9.9" and meta["shape_prior"]["conditions"] == ["mag_auto",
                                                                                 "zphot"]
    assert "stamp) of 300 mock galaxies" in meta["shape_prior"]["source"]
    capsys.readouterr()
    assert main(["hub", "info", str(module)]) == 0
    assert "from the catalog's population, given its mag_auto, zphot" in capsys.readouterr().out
    assert main(["hub", "shape-prior", str(module), "--bins", "mag_auto:2"]) == 1
