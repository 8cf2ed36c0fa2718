"""The MPCC family (Astorga et al. 2020, "Matching Priors and Conditionals for Clustering";
N. Astorga 2021, chapters 7-8): a GAN whose latent prior is a Gaussian mixture, with an
encoder that inverts the generator and a cluster membership ``q(y | z)``, trained through
the PSF and noise of the training stamps (Lanusse et al. 2020, section 2.2).

* :mod:`~galsim_deep.training.mpcc.spectral` - spectrally normalised layers;
* :mod:`~galsim_deep.training.mpcc.prior` - the GMM prior ``p(y) p(z | y)`` and the
  membership ``q(y | z)``;
* :mod:`~galsim_deep.training.mpcc.networks` - generator, discriminator and encoder
  (sharing residual blocks);
* :mod:`~galsim_deep.training.mpcc.losses` - hinge loss and the terms of Eqs. 7.13-7.16;
* :mod:`~galsim_deep.training.mpcc.gan` - :class:`~galsim_deep.training.mpcc.gan.MPCC`,
  the networks in physical units;
* :mod:`~galsim_deep.training.mpcc.train` - Algorithm 1 (``galsim-deep model train``);
* :mod:`~galsim_deep.training.mpcc.module` - the hub module (``galsim-deep hub export``);
* :mod:`~galsim_deep.training.mpcc.family` - the family's entry in the registry.

Generated profiles are observed with :func:`galsim_deep.physics.forward_model.observe`;
clustering is measured by :mod:`galsim_deep.tools.validation.measures.clustering.compute`.
"""
