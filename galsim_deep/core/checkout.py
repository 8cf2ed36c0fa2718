"""Import ``galsim_deep`` from a source checkout as the installed package imports.

``setup.cfg``'s ``package_dir`` installs the top-level folders ``training/`` and
``hub_modules/`` as ``galsim_deep.training`` and ``galsim_deep.hub_modules``.
An installed or editable package has them.  But Python started in a clone's
root imports the source folder ``galsim_deep/`` (the current directory leads
``sys.path``), where they are missing, and every ``hub:`` model failed to load
there.  :func:`install` adds a finder, last on ``sys.meta_path`` so that any
other mapping wins, which maps the two subpackages to their folders the way
``package_dir`` does; only when this file lies in a checkout (a ``setup.cfg``
beside the package folder).
"""
import configparser
import importlib.abc
import importlib.util
import sys
from pathlib import Path

__all__ = ["ROOT", "subpackage_folders", "install"]

#: The folder holding the ``galsim_deep`` package folder (a checkout's root).
ROOT = Path(__file__).resolve().parents[2]


def subpackage_folders(root=ROOT):
    """``package_dir``'s subpackages of ``galsim_deep`` mapped outside it: name -> folder.

    Parameters
    ----------
    root : Path
        A checkout's root, with its ``setup.cfg``.

    Returns
    -------
    dict of str -> Path
        Empty when ``root`` has no ``setup.cfg``.
    """
    path = Path(root) / "setup.cfg"
    if not path.is_file():
        return {}
    config = configparser.ConfigParser()
    config.read(path)
    lines = config.get("options", "package_dir", fallback="").strip().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line)
    return {name.strip(): Path(root) / folder.strip() for name, folder in pairs
            if name.strip().startswith("galsim_deep.")}


class _CheckoutFinder(importlib.abc.MetaPathFinder):
    """Finds ``galsim_deep.training`` and ``galsim_deep.hub_modules`` in a checkout."""

    def __init__(self, folders):
        self.folders = folders

    def find_spec(self, fullname, path=None, target=None):
        folder = self.folders.get(fullname)
        if folder is None or not (folder / "__init__.py").is_file():
            return None
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)])


def install():
    """Add the checkout's finder to ``sys.meta_path`` (once; nothing outside a checkout)."""
    folders = subpackage_folders()
    if folders and not any(isinstance(f, _CheckoutFinder) for f in sys.meta_path):
        sys.meta_path.append(_CheckoutFinder(folders))
