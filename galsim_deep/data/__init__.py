"""The data layer: the HDF5 stamp-dataset format, its sources and readers, and the hub.

Modules (one job each; import them directly, nothing heavy is imported here):

* :mod:`~galsim_deep.data.format` - names, shapes and units of the format;
  :func:`~galsim_deep.data.format.sersic_from_parametric`.
* :mod:`~galsim_deep.data.build` - :func:`~galsim_deep.data.build.build_dataset`
  (parallel, resumable, deterministic).
* :mod:`~galsim_deep.data.reader` - :class:`~galsim_deep.data.reader.StampDataset`,
  :func:`~galsim_deep.data.reader.make_tf_dataset`,
  :func:`~galsim_deep.data.reader.iterate_numpy`.
* :mod:`~galsim_deep.data.cosmos` - the ``cosmos`` source (real COSMOS data).
* :mod:`~galsim_deep.data.example_data` - reads the shipped 100-galaxy example
  catalogs and real HST PSF images (imports nothing else of the package).
* :mod:`~galsim_deep.data.cosmos_example` -
  :func:`~galsim_deep.data.cosmos_example.build_example_directory`, a real-format
  COSMOS directory of the example galaxies.
* :mod:`~galsim_deep.data.mock_cosmos` - the ``mock-cosmos`` source,
  :func:`~galsim_deep.data.mock_cosmos.sample_conditions`,
  :func:`~galsim_deep.data.mock_cosmos.make_galaxy`.
* :mod:`~galsim_deep.data.population` - the mock populations (KDE of the real catalog;
  the COSMOS 25.2 population extrapolated from it with published relations).
* :mod:`~galsim_deep.data.morphology` - mock morphologies and class labels.
* :mod:`~galsim_deep.data.psf`, :mod:`~galsim_deep.data.noise` - PSFs and noise;
  :mod:`~galsim_deep.data.binning` - stamps at whole multiples of 0.03" (drawn at
  0.03" and binned).
* :mod:`~galsim_deep.data.augment` - rotations and flips consistent across fields.
* :mod:`~galsim_deep.data.plots`, :mod:`~galsim_deep.data.population_stats` - grids
  of stamps, population statistics, a population's marginals against published ones.
* :mod:`~galsim_deep.data.hub` - find, download, verify and cache modules (``hub:NAME``,
  the module index).
"""
