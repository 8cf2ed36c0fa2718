"""Training data: the HDF5 stamp-dataset format, its sources and readers.

Modules (one job each; import them directly, nothing heavy is imported here):

* :mod:`~galsim_deep.datasets.format` - names, shapes and units of the format;
  :func:`~galsim_deep.datasets.format.sersic_from_parametric`.
* :mod:`~galsim_deep.datasets.build` - :func:`~galsim_deep.datasets.build.build_dataset`
  (parallel, resumable, deterministic).
* :mod:`~galsim_deep.datasets.reader` - :class:`~galsim_deep.datasets.reader.StampDataset`,
  :func:`~galsim_deep.datasets.reader.make_tf_dataset`,
  :func:`~galsim_deep.datasets.reader.iterate_numpy`.
* :mod:`~galsim_deep.datasets.cosmos` - the ``cosmos`` source (real COSMOS data).
* :mod:`~galsim_deep.datasets.example_data` - reads the shipped 100-galaxy example
  catalogs and real HST PSF images (imports nothing else of the package).
* :mod:`~galsim_deep.datasets.cosmos_example` -
  :func:`~galsim_deep.datasets.cosmos_example.build_example_directory`, a real-format
  COSMOS directory of the example galaxies.
* :mod:`~galsim_deep.datasets.mock_cosmos` - the ``mock-cosmos`` source,
  :func:`~galsim_deep.datasets.mock_cosmos.sample_conditions`,
  :func:`~galsim_deep.datasets.mock_cosmos.make_galaxy`.
* :mod:`~galsim_deep.datasets.population` - the mock populations (KDE of the real catalog;
  the COSMOS 25.2 population extrapolated from it with published relations).
* :mod:`~galsim_deep.datasets.morphology` - mock morphologies and class labels.
* :mod:`~galsim_deep.datasets.psf`, :mod:`~galsim_deep.datasets.noise` - PSFs and noise;
  :mod:`~galsim_deep.datasets.binning` - stamps at whole multiples of 0.03" (drawn at
  0.03" and binned).
* :mod:`~galsim_deep.datasets.augment` - rotations and flips consistent across fields.
* :mod:`~galsim_deep.datasets.plots`, :mod:`~galsim_deep.datasets.population_stats` - grids
  of stamps, population statistics, a population's marginals against published ones.
"""
