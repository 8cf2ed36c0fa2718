"""Density models of latent codes, shared by training and the latent tools: the
conditional masked autoregressive flow (:mod:`~galsim_deep.density.flows`).

Sampling a shipped module never imports it: a module's flow is part of its exported
graph.  It needs TensorFlow Probability, imported with :mod:`~galsim_deep.density.flows`.
"""
