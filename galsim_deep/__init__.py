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
"""
from ._version import __version__
from .core.catalog import ColourRangeWarning, OutOfRangeWarning
from .core.module_format import ModuleFormatError
from .data.hub import HubError, YankedModuleWarning
from .api.model import GenerativeGalaxyModel
from .api import config as _config  # noqa: F401  (registers the GalSim config types)

__all__ = ["GenerativeGalaxyModel", "HubError", "ModuleFormatError", "OutOfRangeWarning",
           "ColourRangeWarning", "YankedModuleWarning", "__version__"]
