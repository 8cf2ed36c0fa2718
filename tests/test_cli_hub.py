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


def test_hub_list_info_download_verify(tiny_module_path, tmp_path, monkeypatch, capsys):
    archive = make_archive(tiny_module_path, tmp_path / "toy.tar.gz")
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"format_version": 1, "modules": [
        {"name": "toy", "version": "0.1", "description": "a toy module", "url": "toy.tar.gz",
         "sha256": archive["sha256"], "size": archive["size"]}]}))
    monkeypatch.setenv("GALSIM_DEEP_INDEX", str(index))

    assert main(["hub", "list"]) == 0
    out = capsys.readouterr().out
    assert "toy" in out and "a toy module" in out and "not cached" in out

    assert main(["hub", "download", "hub:toy"]) == 0
    assert "hub:toy:" in capsys.readouterr().out
    assert main(["hub", "verify"]) == 0
    assert "toy@0.1: ok" in capsys.readouterr().out

    assert main(["hub", "info", "hub:toy"]) == 0
    assert '"latent_size": 5' in capsys.readouterr().out

    assert main(["hub", "info", "hub:missing"]) == 1
    assert "no module 'missing'" in capsys.readouterr().err


def test_console_script_runs():
    script = Path(sys.executable).with_name("galsim-deep")
    exe = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert exe.returncode == 0 and "galsim_deep" in exe.stdout
