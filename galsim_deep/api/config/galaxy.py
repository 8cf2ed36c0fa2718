"""The ``GenerativeModelGalaxy`` object type: one generated galaxy of a YAML config.

In a GalSim YAML file::

    gal:
        type: GenerativeModelGalaxy
        flux_radius: {type: Random, min: 5, max: 10}   # one field per condition,
        mag_auto: {type: Catalog, col: mag}            # any GalSim value type
        zphot: 0.5
        cluster: 2          # MPCC modules only, optional: the mixture component (0..K-1)
        random_rotation: true   # optional (default true): a uniformly random position angle
        q: 0.6              # optional: the galaxy's axis ratio b/a, exactly
        beta: 30 degrees    # optional: the position angle of its major axis, exactly

``q`` (in (0, 1]) and ``beta`` (any GalSim angle value, the spelling of GalSim's own
``Shear``) give the galaxy that shape exactly (:mod:`galsim_deep.engine.shapes`); either may
be left out: the galaxy's own axis ratio, or the position angle ``random_rotation`` leaves.

The galaxy's stamp comes from its group of objects, generated in one network
call (:mod:`galsim_deep.api.config.batching`; see "How batching works" in
``docs/config.rst``).
"""
import difflib

import galsim
from galsim.config import GetInputObj, GetRNG, RegisterObjectType
from galsim.config.value import standard_ignore

from ...core import parallel
from ...core.catalog import SHAPE_COLUMNS
from ...engine import batch as engine
from . import batching, blocks

__all__ = ["BuildGenerativeModelGalaxy"]

#: Optional per-object fields besides the conditions (the required fields are the
#: model's conditions, ``GenerativeGalaxyModel.sample_req_params``).
_opt_params = {"x_interpolant": str, "k_interpolant": str, "pad_factor": float,
               "noise_pad_size": float, "noise_pad": float, "flux_scaling": float, "area": float,
               "exptime": float, "zero_point": float, "calculate_maxk": bool, "cluster": int,
               "random_rotation": bool, "q": float, "beta": galsim.Angle}

_FLUX_OPTIONS = ("flux_scaling", "area", "exptime", "zero_point")

# Threads per process, once set in a GalSim multiprocessing worker.
_WORKER_THREADS = []


def _share_cores(base):
    """In a GalSim multiprocessing worker, give TensorFlow this worker's share of the cores.

    Done once per process, before its first network call (GalSim already runs
    its own OpenMP loops single-threaded in its workers).
    """
    if "current_nproc" in base and not _WORKER_THREADS:
        _WORKER_THREADS.append(parallel.configure_worker(base["current_nproc"],
                                                         galsim_threads=False))


def BuildGenerativeModelGalaxy(config, base, ignore, gsparams, logger):
    """Build one ``GenerativeModelGalaxy`` (GalSim object builder).

    Each condition of the model is a required float field; ``x_interpolant``,
    ``k_interpolant``, ``pad_factor``, ``calculate_maxk`` (see
    `GenerativeGalaxyModel.profile`), ``noise_pad_size`` (arcsec) with
    ``noise_pad`` (the padding noise's pixel variance) and the flux options
    ``flux_scaling``, ``area`` (cm^2), ``exptime`` (s) and ``zero_point`` (AB
    mag) are optional; so is ``cluster`` (int) for mixture-prior (MPCC) modules,
    the cluster every object is drawn from (see `GenerativeGalaxyModel.sample`),
    and ``random_rotation`` (bool, default true): each galaxy is rotated by a
    uniformly random angle drawn from its object seed after its normals (the
    engine's draws rule, :mod:`galsim_deep.engine.random_draws`), so the population is
    isotropic (false: the network's own orientation); ``q`` and ``beta``, a shape
    (module docstring).  The rotation resamples, as :meth:`GenerativeGalaxyModel.sample`.
    GalSim's own ``rotate`` key (an angle) still turns the built galaxy; a
    boolean there is refused, naming ``random_rotation``.

    Returns
    -------
    profile : galsim.InterpolatedImage
        The unconvolved galaxy.
    safe : bool
        False: every object is a new galaxy.

    Examples
    --------
    GalSim calls it for each ``gal`` of this type; a YAML file's dictionary, built
    in Python, draws one galaxy of axis ratio 0.5 at 30 degrees through a 0.1" PSF:

    >>> import galsim
    >>> config = {"modules": ["galsim_deep"],
    ...           "input": {"generative_model": {"file_name": "hub:flow-vae-mock-cosmos-25.2"}},
    ...           "gal": {"type": "GenerativeModelGalaxy", "mag_auto": 22.0,
    ...                   "flux_radius": 6.0, "zphot": 0.8, "q": 0.5, "beta": "30 degrees"},
    ...           "psf": {"type": "Gaussian", "fwhm": 0.1},
    ...           "image": {"pixel_scale": 0.03, "size": 64, "random_seed": 7}}
    >>> image = galsim.config.BuildImage(config)
    >>> shape = image.FindAdaptiveMom().observed_shape   # rounder: seen through the PSF
    >>> round(shape.q, 1), round(shape.beta.deg)
    (0.6, 30)
    """
    if isinstance(config.get("rotate"), bool):
        raise galsim.GalSimConfigError(
            f"GenerativeModelGalaxy: rotate: {str(config['rotate']).lower()} is GalSim's own "
            f"rotation of the built galaxy, which takes an angle (rotate: 30 deg); the random "
            f"position angle is switched with random_rotation: "
            f"{str(config['rotate']).lower()}")
    model = GetInputObj("generative_model", config, base, "GenerativeModelGalaxy")
    ignore = list(ignore) + ["num"]
    req = model.sample_req_params
    opt = _opt_params
    _check_fields(config, model, req, opt, ignore)

    obj_num = base.get("obj_num", 0)
    _share_cores(base)
    group = batching.current_group(config, base, model, req, opt, ignore, logger)
    i = obj_num - group["group"].start
    batch = group["batch"]
    # Leave the current values of this object's fields for @gal.<condition> references.
    for q in model.quantities:
        if isinstance(config.get(q), dict):
            config[q]["current"] = (float(batch.conditions[q][i]), False, float, obj_num,
                                    "obj_num")
    kwargs = dict(group["options"][i])
    for used in ("cluster", "random_rotation") + SHAPE_COLUMNS:  # used when it was sampled
        kwargs.pop(used, None)
    # The object's RNG continues after the draws of its fields, as if they had been made
    # here (for shear, noise padding... drawn after the galaxy).
    GetRNG(config, base).reset(galsim.BaseDeviate(kwargs.pop("rng_state")))
    flux_kwargs = {k: kwargs.pop(k) for k in _FLUX_OPTIONS if k in kwargs}
    gsp = galsim.GSParams(**gsparams) if gsparams else None
    if model.kind.draws_through_bandpass:
        _check_colour_options(model, base, flux_kwargs, kwargs)
        return batch.galaxies([i], gsparams=gsp, **kwargs)[0], False
    factors = None
    if flux_kwargs:  # the API's rule: computed on the unrotated stamp, applied after rotation
        factors = [engine.flux_factors(model.metadata, 1, stamps=batch.stamps[i:i + 1],
                                       magnitudes=None if batch.magnitudes is None
                                       else batch.magnitudes[i:i + 1], **flux_kwargs)[0]]
    noise_pad_size = kwargs.pop("noise_pad_size", 0)
    noise = kwargs.pop("noise_pad", None)  # pixel variance of the padding noise
    rngs = [GetRNG(config, base)] if noise_pad_size else None
    profile = batch.galaxies([i], factors=factors, rngs=rngs, noise_pad_size=noise_pad_size,
                             noise=noise, gsparams=gsp, **kwargs)[0]
    # a block draws on the module's pixels: a galaxy on a coarser canvas is GalSim's alone
    blockable = not noise_pad_size and not batch.on_canvas[i]
    if blockable and blocks.block_drawing_enabled(config, base):
        blocks.record_galaxy(base, profile, group, i, factors[0] if factors else None,
                             kwargs.get("x_interpolant"))
    return profile, False


def _check_fields(config, model, req, opt, ignore):
    """Refuse fields the type does not know, naming each with the closest known name.

    GalSim would report only a condition left missing by a misspelled field
    (``mag:`` for ``mag_auto:``); this names the unknown field too.
    """
    known = set(req) | set(opt) | set(ignore) | set(standard_ignore)
    unknown = [key for key in config if key not in known and not str(key).startswith("_")]
    if not unknown:
        return
    missing = [name for name in req if name not in config]
    fields = list(req) + sorted(opt)
    guesses = []
    for key in unknown:
        # a missing condition is the likeliest meaning; else any field of the type
        close = (difflib.get_close_matches(str(key), missing, n=1, cutoff=0.4)
                 or difflib.get_close_matches(str(key), fields, n=1, cutoff=0.6))
        guesses.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise galsim.GalSimConfigError(
        f"GenerativeModelGalaxy: unknown field(s) {', '.join(guesses)}"
        + (f"; the condition(s) {', '.join(map(repr, missing))} are missing" if missing
           else "")
        + f". {model.metadata['name']} takes one field per condition "
          f"({', '.join(req)}) and the options {', '.join(sorted(opt))}.")


def _check_colour_options(model, base, flux_kwargs, kwargs):
    """A chromatic module's object: its SEDs carry the flux, drawn by GalSim through the
    image's ``bandpass``."""
    flux = list(flux_kwargs) + [k for k in ("noise_pad_size", "noise_pad") if k in kwargs]
    if flux:
        raise galsim.GalSimConfigError(
            f"GenerativeModelGalaxy: {', '.join(flux)} do(es) not apply to the chromatic module "
            f"{model.metadata['name']}: its SEDs carry the flux; set image.bandpass and the "
            f"image's area/exptime (GalSim's chromatic config)")
    if base.get("bandpass") is None:
        raise galsim.GalSimConfigError(
            f"GenerativeModelGalaxy: {model.metadata['name']} draws colour galaxies; give the "
            f"image a bandpass, e.g. image.bandpass: {{file_name: LSST_r.dat, wave_type: nm}}")


RegisterObjectType("GenerativeModelGalaxy", BuildGenerativeModelGalaxy,
                   input_type="generative_model")
