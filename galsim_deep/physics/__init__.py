"""The physics every layer above shares: bandpasses and SED templates
(:mod:`~galsim_deep.physics.bands`), the Sérsic profile
(:mod:`~galsim_deep.physics.sersic`) and the forward model of an observation in
TensorFlow (:mod:`~galsim_deep.physics.forward_model`: PSF convolution, noise,
likelihoods, a chromatic galaxy's bands); and the density model of latent codes that
training and the latent tools share, the conditional masked autoregressive flow
(:mod:`~galsim_deep.physics.flows`, TensorFlow Probability; sampling a shipped module
never imports it: a module's flow is part of its exported graph).

Nothing here imports a network, a dataset or a caller; the forward model and the
flow are the only modules that import TensorFlow, and only when they are imported
themselves.
"""
