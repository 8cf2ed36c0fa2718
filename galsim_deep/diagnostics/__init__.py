"""Diagnostics: live training checkpoints and runs scored with the validation measures.

A top layer beside the command line.  Diagnostics may import both
:mod:`galsim_deep.training` and :mod:`galsim_deep.tools.validation`; only the
command line (:mod:`galsim_deep.cli`) imports them, and nothing in training or
validation imports them (``tests/project/test_architecture.py``, :doc:`/architecture`).

* :mod:`~galsim_deep.diagnostics.checkpoint_scores` - quick scores of a
  checkpoint's autoencoder on mock galaxies: learning curves and ablations
  (``galsim-deep validation checkpoint``);
* :mod:`~galsim_deep.diagnostics.learning_curve` - those scores drawn against
  the training step (``galsim-deep validation checkpoint --figure``);
* :mod:`~galsim_deep.diagnostics.latent_fit` - latent-code fits through a
  checkpoint's decoder against the encoder and the fitted Sérsic profile
  (``galsim-deep validation latent-fit``);
* :mod:`~galsim_deep.diagnostics.ceiling` - the supervised ceiling classifier
  of a clustering accuracy (``galsim-deep validation ceiling``);
* :mod:`~galsim_deep.diagnostics.prior_table` - a module's reconstructions, samples
  and candidate priors scored alike on an evaluation file: which part of the samples'
  gap is the prior's (``galsim-deep validation priors``);
* :mod:`~galsim_deep.diagnostics.release_check` - modules as users get them, the Sérsic
  rows and the truths' own stamps scored alike in five survey views, and the check a new
  default passes against the previous one (``galsim-deep validation release-table``,
  ``galsim-deep hub release``);
* :mod:`~galsim_deep.diagnostics.semi_supervised` - an equivariant-VAE run's classifier
  against fully supervised ones and linear probes (``galsim-deep validation
  semi-supervised``).

Nothing is imported here: each submodule loads TensorFlow and the training
code only when it is imported itself.
"""
