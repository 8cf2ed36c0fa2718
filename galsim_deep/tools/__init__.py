"""The tools layer: measurements of exported modules, latent-space tools and the demo.

* :mod:`~galsim_deep.tools.validation` - the validation measures and reports
  (``galsim-deep validation``);
* :mod:`~galsim_deep.tools.latent` - encoding, similarity search, anomaly scores, linear
  probes (``galsim-deep latent``);
* :mod:`~galsim_deep.tools.demo` - the demo's field and galleries (``galsim-deep demo``).

The tools may import training (a measure that fits a network takes the trainer as an
argument); nothing below imports them.  Nothing is imported here: the validation and
latent packages need the ``[validate]`` extra.
"""
