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

Batching.  The network runs once per group of ``batch_size`` objects of an
image, not once per object.  At the first object of a group, the condition
fields and the random normals of every object of the group are evaluated, each
exactly as that object's own build would see them (its ``obj_num`` and its own
RNG, seeded by GalSim from ``image.random_seed`` and the object number), and
the group is generated in one call.  So an object's galaxy depends only on the
config and its object number: the same YAML and seed give identical output
with any ``nproc`` and any ``batch_size``.  Condition fields must therefore not
depend on other parts of the same object's build (its stamp position, say).

The model is loaded once per process (no proxy between processes: each
worker loads the module itself and keeps it).

Multiprocessing (``image.nproc``).  GalSim hands each worker one stamp at a
time; a worker would then generate the whole group around every stamp it gets,
so that every worker ran the network on every object.  Importing galsim_deep
therefore makes the tasks of GalSim's ``Basic`` stamp type whole groups of
objects when the image has a ``generative_model`` input (which process draws
which stamp is all that changes), with groups small enough to give every
worker several.  Each worker sets TensorFlow to its share of the cores before
its first network call.  GalSim forks its workers, and TensorFlow does not
survive a fork once it has run: in a Python process that has already sampled
a model, ``image.nproc`` is set back to 1 (with a warning) instead of hanging.
"""
import warnings

import galsim
import numpy as np
from galsim.config import (GetAllParams, GetInputObj, GetNObjForImage, GetRNG, InputLoader,
                           ParseValue, RegisterInputType, RegisterObjectType,
                           RegisterStampType, SetupConfigObjNum, SetupConfigRNG, StampBuilder,
                           valid_stamp_types)
from galsim.errors import GalSimConfigError

from . import parallel
from .catalog import OutOfRangeWarning
from .model import GenerativeGalaxyModel

__all__ = ["GenerativeModelLoader", "BuildGenerativeModelGalaxy"]

# Models by their input kwargs: each process loads a given module once.
_MODELS = {}
# The generated stamps of the current group of objects, per model.
_GROUPS = {}
# base-dict keys that evaluating another object's fields changes; restored after.
_STATE_KEYS = ("obj_num", "index_key", "rng", "seed", "gd", "obj_num_rng", "obj_num_seed",
               "obj_num_rngs", "obj_num_seeds")
_IMAGE_RANGE_KEY = "_galsim_deep_image_objects"
# Threads per process, once set in a GalSim multiprocessing worker.
_WORKER_THREADS = []

# Models (by id) whose out-of-range conditions were reported in this process.
_RANGE_WARNED = set()
# Objects per group in the current image (set with the multiprocessing tasks).
_GROUP_SIZE_KEY = "_galsim_deep_group_size"
#: Multiprocessing tasks wanted per image (a few per worker, for load balance).
TASKS_PER_IMAGE = 8

#: Optional per-object parameters besides the conditions.
_OBJECT_OPT = {"x_interpolant": str, "k_interpolant": str, "pad_factor": float,
               "noise_pad_size": float, "noise_pad": float, "flux_scaling": float, "area": float,
               "exptime": float, "zero_point": float, "calculate_maxk": bool, "cluster": int}


def _load_model(file_name, batch_size=64, range_policy="warn"):
    key = (file_name, batch_size, range_policy)
    if key not in _MODELS:
        _MODELS[key] = GenerativeGalaxyModel(file_name, batch_size=batch_size,
                                             range_policy=range_policy)
    return _MODELS[key]


class GenerativeModelLoader(InputLoader):
    """Input loader for ``input.generative_model`` (no proxy: one model per process)."""

    def __init__(self):
        super().__init__(_load_model, use_proxy=False)

    def getKwargs(self, config, base, logger):
        kwargs, _ = GetAllParams(config, base, req=GenerativeGalaxyModel._req_params,
                                 opt=GenerativeGalaxyModel._opt_params)
        return kwargs, True

    def setupImage(self, model, config, base, logger):
        # Called as each image is set up, when base['obj_num'] is its first object.
        first = base.get("obj_num", 0)
        try:
            nobj = GetNObjForImage(base, base.get("image_num", 0), logger=logger)
        except Exception:  # an image type that cannot say: batch nothing ahead
            nobj = 1
        base[_IMAGE_RANGE_KEY] = (first, first + max(int(nobj), 1))
        base.pop(_GROUP_SIZE_KEY, None)
        _GROUPS.pop(id(model), None)  # a new image: no group of the last one is reused
        image = base.get("image", {})
        if ("nproc" in image and "current_nproc" not in base
                and ParseValue(image, "nproc", base, int)[0] != 1
                and parallel.tensorflow_started()):
            galsim.config.LoggerWrapper(logger).warning(
                "galsim_deep: TensorFlow has already run in this process and does not "
                "survive GalSim's fork, so image.nproc is set to 1; run the config in a "
                "fresh process (the galsim command) to use several")
            image["nproc"] = 1


def group_size(batch_size, nobj, nproc=1):
    """Objects per network group (and per multiprocessing task) in an image of ``nobj``.

    ``batch_size``, lowered (to a multiple of ``GenerativeGalaxyModel.EVAL_ROWS``)
    so that an image makes at least ``max(TASKS_PER_IMAGE, 4 * nproc)`` groups
    where it can.  The images do not depend on it.

    Parameters
    ----------
    batch_size : int
        The model's ``batch_size``.
    nobj : int
        Objects in the image.
    nproc : int
        Processes drawing the image's stamps.

    Returns
    -------
    int
    """
    rows = GenerativeGalaxyModel.EVAL_ROWS
    if batch_size <= rows:
        return batch_size
    want = -(-nobj // max(TASKS_PER_IMAGE, 4 * nproc))
    return min(batch_size, max(rows, -(-want // rows) * rows))


def _stamp_nproc(base):
    """The image's ``nproc`` as GalSim resolves it (<= 0: one per core)."""
    image = base.get("image", {})
    if "nproc" not in image:
        return 1
    nproc = ParseValue(image, "nproc", base, int)[0]
    return parallel.cpu_count() if nproc <= 0 else nproc


def _group_of(obj_num, base, batch_size):
    """Return the object numbers of the batch group holding ``obj_num``, and its
    position in the image (the row of its first object)."""
    first, end = base.get(_IMAGE_RANGE_KEY, (obj_num, obj_num + 1))
    if not first <= obj_num < end:
        first, end = obj_num, obj_num + 1
    size = base.get(_GROUP_SIZE_KEY) or batch_size
    start = first + (obj_num - first) // size * size
    return range(start, min(end, start + size)), start - first


def _evaluate_object(config, base, model, obj_num, req, ignore):
    """Evaluate one object's fields and random normals, as its own build would."""
    saved = {k: base[k] for k in _STATE_KEYS if k in base}
    try:
        SetupConfigObjNum(base, obj_num)
        SetupConfigRNG(base, seed_offset=1)  # the object's own RNG, as the stamp makes it
        values, _ = GetAllParams(config, base, req=req, opt=_OBJECT_OPT, ignore=ignore)
        normals = model.random_normal(1, GetRNG(config, base))[0]
    finally:
        for key in _STATE_KEYS:
            base.pop(key, None)
        base.update(saved)
    return values, normals


def _generate_group(config, base, model, group, first_row, req, ignore):
    rows = [_evaluate_object(config, base, model, n, req, ignore) for n in group]
    table = {q: np.array([values[q] for values, _ in rows], dtype=float)
             for q in model.quantities}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", OutOfRangeWarning)
            conditions = model.conditions(table)
    except ValueError as err:
        raise GalSimConfigError(f"GenerativeModelGalaxy (objects {group.start}.."
                                f"{group.stop - 1}): {err}") from None
    for w in caught:
        # One warning per model and process, not one per group of objects.
        if not issubclass(w.category, OutOfRangeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif id(model) not in _RANGE_WARNED:
            _RANGE_WARNED.add(id(model))
            warnings.warn(f"GenerativeModelGalaxy (objects {group.start}..{group.stop - 1}): "
                          f"{w.message} Later objects outside the range are not reported "
                          f"again in this process.", OutOfRangeWarning, stacklevel=2)
    clusters = [values.get("cluster") for values, _ in rows]
    if all(c is None for c in clusters):
        clusters = None
    elif any(c is None for c in clusters):
        raise GalSimConfigError(f"GenerativeModelGalaxy (objects {group.start}.."
                                f"{group.stop - 1}): cluster is set for some objects and not "
                                f"for others; give every object a cluster or none")
    try:
        images = model.generate(conditions, np.stack([n for _, n in rows]),
                                first_row=first_row, cluster=clusters)
    except (ValueError, TypeError) as err:
        raise GalSimConfigError(f"GenerativeModelGalaxy (objects {group.start}.."
                                f"{group.stop - 1}): {err}") from None
    options = [{k: v for k, v in values.items() if k in _OBJECT_OPT} for values, _ in rows]
    return {"group": group, "conditions": conditions, "images": images, "options": options}


def BuildGenerativeModelGalaxy(config, base, ignore, gsparams, logger):
    """Build one ``GenerativeModelGalaxy`` (GalSim object builder).

    Each condition of the model is a required float field; ``x_interpolant``,
    ``k_interpolant``, ``pad_factor``, ``calculate_maxk`` (see
    `GenerativeGalaxyModel.profile`), ``noise_pad_size`` with ``noise_pad`` (the
    padding noise's pixel variance) and the flux options
    ``flux_scaling``, ``area`` (cm^2), ``exptime`` (s) and ``zero_point`` (AB
    mag) are optional; so is ``cluster`` (int) for mixture-prior (MPCC) modules,
    the cluster every object is drawn from (see `GenerativeGalaxyModel.sample`).
    """
    model = GetInputObj("generative_model", config, base, "GenerativeModelGalaxy")
    ignore = list(ignore) + ["num"]
    req = model.sample_req_params

    obj_num = base.get("obj_num", 0)
    if "current_nproc" in base and not _WORKER_THREADS:
        # A GalSim multiprocessing worker: TensorFlow gets this worker's share of the
        # cores (GalSim already runs its own OpenMP loops single-threaded here).
        _WORKER_THREADS.append(parallel.configure_worker(base["current_nproc"],
                                                         galsim_threads=False))
    state = _GROUPS.get(id(model))
    # (a group is reused only within the config and image that generated it)
    if state is None or state["base"] != id(base) or obj_num not in state["group"]:
        group, first_row = _group_of(obj_num, base, model.batch_size)
        state = _GROUPS[id(model)] = _generate_group(config, base, model, group, first_row,
                                                     req, ignore)
        state["base"] = id(base)
    i = obj_num - state["group"].start
    conditions = {q: v[i:i + 1] for q, v in state["conditions"].items()}
    # Leave the current values of this object's fields for @gal.<condition> references.
    for q in model.quantities:
        if isinstance(config.get(q), dict):
            config[q]["current"] = (float(conditions[q][0]), False, float, obj_num, "obj_num")

    image = state["images"][i]
    opts = dict(state["options"][i])
    opts.pop("cluster", None)  # used when the group was generated
    flux_opts = {k: opts.pop(k) for k in ("flux_scaling", "area", "exptime", "zero_point")
                 if k in opts}
    if flux_opts:
        image = image * float(model.flux_factors(conditions, images=image[None],
                                                 **flux_opts)[0])
    gsp = galsim.GSParams(**gsparams) if gsparams else None
    noise_pad_size = opts.pop("noise_pad_size", 0)
    noise = opts.pop("noise_pad", None)  # pixel variance of the padding noise
    rng = GetRNG(config, base) if noise_pad_size else None
    profile = model.profile(image, gsparams=gsp, noise_pad_size=noise_pad_size,
                            noise=noise, rng=rng, **opts)
    return profile, False


class GroupedStampBuilder(StampBuilder):
    """GalSim's ``Basic`` stamp type, with multiprocessing tasks of whole object groups.

    When the config has a ``generative_model`` input, consecutive objects of
    one network group (see :func:`group_size`) form one task, so one worker
    generates and draws the whole group; otherwise (and when an image has
    fewer groups than processes: GalSim needs a task per worker) one stamp per
    task, as GalSim does.
    """

    def makeTasks(self, config, base, jobs, logger):
        models = base.get("_input_objs", {}).get("generative_model") or [None]
        model = models[0]
        if not isinstance(model, GenerativeGalaxyModel) or len(jobs) < 2:
            return super().makeTasks(config, base, jobs, logger)
        first_obj = jobs[0]["obj_num"]
        first, _ = base.get(_IMAGE_RANGE_KEY, (first_obj, None))
        nproc = _stamp_nproc(base)
        size = group_size(model.batch_size, len(jobs), nproc)
        if -(-len(jobs) // size) < nproc:
            # Fewer groups than workers: GalSim needs at least one task per worker.
            return super().makeTasks(config, base, jobs, logger)
        base[_GROUP_SIZE_KEY] = size
        tasks = []
        for k, job in enumerate(jobs):
            group = (job["obj_num"] - first) // size
            if k == 0 or group != previous:
                tasks.append([])
            previous = group
            tasks[-1].append((job, k))
        return tasks


RegisterInputType("generative_model", GenerativeModelLoader())
RegisterObjectType("GenerativeModelGalaxy", BuildGenerativeModelGalaxy,
                   input_type="generative_model")
if type(valid_stamp_types.get("Basic")) is StampBuilder:
    RegisterStampType("Basic", GroupedStampBuilder())
