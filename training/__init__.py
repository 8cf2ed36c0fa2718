"""Training code for galsim_deep generative models (installed as ``galsim_deep.training``)."""
