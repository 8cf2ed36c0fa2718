"""The ``generative_model`` input type: a `GenerativeGalaxyModel` per process.

In a GalSim YAML file::

    input:
        generative_model:
            file_name: 'hub:NAME'   # required: a model name, module directory or archive
            batch_size: 64          # optional: objects per network group
            range_policy: warn      # optional: warn | clip | error
            runtime: auto           # optional: auto | onnx | openvino | tensorflow
            block_drawing: true     # optional: draw a group's stamps through a shared PSF
                                    # in one Fourier step (false: GalSim, object by object)

The parameters are those of `GenerativeGalaxyModel` (its ``_req_params`` and
``_opt_params``), and ``block_drawing`` (:mod:`galsim_deep.api.config.blocks`).  The
model is built without a multiprocessing proxy: each process loads the module once and
keeps it (see "How batching works" in ``docs/config.rst``).
"""
import galsim
from galsim.config import GetAllParams, InputLoader, ParseValue, RegisterInputType

from ...engine.runtimes import network_ran
from ..model import GenerativeGalaxyModel
from . import batching, blocks
from .stamp import STAMP_TYPE

__all__ = ["GenerativeModelLoader"]

def _fall_back_to_one_process(base, logger):
    """Set ``image.nproc`` to 1 (with a warning) if a network has run in this process.

    GalSim forks its ``image.nproc`` workers, and a fork of a process in which
    TensorFlow or ONNX Runtime has run hangs at its first network call
    (:func:`galsim_deep.engine.runtimes.network_ran`).
    """
    image = base.get("image", {})
    if ("nproc" in image and "current_nproc" not in base
            and ParseValue(image, "nproc", base, int)[0] != 1
            and network_ran()):
        galsim.config.LoggerWrapper(logger).warning(
            "galsim_deep: the network (TensorFlow or ONNX Runtime) has already run in this "
            "process and does not survive GalSim's fork, so image.nproc is set to 1; run the "
            "config in a fresh process (the galsim command) to use several")
        image["nproc"] = 1


class GenerativeModelLoader(InputLoader):
    """Input loader for ``input.generative_model`` (no proxy: each process has its own model,
    whose network the engine loads once per process, :mod:`galsim_deep.engine.network`)."""

    def __init__(self):
        super().__init__(GenerativeGalaxyModel, use_proxy=False)

    def getKwargs(self, config, base, logger):
        """The model's kwargs: ``file_name`` (required), ``batch_size``, ``range_policy``,
        ``colours`` (a chromatic module's), ``runtime`` (``GenerativeGalaxyModel``'s).

        Returns
        -------
        kwargs : dict
        safe : bool
            Always True: the model does not change between images.
        """
        kwargs, _ = GetAllParams(config, base, req=GenerativeGalaxyModel._req_params,
                                 opt=GenerativeGalaxyModel._opt_params, ignore=[blocks.OPTION])
        if blocks.OPTION in config:  # the stamp builder's; checked here, once
            ParseValue(config, blocks.OPTION, base, bool)
        return kwargs, True

    def setupImage(self, model, config, base, logger):
        """Start an image's batching; keep ``image.nproc`` from hanging after TensorFlow ran;
        give a config without a ``stamp.type`` the grouped stamp type.

        Called by GalSim as each image is set up, before its stamps (``base['obj_num']``
        is then the image's first object).  Only a config that uses this input is
        touched, and a ``stamp.type`` it names (``Basic`` included) is kept.
        """
        stamp = base.setdefault("stamp", {})
        if isinstance(stamp, dict):
            stamp.setdefault("type", STAMP_TYPE)
        batching.start_image(model, base, logger)
        _fall_back_to_one_process(base, logger)


RegisterInputType("generative_model", GenerativeModelLoader())
