"""galsim_deep: deep generative models of galaxy morphology for GalSim.

``import galsim_deep`` (or ``modules: [galsim_deep]`` in a GalSim YAML file)
registers the config types ``generative_model`` (input) and
``GenerativeModelGalaxy`` (object), the stamp type ``GenerativeBasic``, and
nothing else: GalSim's own types, the import system and TensorFlow are left as they
are.  Where the package starts TensorFlow itself, it keeps TensorFlow's start-up
lines that look like failures and are not (``failed call to cuInit`` on a machine
without a GPU, ...) off stderr: see :mod:`galsim_deep.core.tensorflow_logs`
(``GALSIM_DEEP_TF_LOGS=all`` keeps them).

The package holds one folder per layer (:doc:`/architecture`): ``core``, ``physics``,
``data``, ``engine``, ``api``, ``tools``, ``diagnostics`` and ``cli``.

The one exception is the process of the ``galsim-deep`` console script itself: there the
package imports nothing but its version, so that ``galsim-deep --help`` and the hub's
listing start without GalSim, astropy and NumPy (``benchmarks/bench_cli.py``), and the
command line registers the config types itself before any command that may need them
(:func:`galsim_deep.cli.main`).  The public names are still there on first use.
"""
import sys as _sys
from pathlib import Path as _Path

from ._version import __version__

__all__ = ["GenerativeGalaxyModel", "HubError", "ModuleFormatError", "OutOfRangeWarning",
           "ColourRangeWarning", "YankedModuleWarning", "__version__"]

#: The names of the console script's file (pip writes ``galsim-deep``; on Windows an
#: ``.exe`` launcher).
_COMMAND_LINE_SCRIPTS = ("galsim-deep", "galsim-deep.exe", "galsim-deep-script.py")


def _in_command_line_script():
    """True in the process of the ``galsim-deep`` console script (its ``sys.argv[0]``)."""
    argv = getattr(_sys, "argv", None) or [""]
    return _Path(str(argv[0])).name in _COMMAND_LINE_SCRIPTS


if not _in_command_line_script():
    from .core.catalog import ColourRangeWarning, OutOfRangeWarning
    from .core.module_format import ModuleFormatError
    from .data.hub import HubError, YankedModuleWarning
    from .api.model import GenerativeGalaxyModel
    from .api import config as _config  # noqa: F401  (registers the GalSim config types)


def __getattr__(name):
    """The public names in the console script's process, imported on first use."""
    if name not in __all__:
        raise AttributeError(f"module 'galsim_deep' has no attribute {name!r}")
    from .core.catalog import ColourRangeWarning, OutOfRangeWarning
    from .core.module_format import ModuleFormatError
    from .data.hub import HubError, YankedModuleWarning
    from .api.model import GenerativeGalaxyModel
    from .api import config as _config  # noqa: F401  (registers the GalSim config types)

    found = dict(ColourRangeWarning=ColourRangeWarning, OutOfRangeWarning=OutOfRangeWarning,
                 ModuleFormatError=ModuleFormatError, HubError=HubError,
                 YankedModuleWarning=YankedModuleWarning,
                 GenerativeGalaxyModel=GenerativeGalaxyModel)
    globals().update(found)
    return found[name]
