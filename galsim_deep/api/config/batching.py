"""The group engine: the network runs once per group of objects of an image.

At the first object of a group, every object of the group has its fields and
random normals evaluated exactly as its own build would see them (its
``obj_num`` and its own RNG), and the group is generated in one network call;
the other objects of the group take their stamps from it.  So a galaxy depends
only on the config and its object number, whatever ``batch_size`` and
``image.nproc``.  The design, and why condition fields must not depend on the
object's stamp, is in ``docs/config.rst`` ("How batching works").

Module state (per process): the current group per model (the models whose
out-of-range conditions were already reported are in :mod:`galsim_deep.core.catalog`).
Keys of the GalSim ``base`` dict: the image's object range (set by :func:`start_image`)
and the group size of its multiprocessing tasks (set by
``GroupedStampBuilder.makeTasks``).
"""
import warnings
import weakref

import galsim
import numpy as np
from galsim.config import (GetAllParams, GetNObjForImage, GetRNG, LoggerWrapper, ParseValue,
                           SetupConfigObjNum, UpdateGSParams, valid_stamp_types)
from galsim.config.stamp import stamp_ignore
from galsim.errors import GalSimConfigError

from ...core import parallel
from ...core.catalog import SHAPE_COLUMNS, OutOfRangeWarning
from ...engine import batch as engine
from ..model import GenerativeGalaxyModel

__all__ = ["TASKS_PER_IMAGE", "group_size", "start_image", "current_group"]

#: Multiprocessing tasks wanted per image (a few per worker, for load balance).
TASKS_PER_IMAGE = 8

# The sampled batch of the current group of objects, per model (a model's entry goes
# with it).
_GROUPS = weakref.WeakKeyDictionary()
# base-dict keys that evaluating another object's fields changes; restored after.
_STATE_KEYS = ("obj_num", "index_key", "rng", "seed", "gd", "obj_num_rng", "obj_num_seed",
               "obj_num_rngs", "obj_num_seeds", "image_pos", "world_pos", "uv_pos", "sky_pos",
               "stamp_center", "stamp_offset", "stamp_xsize", "stamp_ysize", "wcs")
# base-dict key: (first, end) object numbers of the current image.
_IMAGE_RANGE_KEY = "_galsim_deep_image_objects"
# base-dict key: objects per group in the current image (set with the multiprocessing tasks).
_GROUP_SIZE_KEY = "_galsim_deep_group_size"


def group_size(batch_size, nobj, nproc=1):
    """Objects per network group (and per multiprocessing task) in an image of ``nobj``.

    ``batch_size``, lowered (to a multiple of ``GenerativeGalaxyModel.EVAL_ROWS``)
    so that an image makes at least ``max(TASKS_PER_IMAGE, 4 * nproc)`` groups
    where it can.  The images do not depend on it.

    Parameters
    ----------
    batch_size : int
        The model's ``batch_size`` (objects).
    nobj : int
        Objects in the image.
    nproc : int
        Processes drawing the image's stamps.

    Returns
    -------
    int
        Objects per group.
    """
    rows = GenerativeGalaxyModel.EVAL_ROWS
    if batch_size <= rows:
        return batch_size
    want = -(-nobj // max(TASKS_PER_IMAGE, 4 * nproc))
    return min(batch_size, max(rows, -(-want // rows) * rows))


def stamp_nproc(base):
    """The image's ``nproc`` as GalSim resolves it (<= 0: one per core).

    Parameters
    ----------
    base : dict
        The GalSim config being processed.

    Returns
    -------
    int
        Processes drawing the image's stamps.
    """
    image = base.get("image", {})
    if "nproc" not in image:
        return 1
    nproc = ParseValue(image, "nproc", base, int)[0]
    return parallel.cpu_count() if nproc <= 0 else nproc


def start_image(model, base, logger):
    """Record the object range of the image being set up and forget the last image's group.

    Called from the input's ``setupImage``, when ``base['obj_num']`` is the
    image's first object.

    Parameters
    ----------
    model : GenerativeGalaxyModel
        The image's model.
    base : dict
        The GalSim config being processed.
    logger : logging.Logger or None
    """
    first = base.get("obj_num", 0)
    try:
        nobj = GetNObjForImage(base, base.get("image_num", 0), logger=logger)
    except Exception:  # an image type that cannot say: batch nothing ahead
        nobj = 1
    base[_IMAGE_RANGE_KEY] = (first, first + max(int(nobj), 1))
    base.pop(_GROUP_SIZE_KEY, None)
    _GROUPS.pop(model, None)  # a new image: no group of the last one is reused


def _group_of(obj_num, base, batch_size):
    """Return the object numbers of the batch group holding ``obj_num``, and its
    position in the image (the row of its first object)."""
    first, end = base.get(_IMAGE_RANGE_KEY, (obj_num, obj_num + 1))
    if not first <= obj_num < end:
        first, end = obj_num, obj_num + 1
    size = base.get(_GROUP_SIZE_KEY) or batch_size
    start = first + (obj_num - first) // size * size
    return range(start, min(end, start + size)), start - first


def _stamp_prelude(base, logger):
    """Make the random draws an object's stamp makes before its galaxy is built.

    GalSim's ``BuildStamp`` seeds the object's RNG, then draws its position
    (``image_pos``, ``world_pos``: random for a ``Scattered`` image), decides
    whether to skip it and builds its PSF, and only then builds the galaxy.
    Evaluating the galaxy's fields without these draws would give them the
    random numbers of the position (a galaxy's magnitude would follow its x).
    """
    stamp = base.get("stamp") or {"type": "Basic"}
    builder = valid_stamp_types[stamp.get("type", "Basic")]
    builder.setupRNG(stamp, base, logger)
    xsize, ysize, image_pos, world_pos = builder.setup(stamp, base, 0, 0, stamp_ignore, logger)
    builder.locateStamp(stamp, base, xsize, ysize, image_pos, world_pos, logger)
    gsparams = UpdateGSParams({}, stamp["gsparams"], base) if "gsparams" in stamp else {}
    builder.getSkip(stamp, base, logger)
    builder.buildPSF(stamp, base, gsparams, logger)


def _evaluate_object(config, base, model, obj_num, req, opt, ignore, logger=None):
    """Evaluate one object's fields, and its object seed, as its own build would.

    The object's RNG makes the draws of its stamp before the galaxy
    (:func:`_stamp_prelude`), then those of its condition fields; its state
    after them is kept (``rng_state``), so that the object's build continues
    from there (``shear``, noise padding...).  The engine draws the normals and
    the rotation from the object's seed (:mod:`galsim_deep.engine.random_draws`), on a
    stream of their own: the same numbers as the API's row ``obj_num`` for
    ``rng=random_seed``.
    """
    saved = {k: base[k] for k in _STATE_KEYS if k in base}
    try:
        SetupConfigObjNum(base, obj_num)
        _stamp_prelude(base, LoggerWrapper(logger))
        values, _ = GetAllParams(config, base, req=req, opt=opt, ignore=ignore)
        rng = GetRNG(config, base)
        values["rng_state"] = rng.serialize()
        # Without image.random_seed GalSim seeds each object from the system's entropy
        # (base['seed'] is 0): the galaxy takes a seed from that RNG, as irreproducible.
        seed = base.get("seed") if "random_seed" in base.get("image", {}) else None
        values["object_seed"] = int(seed) if seed is not None else galsim.BaseDeviate(rng).raw()
    finally:
        for key in _STATE_KEYS:
            base.pop(key, None)
        base.update(saved)
    return values


def _report_range_warnings(caught, group):
    """Re-issue caught warnings, naming the objects of the group.

    The model reports out-of-range values once per condition and process
    (:func:`galsim_deep.core.catalog.warn_out_of_range`), not once per group of objects.
    """
    for w in caught:
        if not issubclass(w.category, OutOfRangeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            continue
        m = w.message
        warnings.warn(w.category(f"GenerativeModelGalaxy (objects {group.start}.."
                                        f"{group.stop - 1}): {m}", condition=m.condition,
                                        low=m.low, high=m.high, rows=m.rows + group.start),
                      stacklevel=4)  # the object's build function


def _pop_current(node, saved):
    """Remove the cached values (``'current'``, not safe) of a config tree, keeping them in
    ``saved`` as (dict, value) pairs."""
    if isinstance(node, dict):
        current = node.get("current")
        if isinstance(current, tuple) and len(current) == 5 and not current[1]:
            saved.append((node, node.pop("current")))
        for value in node.values():
            _pop_current(value, saved)
    elif isinstance(node, list):
        for value in node:
            _pop_current(value, saved)


def _generate_group(config, base, model, group, first_row, req, opt, ignore, logger=None):
    """Evaluate every object of ``group`` and generate their stamps in one network call."""
    # The object being built has cached its position and PSF; evaluating it again must draw
    # them again, as a fresh build of it would (its cached values are put back after).
    saved = []
    for section in ("image", "stamp", "psf", "gal"):
        _pop_current(base.get(section), saved)
    try:
        rows = [_evaluate_object(config, base, model, n, req, opt, ignore, logger)
                for n in group]
    finally:
        for node, current in saved:
            node["current"] = current
    table = {q: np.array([values[q] for values in rows], dtype=float)
             for q in model.quantities}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", OutOfRangeWarning)
            conditions, magnitudes, canvas = model.kind.catalog_rows(
                table, range_policy=model.range_policy)
    except ValueError as err:
        raise GalSimConfigError(f"GenerativeModelGalaxy (objects {group.start}.."
                                f"{group.stop - 1}): {err}") from None
    _report_range_warnings(caught, group)
    clusters = [values.get("cluster") for values in rows]
    if all(c is None for c in clusters):
        clusters = None
    elif any(c is None for c in clusters):
        raise GalSimConfigError(f"GenerativeModelGalaxy (objects {group.start}.."
                                f"{group.stop - 1}): cluster is set for some objects and not "
                                f"for others; give every object a cluster or none")
    try:
        batch = engine.sample(model.kind, conditions, [values["object_seed"] for values in rows],
                              first_row=first_row,
                              rotate=[values.get("random_rotation", True) for values in rows],
                              cluster=clusters, magnitudes=magnitudes, **_shapes(rows),
                              allow_missing_shapes=True, canvas=canvas)
    except (ValueError, TypeError) as err:
        raise GalSimConfigError(f"GenerativeModelGalaxy (objects {group.start}.."
                                f"{group.stop - 1}): {err}") from None
    options = [{k: v for k, v in values.items() if k in opt or k == "rng_state"}
               for values in rows]
    return {"group": group, "batch": batch, "options": options}


def _shapes(rows):
    """The group's ``q`` and ``beta`` (degrees) per object, NaN for an object that leaves
    the field out; an empty dict where no object sets either."""
    out = {}
    for name in SHAPE_COLUMNS:
        values = [values.get(name) for values in rows]
        if any(v is not None for v in values):
            out[name] = np.array([np.nan if v is None else
                                  v / galsim.degrees if isinstance(v, galsim.Angle) else v
                                  for v in values], dtype=float)
    return out


def current_group(config, base, model, req, opt, ignore, logger=None):
    """The generated group holding the current object, generating it at its first object.

    A group is reused only within the config and the image that generated it.

    Parameters
    ----------
    config : dict
        The object's config dict (``gal``).
    base : dict
        The GalSim config being processed; ``base['obj_num']`` is the object.
    model : GenerativeGalaxyModel
    req, opt : dict
        Required and optional fields of an object (name -> type), as for
        ``galsim.config.GetAllParams``.
    ignore : list of str
        Fields to ignore.

    Returns
    -------
    dict
        ``group`` (range of object numbers), ``batch`` (the group's
        :class:`~galsim_deep.engine.batch.SampledBatch`) and ``options`` (per
        object, its values of the ``opt`` fields and its RNG state).
    """
    obj_num = base.get("obj_num", 0)
    state = _GROUPS.get(model)
    if state is None or state["base"] != id(base) or obj_num not in state["group"]:
        group, first_row = _group_of(obj_num, base, model.batch_size)
        state = _GROUPS[model] = _generate_group(config, base, model, group, first_row,
                                                     req, opt, ignore, logger)
        state["base"] = id(base)
    return state
