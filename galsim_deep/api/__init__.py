"""The public object and its callers: the model layer and the callers layer above it.

* :mod:`~galsim_deep.api.model` - :class:`~galsim_deep.GenerativeGalaxyModel`, the
  public object (the model layer);
* :mod:`~galsim_deep.api.config` - the GalSim config types (``modules: [galsim_deep]``);
* :mod:`~galsim_deep.api.simulate` - survey fields rendered tile by tile
  (``galsim-deep field render``);
* :mod:`~galsim_deep.api.btk` and :mod:`~galsim_deep.api.btk_catalogs` - the
  BlendingToolKit generator and its catalogs (the optional extra ``[btk]``).

The callers import the model, never the reverse (``tests/project/test_architecture.py``).
Nothing is imported here: ``import galsim_deep`` imports the model and the config types.
"""
