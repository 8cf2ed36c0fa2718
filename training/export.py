"""Write trained generators as galsim_deep modules (SavedModel + metadata).

:func:`export_trained` is every family's exporter: it restores a recipe's
trained model (through the family registry) and its latent flow, wraps them
in the family's ``tf.Module`` of signatures, gathers the metadata
(:func:`module_metadata`: conditions' statistics from the training split,
flux convention, provenance, the run logs' metrics) and writes the module
with :func:`export_module`, the one place that turns a ``tf.Module`` and its
signature functions into a module directory.  :func:`make_archive` packs a
module into the ``.tar.gz`` the hub serves, with the sha256 and size an
``index.json`` entry needs.  So all modules share one layout, checked on the
way out.
"""
import datetime
import json
import tarfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from galsim_deep.core.files import atomic_directory, atomic_path, sha256sum
from galsim_deep._version import __version__
from galsim_deep.core.module_format import (FORMAT_VERSION, check_signatures, write_metadata,
                                       read_metadata, validate_metadata)
from galsim_deep.core.errors import ExistsError, InputError, InputTypeError

__all__ = ["export_trained", "export_module", "module_metadata", "make_archive",
           "signature_spec", "signature_specs", "GeneratorModule", "run_log_metrics"]


def signature_specs(stamp_size, latent_size, condition_names, n_bands=1):
    """The ``tf.TensorSpec`` of every signature input of a module, by name.

    ``conditions`` is the list of one float32 ``[N]`` spec per condition;
    ``random_normal`` and ``z`` are float32 ``[N, latent_size]``; ``image`` and
    ``psf`` float32 ``[N, S, S]`` (a chromatic module's encoder input: ``[N,
    n_bands, S, S]``); ``noise_variance`` float32 ``[N]`` (each stamp's pixel noise
    variance, (flux per pixel)**2); ``cluster`` int32 ``[N]``.
    """
    s, n = int(stamp_size), int(latent_size)
    image = [None, s, s] if n_bands == 1 else [None, int(n_bands), s, s]
    return {"conditions": [tf.TensorSpec([None], tf.float32, name=c) for c in condition_names],
            "random_normal": tf.TensorSpec([None, n], tf.float32, name="random_normal"),
            "z": tf.TensorSpec([None, n], tf.float32, name="z"),
            "image": tf.TensorSpec(image, tf.float32, name="image"),
            "psf": tf.TensorSpec(image, tf.float32, name="psf"),
            "noise_variance": tf.TensorSpec([None], tf.float32, name="noise_variance"),
            "cluster": tf.TensorSpec([None], tf.int32, name="cluster")}


class GeneratorModule(tf.Module):
    """What every exported generator holds and signs (``docs/module_format.rst``).

    A family's module subclasses it, keeps its network under its own
    attribute (``vae``, ``model``: the name its modules always had,
    which warm starts look up) and returns it from ``network``; it may
    add signatures to :meth:`signatures`.

    ``sample``
        one float32 ``[N]`` input per condition and ``random_normal``
        float32 ``[N, L]`` -> ``{"image": [N, S, S]}``:
        ``z = flow.forward(random_normal | conditions)``,
        ``image = network.decode(z)``, unconvolved, noise-free, >= 0,
        flux per pixel, centred on the stamp's true centre;
    ``encode``
        ``image``, ``psf`` -> ``{"mean", "stddev": [N, L]}``;
    ``decode``
        ``z`` -> ``{"image"}``;
    ``log_prob``
        ``z`` and the conditions -> ``{"log_prob": [N]}``, the latent
        flow's ``log p(z | conditions)``.

    Parameters
    ----------
    network : tf.Module
        The trained model, with ``stamp_size``, ``latent_size``,
        ``encode`` and ``decode``.
    flow : ConditionalMAF
        The latent flow trained on its encoder.
    condition_names : sequence of str
        The flow's conditions, in its order.
    name : str
    """

    def __init__(self, network, flow, condition_names, name):
        super().__init__(name=name)
        self.flow = flow
        self.condition_names = tuple(condition_names)
        spec = signature_specs(network.stamp_size, network.latent_size,
                               self.condition_names, getattr(network, "n_bands", 1))
        self.sample = tf.function(
            self._sample, input_signature=spec["conditions"] + [spec["random_normal"]])
        self.encode = tf.function(self._encode,
                                  input_signature=[spec["image"], spec["psf"]])
        self.decode = tf.function(self._decode, input_signature=[spec["z"]])
        self.log_prob = tf.function(self._log_prob,
                                    input_signature=[spec["z"]] + spec["conditions"])

    @property
    def network(self):
        raise NotImplementedError

    def signatures(self):
        """Signature name -> ``tf.function``, for :func:`export_module`."""
        return {"sample": self.sample, "encode": self.encode, "decode": self.decode,
                "log_prob": self.log_prob}

    def latent(self, conditions, random_normal):
        """``z = flow.forward(random_normal | conditions)``."""
        return self.flow.sample_from_normal(random_normal, tf.stack(conditions, axis=1))

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        return {"image": self.network.decode(self.latent(conds, random_normal))}

    def _encode(self, image, psf):
        mean, stddev = self.network.encode(image, psf)
        return {"mean": mean, "stddev": stddev}

    def _decode(self, z):
        return {"image": self.network.decode(z)}

    def _log_prob(self, z, *conds):
        return {"log_prob": self.flow.log_prob(z, tf.stack(conds, axis=1))}


def run_log_metrics(prefix, log):
    """Module metrics from a run log: its final metrics, wall time and time per step,
    each key prefixed (``vae_kl``, ``flow_training_time_s``, ...)."""
    metrics = {f"{prefix}_{k}": v for k, v in log.get("metrics", {}).items()}
    if log.get("wall_time_s") is not None:
        metrics[f"{prefix}_training_time_s"] = log["wall_time_s"]
    if log.get("seconds_per_step") is not None:
        metrics[f"{prefix}_seconds_per_step"] = log["seconds_per_step"]
    return metrics


def module_metadata(recipe, data, name, version, description, model_log=None, flow_log=None):
    """Module metadata of a recipe's trained model and latent flow (any family).

    Parameters
    ----------
    recipe : dict
        The loaded recipe.
    data : StampDataset
        Its dataset (conditions' statistics come from the training split).
    name, version, description : str
        Module name, version and one-line description.
    model_log, flow_log : dict, optional
        The run logs (``training_log.json``) of the model's and the flow's
        trainings; their metrics are prefixed with the family's section
        (``vae_``, ``mpcc_``) and ``flow_``.

    Returns
    -------
    dict
        Metadata without ``format_version`` and ``signatures``, which
        :func:`export_module` adds.
    """
    from galsim_deep.data import format as dataset_format
    from galsim_deep.training.families import family_of

    family = family_of(recipe)
    model_log, flow_log = model_log or {}, flow_log or {}
    all_names = list(data.condition_names)
    units = list(getattr(data, "condition_units", [""] * len(all_names)))
    values = data.arrays("train", fields=("conditions",))["conditions"]
    conditions = []
    for cname in recipe["flow"]["conditions"]:
        i = all_names.index(cname)
        col = np.asarray(values[:, i], dtype=np.float64)
        text = dataset_format.CONDITIONS.get(cname, ("", cname))[1]
        conditions.append({"name": cname, "unit": str(units[i]), "description": text,
                           "min": float(col.min()), "max": float(col.max()),
                           "mean": float(col.mean()), "std": float(col.std())})
    convention = getattr(data, "flux_convention", None) or dataset_format.FLUX_CONVENTION
    flux = {"unit": convention.get("unit", dataset_format.FLUX_CONVENTION["unit"]),
            "convention": "cosmos"}
    if "collecting_area_m2" in convention:
        flux["collecting_area_cm2"] = float(convention["collecting_area_m2"]) * 1e4
    for key in ("exptime_s", "zero_point"):
        if key in convention:
            flux[key] = float(convention[key])
    if "mag_auto" in recipe["flow"]["conditions"]:
        flux["magnitude_condition"] = "mag_auto"
    metrics = {**run_log_metrics(family.section, model_log), **run_log_metrics("flow", flow_log)}
    provenance = {
        "dataset": str(Path(recipe["dataset"]["path"]).name),
        "dataset_build_command": recipe["dataset"]["build_command"],
        "recipe": recipe["name"],
        "steps": int(model_log.get("steps", family.steps(recipe))),
        "flow_steps": int(flow_log.get("steps", recipe["flow"]["steps"])),
        "seed": int(recipe["seed"]),
    }
    if recipe["export"]["prior"] != "flow":  # a prior refitted through the decoder
        provenance["prior"] = recipe["export"]["prior"]
    # A mock dataset names the population its conditions were drawn from: the demo and
    # examples draw their catalogues from it.
    population = data.attrs.get("build_options", {})
    if isinstance(population, dict) and population.get("population"):
        provenance["population"] = str(population["population"])
    return {
        "name": name, "version": version, "description": description, "family": family.name,
        "pixel_scale": float(recipe["dataset"]["pixel_scale"]),
        "stamp_size": int(recipe["dataset"]["stamp_size"]),
        "latent_size": family.latent_size(recipe),
        "flux": flux,
        "centering": {"convention": "true_center",
                      "description": "galaxy centred on the stamp's geometric centre, as in "
                                     "the training stamps"},
        "conditions": conditions,
        "provenance": provenance,
        "metrics": metrics,
        "citation": recipe["export"]["citation"],
    }


def export_trained(recipe, out_dir, make_module, description, extra_metadata=None, name=None,
                   version=None, overwrite=False, portable=True):
    """Write a recipe's trained model and latent flow as a module directory.

    Parameters
    ----------
    recipe : dict
        The loaded recipe they were trained with.
    out_dir : str or Path
        The module directory to write.
    make_module : callable
        ``make_module(model, flow, condition_names) -> tf.Module`` with a
        ``signatures()`` method: the family's module class.
    description : str
        Default description (the recipe's ``export.description`` wins).
    extra_metadata : callable, optional
        ``extra_metadata(model, metadata)`` adds the family's own entries.
    name, version : str, optional
        Module name and version (default: the recipe's ``export`` section,
        or the recipe name).
    overwrite : bool
        Replace an existing ``out_dir``.
    portable : bool
        Also write the portable (ONNX) copy of the sampling signatures (default); without
        it the module samples with TensorFlow only, until ``galsim-deep hub portable``
        adds the copy.

    Returns
    -------
    Path
        The module directory, validated by loading it back.
    """
    from galsim_deep.training.families import family_of
    from galsim_deep.training.latent_flow import restore_flow
    from galsim_deep.training.loop import read_run_log
    from galsim_deep.training.recipes import check_dataset

    family = family_of(recipe)
    data = check_dataset(recipe)
    model, _ = family.restore_for_sampling(recipe)
    # The fitted prior the module carries: the run's latent flow, or a flow refitted
    # through the decoder (``model train-prior``), by the recipe's ``export.prior``.
    prior_dir = Path(recipe["output_dir"]) / recipe["export"]["prior"]
    flow, _ = restore_flow(recipe, prior_dir)
    module = make_module(model, flow, recipe["flow"]["conditions"])
    meta = module_metadata(recipe, data, name or recipe["export"]["name"] or recipe["name"],
                           version or recipe["export"]["version"],
                           recipe["export"]["description"] or description,
                           read_run_log(family.checkpoint_dir(recipe)),
                           read_run_log(prior_dir))
    if extra_metadata is not None:
        extra_metadata(model, meta)
    return export_module(module, out_dir, meta, module.signatures(), overwrite=overwrite,
                         portable=portable)


def signature_spec(fn):
    """Describe a ``tf.function``'s inputs and outputs for the module metadata.

    Parameters
    ----------
    fn : tf.types.experimental.GenericFunction
        A ``tf.function`` with an ``input_signature`` (name each
        ``tf.TensorSpec``: the names become the signature's input names),
        returning a dict of tensors.

    Returns
    -------
    dict
        ``{"inputs": {name: {"dtype", "shape"}}, "outputs": {...}}``.
    """
    concrete = fn.get_concrete_function()
    # Inputs are named by their TensorSpec names (else by the argument names).
    inputs = {name: _tensor_spec(spec)
              for name, spec in concrete.structured_input_signature[1].items()}
    if not inputs:
        inputs = {spec.name: _tensor_spec(spec)
                  for spec in concrete.structured_input_signature[0]}
    outputs = concrete.structured_outputs
    if not isinstance(outputs, dict):
        raise InputTypeError(f"{fn.__name__} must return a dict of named tensors, "
                        f"got {type(outputs).__name__}")
    return {"inputs": inputs, "outputs": {k: _tensor_spec(v) for k, v in outputs.items()}}


def _tensor_spec(spec):
    return {"dtype": spec.dtype.name,
            "shape": [None if d is None else int(d) for d in spec.shape.as_list()]}


def export_module(module, out_dir, metadata, signatures, overwrite=False, portable=False):
    """Save a generator as a galsim_deep module directory.

    Parameters
    ----------
    module : tf.Module
        Holds every variable the signatures use.
    out_dir : str or Path
        The module directory to create.
    metadata : dict
        Module metadata (see ``docs/module_format.rst``) without the
        ``format_version`` and ``signatures`` entries, which are filled in here (and
        ``portable``, dropped: ``portable=True`` writes this module's own);
        ``provenance.package_version`` and ``provenance.date`` default to this
        package's version and today's date.
    signatures : dict
        Signature name -> ``tf.function`` with a named ``input_signature``;
        must include ``'sample'``.
    overwrite : bool
        Replace an existing ``out_dir`` (atomically, once the new module is
        complete).  Default False: an existing directory is an error.
    portable : bool
        Also write the sampling signatures' portable copy (ONNX, checked against
        TensorFlow: :func:`galsim_deep.training.portable.add_portable_copy`).

    Returns
    -------
    Path
        ``out_dir``, validated by reloading it.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise ExistsError(f"{out_dir} exists; choose another --out or pass overwrite=True")
    if "sample" not in signatures:
        raise InputError("signatures must include 'sample', the conditional sampler")
    meta = json.loads(json.dumps(metadata))  # a deep copy that is JSON for sure
    meta.pop("portable", None)  # another graph's copy: only add_portable_copy writes one
    meta["format_version"] = FORMAT_VERSION
    meta["signatures"] = {name: signature_spec(fn) for name, fn in signatures.items()}
    prov = meta.setdefault("provenance", {})
    prov.setdefault("package_version", __version__)
    prov.setdefault("date", datetime.date.today().isoformat())
    validate_metadata(meta, source=f"metadata for {out_dir}")

    with atomic_directory(out_dir) as tmp:
        tf.saved_model.save(module, str(tmp),
                            signatures={name: fn.get_concrete_function()
                                        for name, fn in signatures.items()})
        write_metadata(tmp, meta)
        read_metadata(tmp)
        loaded = tf.saved_model.load(str(tmp))
        check_signatures(loaded, meta, source=str(out_dir))
        if portable:
            from galsim_deep.training.portable import add_portable_copy

            add_portable_copy(tmp, progress=False, loaded=loaded)
    return out_dir


def make_archive(module_dir, out_path=None):
    """Pack a module directory into a ``.tar.gz`` for the hub.

    The archive holds the module's files under one top folder named after the
    module directory.  Its bytes are reproducible: files are added in sorted
    order with fixed ownership and modification times.

    Parameters
    ----------
    module_dir : str or Path
        A valid module directory.
    out_path : str or Path, optional
        Archive file name; default ``<module_dir>.tar.gz``.

    Returns
    -------
    dict
        ``{"path": Path, "sha256": str, "size": int (bytes)}``, what an
        ``index.json`` entry needs.
    """
    import gzip

    module_dir = Path(module_dir)
    meta = read_metadata(module_dir)
    out_path = Path(out_path) if out_path else module_dir.with_name(module_dir.name + ".tar.gz")
    mtime = int(datetime.datetime.fromisoformat(meta["provenance"]["date"])
                .replace(tzinfo=datetime.timezone.utc).timestamp())

    def normalise(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = mtime
        return info

    with atomic_path(out_path, suffix=".tar.gz") as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime,
                                                   filename="") as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in [module_dir, *sorted(module_dir.rglob("*"))]:
                arcname = Path(module_dir.name) / path.relative_to(module_dir)
                tar.add(path, arcname=str(arcname), recursive=False, filter=normalise)
    return {"path": out_path, "sha256": sha256sum(out_path), "size": out_path.stat().st_size}
