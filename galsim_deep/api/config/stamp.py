"""The ``GenerativeBasic`` stamp type: GalSim's ``Basic``, with multiprocessing tasks of
whole object groups and block drawing.

With ``image.nproc``, GalSim hands each worker one stamp at a time, and a
worker would generate the whole group of objects around every stamp it gets.
:class:`GroupedStampBuilder`'s tasks are whole groups when the config has a
``generative_model`` input; which process draws which stamp is all that changes.
See "Multiprocessing" in ``docs/config.rst``.  It also draws a generated galaxy
through a shared PSF from its group's block (:mod:`galsim_deep.api.config.blocks`);
every other stamp is GalSim's.

It is registered under a new name, as GalSim's own config plugins do: GalSim's
``Basic`` stays GalSim's.  A config with a ``generative_model`` input and no
``stamp.type`` gets this one (the input's ``setupImage``,
:mod:`galsim_deep.api.config.input_model`); ``stamp: {type: Basic}`` keeps GalSim's.
"""
from galsim.config import RegisterStampType, StampBuilder

from ..model import GenerativeGalaxyModel
from . import blocks
from .batching import _GROUP_SIZE_KEY, _IMAGE_RANGE_KEY, group_size, stamp_nproc

__all__ = ["GroupedStampBuilder", "STAMP_TYPE"]

#: The stamp type's name in ``config['stamp']['type']``.
STAMP_TYPE = "GenerativeBasic"


class GroupedStampBuilder(StampBuilder):
    """GalSim's ``Basic`` stamp type, with multiprocessing tasks of whole object groups.

    When the config has a ``generative_model`` input, consecutive objects of
    one network group (see :func:`~galsim_deep.api.config.batching.group_size`)
    form one task, so one worker generates and draws the whole group;
    otherwise (and when an image has fewer groups than processes: GalSim needs
    a task per worker) one stamp per task, as GalSim does.
    """

    def makeTasks(self, config, base, jobs, logger):
        """Group the image's stamp jobs into tasks (lists of ``(job, k)``).

        Also records the group size in ``base`` for the object builds.
        """
        models = base.get("_input_objs", {}).get("generative_model") or [None]
        model = models[0]
        if not isinstance(model, GenerativeGalaxyModel) or len(jobs) < 2:
            return super().makeTasks(config, base, jobs, logger)
        first_obj = jobs[0]["obj_num"]
        first, _ = base.get(_IMAGE_RANGE_KEY, (first_obj, None))
        nproc = stamp_nproc(base)
        size = group_size(model.batch_size, len(jobs), nproc)
        if -(-len(jobs) // size) < nproc:
            # Fewer groups than workers: GalSim needs at least one task per worker.
            return super().makeTasks(config, base, jobs, logger)
        base[_GROUP_SIZE_KEY] = size
        tasks, previous = [], None
        for k, job in enumerate(jobs):
            group = (job["obj_num"] - first) // size
            if group != previous:
                tasks.append([])
                previous = group
            tasks[-1].append((job, k))
        return tasks

    def buildProfile(self, config, base, psf, gsparams, logger):
        """GalSim's profile (the galaxy convolved with the PSF); notes whether it is a
        generated galaxy, as built, through an achromatic PSF."""
        prof = super().buildProfile(config, base, psf, gsparams, logger)
        blocks.record_psf(base, prof, psf)
        return prof

    def draw(self, prof, image, method, offset, config, base, logger):
        """The stamp from its group's block where it can be
        (:func:`~galsim_deep.api.config.blocks.draw_from_block`), else GalSim's drawing."""
        drawn = blocks.draw_from_block(image, method, offset, base)
        if drawn is not None:
            return drawn
        return super().draw(prof, image, method, offset, config, base, logger)


RegisterStampType(STAMP_TYPE, GroupedStampBuilder())
