"""galsim_deep: deep generative models of galaxy morphology for GalSim.

``import galsim_deep`` (or ``modules: [galsim_deep]`` in a GalSim YAML file)
registers the config types ``generative_model`` (input) and
``GenerativeModelGalaxy`` (object).  It also keeps TensorFlow's start-up lines
that look like failures and are not (``failed call to cuInit`` on a machine
without a GPU, ...) off stderr: see :mod:`galsim_deep.core.tensorflow_logs`
(``GALSIM_DEEP_TF_LOGS=all`` keeps them).

The package holds one folder per layer (:doc:`/architecture`): ``core``, ``physics``,
``data``, ``engine``, ``api``, ``tools``, ``diagnostics`` and ``cli``.
"""
from .core import tensorflow_logs as _tf_logs

_tf_logs.install()  # before anything imports TensorFlow

from ._version import __version__  # noqa: E402
from .core.catalog import ColourRangeWarning, OutOfRangeWarning  # noqa: E402
from .core.module_format import ModuleFormatError  # noqa: E402
from .data.hub import HubError, YankedModuleWarning  # noqa: E402
from .api.model import GenerativeGalaxyModel  # noqa: E402
from .api import config as _config  # noqa: F401,E402  (registers the GalSim config types)

__all__ = ["GenerativeGalaxyModel", "HubError", "ModuleFormatError", "OutOfRangeWarning",
           "ColourRangeWarning", "YankedModuleWarning", "__version__"]
