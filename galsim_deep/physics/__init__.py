"""The physics every layer above shares: bandpasses and SED templates
(:mod:`~galsim_deep.physics.bands`), the Sérsic profile
(:mod:`~galsim_deep.physics.sersic`) and the forward model of an observation in
TensorFlow (:mod:`~galsim_deep.physics.forward_model`: PSF convolution, noise,
likelihoods, a chromatic galaxy's bands).  The density model of latent codes, a network,
is training's (:mod:`galsim_deep.training.maf`).

Nothing here imports a network, a dataset or a caller; the forward model is the only
module that imports TensorFlow, and only when it is imported itself.
"""
