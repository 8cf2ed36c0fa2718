"""``import galsim_deep`` installs no import finder, and a clone imports ``training/`` and
``hub_modules/`` the way its editable install (``make env``) maps them.

``setup.cfg``'s ``package_dir`` installs the top-level folders ``training/`` and
``hub_modules/`` as ``galsim_deep.training`` and ``galsim_deep.hub_modules``: a wheel
copies them into the package, and setuptools' editable install maps them to the clone's
folders (PEP 660), from Python started anywhere.  ``import galsim_deep`` adds no
finder for that or for anything else, and leaves GalSim's own config types and
TensorFlow as they are; the one import hook the project has, TensorFlow's quiet start
(:mod:`galsim_deep.core.tensorflow_logs`), is installed by the ``galsim-deep`` command in
its own process only.
"""
import configparser
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.checks import ROOT

_IMPORT_SYSTEM = re.compile(r"\bsys\.(meta_path|path_hooks)\b|MetaPathFinder|PathEntryFinder"
                            r"|\bimportlib\.abc\b|\bimportlib\.machinery\b")

# What `import galsim_deep` adds to the import system, run in a fresh interpreter.
_ADDED = """
import json, sys
meta_path, path_hooks = list(sys.meta_path), list(sys.path_hooks)
import galsim_deep
from galsim_deep.core import tensorflow_logs
from galsim.config import StampBuilder, valid_stamp_types
print(json.dumps({
    "meta_path": ["tensorflow_logs" if f is tensorflow_logs._HOOK else repr(f)
                  for f in sys.meta_path if f not in meta_path],
    "path_hooks": [repr(h) for h in sys.path_hooks if h not in path_hooks],
    "package": galsim_deep.__file__,
    "basic_stamp": type(valid_stamp_types["Basic"]) is StampBuilder,
    "tensorflow": "tensorflow" in sys.modules,
}))
"""

# Where the clone's subpackages import from, and the hub finds its shipped index there.
_WHERE = """
import json
import galsim_deep, galsim_deep.training, galsim_deep.training.recipes, galsim_deep.hub_modules
from galsim_deep.data import hub
print(json.dumps({
    "galsim_deep": galsim_deep.__file__,
    "galsim_deep.training": galsim_deep.training.__file__,
    "galsim_deep.training.recipes": galsim_deep.training.recipes.__file__,
    "galsim_deep.hub_modules": galsim_deep.hub_modules.__file__,
    "shipped": hub.is_shipped(hub.find_entry("flow-vae-mock-cosmos-25.2")),
}))
"""


def _python(code, cwd, **env):
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "GALSIM_DEEP_TF_LOGS", "GALSIM_DEEP_INDEX")}
    environment.update(env)
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environment,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("logs", ["all", ""])
def test_import_galsim_deep_changes_nothing_in_its_host(tmp_path, logs):
    """No import finder or path hook, GalSim's own ``Basic`` stamp type, and TensorFlow
    not even imported."""
    got = _python(_ADDED, tmp_path, GALSIM_DEEP_TF_LOGS=logs)
    assert got["meta_path"] == [] and got["path_hooks"] == []
    assert got["basic_stamp"] and not got["tensorflow"]
    assert Path(got["package"]) == ROOT / "galsim_deep" / "__init__.py"


@pytest.mark.parametrize("where", ["outside", "root"])
def test_the_clone_imports_training_and_hub_modules_from_its_folders(tmp_path, where):
    """From a folder outside the clone and from its root (where ``sys.path`` leads to the
    source folder ``galsim_deep/``), as the editable install maps them."""
    got = _python(_WHERE, tmp_path if where == "outside" else ROOT)
    assert Path(got["galsim_deep"]) == ROOT / "galsim_deep" / "__init__.py"
    assert Path(got["galsim_deep.training"]) == ROOT / "training" / "__init__.py"
    assert Path(got["galsim_deep.training.recipes"]) == ROOT / "training" / "recipes.py"
    assert Path(got["galsim_deep.hub_modules"]) == ROOT / "hub_modules" / "__init__.py"
    assert got["shipped"]


def test_setup_cfg_maps_the_top_level_folders_into_the_package():
    """The one mapping (``package_dir``), and the shipped modules as package data."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    pairs = (line.split("=", 1) for line in config["options"]["package_dir"].splitlines()
             if "=" in line)
    assert {name.strip(): folder.strip() for name, folder in pairs} == {
        "galsim_deep": "galsim_deep", "galsim_deep.training": "training",
        "galsim_deep.hub_modules": "hub_modules"}
    data = config["options.package_data"]["galsim_deep.hub_modules"].replace(",", " ").split()
    # (which archives: tests/data/test_hub.py, each bare name's newest version)
    assert "index.json" in data and any(p.endswith(".tar.gz") for p in data)


def test_no_module_edits_the_import_system_but_the_tensorflow_lines():
    """Only :mod:`galsim_deep.core.tensorflow_logs` touches ``sys.meta_path`` or
    ``sys.path_hooks``; nothing defines an import finder or loader."""
    found = []
    for folder in ("galsim_deep", "training", "hub_modules"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if _IMPORT_SYSTEM.search(path.read_text()):
                found.append(str(path.relative_to(ROOT)))
    assert found == ["galsim_deep/core/tensorflow_logs.py"]
