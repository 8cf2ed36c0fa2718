"""GalSim config types: input ``generative_model``, object ``GenerativeModelGalaxy``.

Usage in a GalSim YAML file::

    modules: [galsim_deep]
    input:
        generative_model: {file_name: 'hub:NAME'}     # optional: batch_size, range_policy
    gal:
        type: GenerativeModelGalaxy
        flux_radius: {type: Random, min: 5, max: 10}   # one field per condition,
        mag_auto: {type: Catalog, col: mag}            # any GalSim value type
        zphot: 0.5
        cluster: 2          # MPCC modules only, optional: the mixture component (0..K-1)

Importing this package (``import galsim_deep`` does) registers, one module per job:

- :mod:`~galsim_deep.api.config.input_model`: the ``generative_model`` input type;
- :mod:`~galsim_deep.api.config.galaxy`: the ``GenerativeModelGalaxy`` object type;
- :mod:`~galsim_deep.api.config.batching`: the group engine (the network runs once
  per group of objects, each object evaluated with its own RNG);
- :mod:`~galsim_deep.api.config.blocks`: block drawing, a group's stamps through a
  shared PSF in one Fourier step;
- :mod:`~galsim_deep.api.config.stamp`: the ``GenerativeBasic`` stamp type, GalSim's
  ``Basic`` with multiprocessing tasks of whole groups, drawing from the blocks where
  it can (GalSim's own ``Basic`` is left as it is).

How batching, block drawing and ``image.nproc`` work, and why, is in
``docs/config.rst``.
"""
# (the order is the registration order: the object type names its input type)
from .input_model import GenerativeModelLoader
from .galaxy import BuildGenerativeModelGalaxy
from .batching import TASKS_PER_IMAGE, group_size
from .stamp import GroupedStampBuilder

__all__ = ["GenerativeModelLoader", "BuildGenerativeModelGalaxy", "GroupedStampBuilder",
           "group_size", "TASKS_PER_IMAGE"]
