"""galsim_deep: deep generative models of galaxy morphology for GalSim.

``import galsim_deep`` (or ``modules: [galsim_deep]`` in a GalSim YAML file)
registers the config types ``generative_model`` (input) and
``GenerativeModelGalaxy`` (object).  It also keeps TensorFlow's start-up lines
that look like failures and are not (``failed call to cuInit`` on a machine
without a GPU, ...) off stderr: see :mod:`galsim_deep._tensorflow`
(``GALSIM_DEEP_TF_LOGS=all`` keeps them).
"""
from . import _checkout, _tensorflow

_tensorflow.install()  # before anything imports TensorFlow
_checkout.install()  # galsim_deep.training and .hub_modules when run from a clone's root

from ._version import __version__  # noqa: E402
from .catalog import ColourRangeWarning, OutOfRangeWarning  # noqa: E402
from .hub import HubError  # noqa: E402
from .model import GenerativeGalaxyModel  # noqa: E402
from .module_format import ModuleFormatError  # noqa: E402
from . import config  # noqa: F401,E402  (registers the GalSim config types)

__all__ = ["GenerativeGalaxyModel", "HubError", "ModuleFormatError", "OutOfRangeWarning",
           "ColourRangeWarning", "__version__"]
