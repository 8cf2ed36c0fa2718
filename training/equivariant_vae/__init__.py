"""The equivariant-VAE family (Nishikawa-Toomey, Smith & Gal, after Tai et al.
2019's equivariant transformers): a VAE whose encoder sees each galaxy turned to a
canonical pose and whose decoder's galaxy is turned back before the PSF, so that its codes
carry no orientation, with a classifier from the codes trained semi-supervised.

* :mod:`~galsim_deep.training.equivariant_vae.rotation` - differentiable rotation and polar
  resampling (gathers, exportable to ONNX);
* :mod:`~galsim_deep.training.equivariant_vae.networks` - the pose network and the
  classifier head;
* :mod:`~galsim_deep.training.equivariant_vae.autoencoder` -
  :class:`~galsim_deep.training.equivariant_vae.autoencoder.EquivariantVAE`, the pose
  network around a mono Flow-VAE, whose loss it trains with;
* :mod:`~galsim_deep.training.equivariant_vae.train` - the alternating semi-supervised
  trainer (``galsim-deep model train``);
* :mod:`~galsim_deep.training.equivariant_vae.module` - the module's signatures (``sample``
  draws each galaxy's pose from its last normal);
* :mod:`~galsim_deep.training.equivariant_vae.family` - the family's entry in the registry.

``docs/equivariant_vae.rst`` describes the design and how to train it.
"""
