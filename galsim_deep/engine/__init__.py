"""The sampling engine: the one path from catalog rows to galaxy profiles.

Every way of asking for generated galaxies (the Python API, the YAML types,
``galsim-deep field render``, the BTK generator and the validation samples) calls
:func:`galsim_deep.engine.batch.sample` once per block of catalog rows and turns the
:class:`~galsim_deep.engine.batch.SampledBatch` it returns into profiles or arrays.
The batch is made of three steps:

:mod:`~galsim_deep.engine.random_draws`
    the draws rule: a row's *object seed* (GalSim config's own seed of object
    number ``row``) gives its latent normals and its position angle;
:mod:`~galsim_deep.engine.network`
    the module's network, loaded once per process (in TensorFlow, or its
    portable copy in ONNX Runtime: :mod:`~galsim_deep.engine.runtimes`) and
    run in fixed blocks of rows;
:mod:`~galsim_deep.engine.profiles`
    pixel arrays to ``galsim.InterpolatedImage`` profiles, rotating each
    galaxy's pixels so that GalSim draws an axis-aligned image (a module's
    :mod:`~galsim_deep.engine.window` fades its stamps before their edge, or its
    :mod:`~galsim_deep.engine.wings` continue each galaxy's profile past it);

and what the network's outputs become (one-band profiles, colour galaxies with SEDs from
:mod:`~galsim_deep.engine.colour`, a mixture prior's chosen cluster) is the module's
*sampling kind*, chosen once from its metadata (:mod:`~galsim_deep.engine.kinds`).

A caller that wants images through a PSF (``GenerativeGalaxyModel.draw``, ``galsim-deep
field render``, the demo) has the batches drawn by the one drawing loop,
:func:`galsim_deep.engine.drawing.draw_galaxies`: a batch at once where its galaxies share
their PSF and pixel scale (:mod:`~galsim_deep.engine.block`), one by one through GalSim where
they cannot.

So the same seed and catalog row give the same pixels whichever caller asks
(``docs/performance.rst``, "The sampling engine").
"""
from .random_draws import SEED_FOR_ZERO, as_deviate, galaxy_draws, object_seeds
from .network import EVAL_ROWS, Network
from .kinds import KINDS, SamplingKind, register_kind
from .batch import SampledBatch, sample
from .drawing import draw_galaxies
from .profiles import (ROTATIONS, band_limit, galaxy_profile, grid_pad_factor, rotate_stamps,
                     rotated_size, rotation_mode, stamp_profile)

__all__ = ["sample", "SampledBatch", "draw_galaxies", "KINDS", "SamplingKind", "register_kind",
           "SEED_FOR_ZERO", "as_deviate", "object_seeds", "galaxy_draws", "EVAL_ROWS", "Network",
           "ROTATIONS", "rotation_mode", "rotated_size", "rotate_stamps", "stamp_profile",
           "galaxy_profile", "grid_pad_factor", "band_limit"]
