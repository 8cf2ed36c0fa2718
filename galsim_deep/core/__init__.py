"""The foundation layer: what every other layer of ``galsim_deep`` may import.

* :mod:`~galsim_deep.core.errors` - the project's errors
  (:class:`~galsim_deep.core.errors.GalsimDeepError`);
* :mod:`~galsim_deep.core.files` - atomic file writes and checksums;
* :mod:`~galsim_deep.core.module_format` - the module directory format and its metadata;
* :mod:`~galsim_deep.core.catalog` - catalog columns, condition arrays, the range policy;
* :mod:`~galsim_deep.core.keywords` - a keyword given to the wrong call, refused naming the
  right one;
* :mod:`~galsim_deep.core.parallel` - worker processes, their pool and CPU counts;
* :mod:`~galsim_deep.core.batches` - a function run over arrays a slice at a time;
* :mod:`~galsim_deep.core.reporting` - figures, JSON and Markdown of every report;
* :mod:`~galsim_deep.core.cluster_accuracy` - clustering accuracies (shared with training);
* :mod:`~galsim_deep.core.extras` - the optional extras and the error naming a missing one;
* :mod:`~galsim_deep.core.registry` - the one registry of named plugins (sources, kinds,
  runtimes, families, measures), imported at first use;
* :mod:`~galsim_deep.core.tensorflow_logs` - TensorFlow's harmless start-up lines kept off
  stderr.

Nothing here imports another layer; nothing heavy is imported by this package.
"""
