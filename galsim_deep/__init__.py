"""galsim_deep: deep generative models of galaxy morphology for GalSim."""
from ._version import __version__
