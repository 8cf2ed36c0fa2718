"""The Flow-VAE family (Lanusse et al. 2020): a ResNet VAE trained through the PSF and
noise model, plus a conditional Masked Autoregressive Flow in its latent space.

* :mod:`~galsim_deep.training.flow_vae.networks` - the ResNet encoder and decoder;
* :mod:`~galsim_deep.training.flow_vae.autoencoder` - :class:`~galsim_deep.training.flow_vae.autoencoder.FlowVAE`,
  the networks in physical units;
* :mod:`~galsim_deep.training.flow_vae.losses` - the likelihood through the PSF, free bits,
  total variation and bottleneck terms;
* :mod:`~galsim_deep.training.flow_vae.train` - the autoencoder's trainer
  (``galsim-deep model train``);
* :mod:`~galsim_deep.training.flow_vae.module` - the hub module's signatures;
* :mod:`~galsim_deep.training.flow_vae.family` - the family's entry in the registry.
"""
