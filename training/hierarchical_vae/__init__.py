"""The hierarchical-VAE family (Andrianomena & Tang, section 3.1, after Child
2021's very deep VAE): a bottom-up ResNet encoder and a top-down decoder with latents at
several resolutions, each top-down block computing a prior, a posterior and a latent,
trained through each stamp's PSF and noise as the Flow-VAE.

* :mod:`~galsim_deep.training.hierarchical_vae.networks` - the Gaussian KL, the residual
  block, the top-down block, the encoder and the decoder;
* :mod:`~galsim_deep.training.hierarchical_vae.autoencoder` -
  :class:`~galsim_deep.training.hierarchical_vae.autoencoder.HierarchicalVAE` in physical
  units, with ``encode`` (the top latent), ``decode`` and the per-galaxy ``elbo``;
* :mod:`~galsim_deep.training.hierarchical_vae.losses` - the negative ELBO through the PSF
  and the noise;
* :mod:`~galsim_deep.training.hierarchical_vae.train` - the trainer (``galsim-deep model
  train``);
* :mod:`~galsim_deep.training.hierarchical_vae.module` - the module's signatures
  (``sample`` takes the top code's normals and the lower latents');
* :mod:`~galsim_deep.training.hierarchical_vae.family` - the family's entry in the registry.

``docs/hierarchical_vae.rst`` describes the design and how to train it.
"""
