"""galsim_deep: deep generative models of galaxy morphology for GalSim.

``import galsim_deep`` (or ``modules: [galsim_deep]`` in a GalSim YAML file)
registers the config types ``generative_model`` (input) and
``GenerativeModelGalaxy`` (object).
"""
from ._version import __version__
from .catalog import OutOfRangeWarning
from .hub import HubError
from .model import GenerativeGalaxyModel
from .module_format import ModuleFormatError
from . import config  # noqa: F401  (registers the GalSim config types)

__all__ = ["GenerativeGalaxyModel", "HubError", "ModuleFormatError", "OutOfRangeWarning",
           "__version__"]
