"""galsim_deep: deep generative models of galaxy morphology for GalSim.

``import galsim_deep`` (or ``modules: [galsim_deep]`` in a GalSim YAML file)
registers the config types ``generative_model`` (input) and
``GenerativeModelGalaxy`` (object).  It also keeps TensorFlow's start-up lines
that look like failures and are not (``failed call to cuInit`` on a machine
without a GPU, ...) off stderr: see :mod:`galsim_deep.core.tensorflow_logs`
(``GALSIM_DEEP_TF_LOGS=all`` keeps them).

The package holds one folder per layer (:doc:`/architecture`): ``core``, ``physics``,
``data``, ``engine``, ``api``, ``tools``, ``diagnostics`` and ``cli``.  The module
paths from before that layout still import, with a ``DeprecationWarning`` naming the
new one (:mod:`galsim_deep.core.moved`).
"""
import importlib

from .core import checkout as _checkout, moved as _moved, tensorflow_logs as _tf_logs

_tf_logs.install()  # before anything imports TensorFlow
_checkout.install()  # galsim_deep.training and .hub_modules when run from a clone's root
_moved.install()  # the old module paths (galsim_deep.hub, galsim_deep.validation, ...)

from ._version import __version__  # noqa: E402
from .core.catalog import ColourRangeWarning, OutOfRangeWarning  # noqa: E402
from .core.module_format import ModuleFormatError  # noqa: E402
from .data.hub import HubError  # noqa: E402
from .api.model import GenerativeGalaxyModel  # noqa: E402
from .api import config as _config  # noqa: F401,E402  (registers the GalSim config types)

__all__ = ["GenerativeGalaxyModel", "HubError", "ModuleFormatError", "OutOfRangeWarning",
           "ColourRangeWarning", "__version__"]


def __getattr__(name):
    # ``galsim_deep.hub`` after a plain ``import galsim_deep``: an old module path, imported
    # through the one mechanism of the old paths (galsim_deep.core.moved), with its warning
    if f"{__name__}.{name}" in _moved.MOVED:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
