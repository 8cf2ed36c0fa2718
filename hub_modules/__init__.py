"""The trained modules shipped with galsim_deep, listed in ``index.json``."""
