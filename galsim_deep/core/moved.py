"""The old module paths of ``galsim_deep``, kept importing after the layer folders.

The package was laid out in one folder per layer (:doc:`/architecture`): its modules
moved (``galsim_deep.hub`` is :mod:`galsim_deep.data.hub`, ``galsim_deep.validation``
is :mod:`galsim_deep.tools.validation`, ...).  :data:`MOVED` maps each old name to its
new one, and a name under an old one moves with its longest listed prefix
(``galsim_deep.validation.measures`` is ``galsim_deep.tools.validation.measures``).

:func:`install` (``import galsim_deep`` calls it) puts a finder first on
``sys.meta_path``: for an old name, it imports the new module, gives back that same
module object (``galsim_deep.btk is galsim_deep.api.btk``, so ``isinstance`` checks
hold) and warns with a :class:`DeprecationWarning` naming the new path.  A module is
imported only when asked for (``galsim_deep.btk`` needs the optional BlendingToolKit);
an unknown name still raises :class:`ModuleNotFoundError`.  Nothing in the project
imports an old path (``tests/test_moved_modules.py``).
"""
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import warnings

__all__ = ["MOVED", "new_name", "install"]

#: Old module name -> new module name (names under an old one follow its longest prefix).
MOVED = {
    # foundation: galsim_deep/core/
    "galsim_deep.errors": "galsim_deep.core.errors",
    "galsim_deep._io": "galsim_deep.core.files",
    "galsim_deep._tensorflow": "galsim_deep.core.tensorflow_logs",
    "galsim_deep._extras": "galsim_deep.core.extras",
    "galsim_deep._checkout": "galsim_deep.core.checkout",
    "galsim_deep.parallel": "galsim_deep.core.parallel",
    "galsim_deep.reporting": "galsim_deep.core.reporting",
    "galsim_deep.module_format": "galsim_deep.core.module_format",
    "galsim_deep.catalog": "galsim_deep.core.catalog",
    "galsim_deep.cluster_accuracy": "galsim_deep.core.cluster_accuracy",
    # physics: the conditional MAF joined the physics package
    "galsim_deep.density": "galsim_deep.physics",
    # data: galsim_deep/data/
    "galsim_deep.datasets": "galsim_deep.data",
    "galsim_deep.hub": "galsim_deep.data.hub",
    # model and callers: galsim_deep/api/
    "galsim_deep.model": "galsim_deep.api.model",
    "galsim_deep.config": "galsim_deep.api.config",
    "galsim_deep.simulate": "galsim_deep.api.simulate",
    "galsim_deep.btk": "galsim_deep.api.btk",
    "galsim_deep.btk_catalogs": "galsim_deep.api.btk_catalogs",
    # tools: galsim_deep/tools/; the computations of the validation measures are named
    # after what they compute (the measures keep their names: --measures isotropy)
    "galsim_deep.validation": "galsim_deep.tools.validation",
    "galsim_deep.validation.c2st": "galsim_deep.tools.validation.two_sample",
    "galsim_deep.validation.c2st_features": "galsim_deep.tools.validation.two_sample_features",
    "galsim_deep.validation.clustering": "galsim_deep.tools.validation.cluster_match",
    "galsim_deep.validation.colours": "galsim_deep.tools.validation.band_colours",
    "galsim_deep.validation.isotropy": "galsim_deep.tools.validation.mean_ellipticity",
    "galsim_deep.validation.profiles": "galsim_deep.tools.validation.halo_light",
    "galsim_deep.validation.reconstruction": "galsim_deep.tools.validation.reconstruction_fits",
    "galsim_deep.validation.shear": "galsim_deep.tools.validation.shear_response",
    "galsim_deep.validation.texture": "galsim_deep.tools.validation.power_spectrum",
    "galsim_deep.latent": "galsim_deep.tools.latent",
    "galsim_deep.demo": "galsim_deep.tools.demo",
}


# A renamed module's old name under its package's new name: ``from galsim_deep.validation
# import c2st`` imports ``galsim_deep.tools.validation.c2st`` (the import system names a
# submodule after the module object's own name) -> new name, and the old name it warns of.
_RENAMED = {f"{MOVED[old.rsplit('.', 1)[0]]}.{old.rsplit('.', 1)[1]}": (new, old)
            for old, new in MOVED.items() if old.rsplit(".", 1)[0] in MOVED}


def _moved(fullname):
    """``(old name, new name)`` of a name under an old module path, or None."""
    if fullname in _RENAMED:
        return _RENAMED[fullname][1], _RENAMED[fullname][0]
    parts = fullname.split(".")
    for k in range(len(parts), 1, -1):
        head = ".".join(parts[:k])
        if head in MOVED:
            return fullname, ".".join([MOVED[head], *parts[k:]])
    return None


def new_name(fullname):
    """The new name of an old module path (its longest prefix in :data:`MOVED`), or None."""
    found = _moved(fullname)
    return None if found is None else found[1]


# Frames a warning skips to reach the line that imported the old path.
_SKIPPED = {os.path.abspath(__file__), os.path.abspath(importlib.__file__),
            os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "__init__.py")}


def _stacklevel():
    """``warnings.warn``'s stacklevel of the first frame outside the import machinery,
    counted as the warnings module counts (it skips ``importlib._bootstrap`` frames)."""
    level, frame = 1, sys._getframe(1)
    while frame.f_back is not None:
        frame = frame.f_back
        name = frame.f_code.co_filename
        if "importlib" in name and "_bootstrap" in name:
            continue
        level += 1
        if os.path.abspath(name) not in _SKIPPED:
            break
    return level


class _MovedLoader(importlib.abc.Loader):
    """Gives the new module for its old name (one loader per import)."""

    def __init__(self, old, new):
        self.old, self.new, self.spec = old, new, None

    def create_module(self, spec):
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        warnings.warn(f"{self.old} moved to {self.new}; import {self.new} (the old path "
                      "will be removed)", DeprecationWarning, stacklevel=_stacklevel())
        return module

    def exec_module(self, module):
        # the import system set the old name's spec on the module: give it its own back
        module.__spec__ = self.spec


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old module paths of :data:`MOVED` (only those: None for any other)."""

    def find_spec(self, fullname, path=None, target=None):
        found = _moved(fullname) if fullname.startswith("galsim_deep.") else None
        if found is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _MovedLoader(*found))


def install():
    """Put the finder first on ``sys.meta_path`` (once): an old name under a moved package
    must not be found again in its new folder as a second copy of a module."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())
