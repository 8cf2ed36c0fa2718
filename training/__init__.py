"""Training code of galsim_deep's generative models (installed as ``galsim_deep.training``).

The top-level ``training/`` folder of the repository is the package
``galsim_deep.training`` (``setup.cfg``: ``package_dir``); every import across
that boundary is absolute (``from galsim_deep.training.loop import ...``).
Training may use the runtime package ``galsim_deep``; the runtime never
imports training, and training imports no validation code: scoring live
checkpoints with the validation measures is :mod:`galsim_deep.diagnostics`.

* :mod:`~galsim_deep.training.families` - the registry of model families
  (:mod:`~galsim_deep.training.flow_vae`, :mod:`~galsim_deep.training.mpcc`,
  :mod:`~galsim_deep.training.equivariant_vae`,
  :mod:`~galsim_deep.training.hierarchical_vae`);
* :mod:`~galsim_deep.training.recipes` - the YAML recipes of training runs;
* :mod:`~galsim_deep.training.loop` - the one training loop (checkpoints,
  resume, warm start, progress, NaN stop, summaries, run log);
* :mod:`~galsim_deep.training.latent_flow` - the conditional latent flow of a
  recipe, and small flows fitted to codes;
* :mod:`~galsim_deep.training.classifier` - stamp classifiers (the network and
  trainers of the clustering ceiling and the two-sample test);
* :mod:`~galsim_deep.training.export` - trained model -> hub module;
* :mod:`~galsim_deep.training.latent_fit` - codes fitted through a live decoder
  (the optimisation and its objectives);
* :mod:`~galsim_deep.training.optim`, :mod:`~galsim_deep.training.seeds`,
  :mod:`~galsim_deep.training.distribute`, :mod:`~galsim_deep.training.flux_scale`,
  :mod:`~galsim_deep.training.resnet` - optimizers, reproducibility, devices,
  network units and sizes.
"""
