"""The image-flow family: a normalizing flow of affine couplings directly
on the stamps (RealNVP, Dinh et al. 2017; Glow, Kingma & Dhariwal 2018), after the
normalizing-flow slides of the Milky Way challenge (seed 001: four affine flow layers on
64x64 Galaxy10 DECaLS images), built from TensorFlow Probability bijectors.

* :mod:`~galsim_deep.training.image_flow.networks` - the bijectors: the asinh
  preprocessing, the squeeze, ActNorm, the affine coupling and its network;
* :mod:`~galsim_deep.training.image_flow.flow` -
  :class:`~galsim_deep.training.image_flow.flow.ImageFlow`, the composed flow, with
  ``log_prob``, ``bits_per_dim``, ``encode`` and ``sample_from_normal``;
* :mod:`~galsim_deep.training.image_flow.train` - the trainer (``galsim-deep model train``),
  minimising bits per dimension;
* :mod:`~galsim_deep.training.image_flow.module` - the module's signatures (``sample``,
  ``encode``, ``log_prob``);
* :mod:`~galsim_deep.training.image_flow.family` - the family's entry in the registry.

``docs/image_flow.rst`` describes the design and how to train it.
"""
