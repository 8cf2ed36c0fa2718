"""Export a trained Flow-VAE (autoencoder + latent flow) as a galsim_deep module.

:class:`FlowVAEModule` holds the decoder, the encoder and the latent flow and
defines the module's signatures (``docs/module_format.rst``):

``sample``
    one float32 ``[N]`` input per condition, named as the condition, and
    ``random_normal`` float32 ``[N, L]``  ->  ``{"image": [N, S, S]}`` with
    ``z = flow.forward(random_normal | conditions)`` and
    ``image = decoder(z)``: unconvolved, noise-free profiles, >= 0, in the
    dataset's flux per pixel, centred on the stamp's true centre.
``encode``
    ``image``, ``psf`` float32 ``[N, S, S]``  ->  ``{"mean", "stddev": [N, L]}``.
``decode``
    ``z`` float32 ``[N, L]``  ->  ``{"image": [N, S, S]}``.
``log_prob``
    ``z`` ``[N, L]`` and one ``[N]`` input per condition  ->  ``{"log_prob": [N]}``.

:func:`export_flow_vae` restores the two checkpoints of a recipe's run,
gathers the metadata (conditions' statistics from the training split, flux
convention, provenance, metrics from the run logs) and writes the module
with :func:`galsim_deep.training.export.export_module`.
"""
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..export import export_module
from ..recipes import check_dataset

__all__ = ["FlowVAEModule", "export_flow_vae", "module_metadata"]


class FlowVAEModule(tf.Module):
    """The exported Flow-VAE: variables of the VAE and the flow, and the signatures.

    Parameters
    ----------
    vae : FlowVAE
        The trained autoencoder.
    flow : ConditionalMAF
        The trained latent flow.
    condition_names : sequence of str
        Names of the flow's conditions, in its order.
    """

    def __init__(self, vae, flow, condition_names):
        super().__init__(name="flow_vae_module")
        self.vae = vae
        self.flow = flow
        self.condition_names = tuple(condition_names)
        s, n_latent = vae.stamp_size, vae.latent_size
        conds = [tf.TensorSpec([None], tf.float32, name=c) for c in self.condition_names]
        z_spec = tf.TensorSpec([None, n_latent], tf.float32, name="z")
        image = tf.TensorSpec([None, s, s], tf.float32, name="image")
        psf = tf.TensorSpec([None, s, s], tf.float32, name="psf")
        self.sample = tf.function(
            self._sample,
            input_signature=conds + [tf.TensorSpec([None, n_latent], tf.float32,
                                                   name="random_normal")])
        self.encode = tf.function(self._encode, input_signature=[image, psf])
        self.decode = tf.function(self._decode, input_signature=[z_spec])
        self.log_prob = tf.function(self._log_prob, input_signature=[z_spec] + conds)

    def signatures(self):
        """Signature name -> ``tf.function``, for :func:`export_module`."""
        return {"sample": self.sample, "encode": self.encode, "decode": self.decode,
                "log_prob": self.log_prob}

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        z = self.flow.sample_from_normal(random_normal, tf.stack(conds, axis=1))
        return {"image": self.vae.decode(z)}

    def _encode(self, image, psf):
        mean, stddev = self.vae.encode(image, psf)
        return {"mean": mean, "stddev": stddev}

    def _decode(self, z):
        return {"image": self.vae.decode(z)}

    def _log_prob(self, z, *conds):
        return {"log_prob": self.flow.log_prob(z, tf.stack(conds, axis=1))}


def read_run_log(path):
    """The ``training_log.json`` of a run as a dict (empty if the file is missing)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else {}


def run_log_metrics(prefix, log):
    """Module metrics from a run log: its final metrics, wall time and time per step,
    each key prefixed (``vae_kl``, ``flow_training_time_s``, ...)."""
    metrics = {f"{prefix}_{k}": v for k, v in log.get("metrics", {}).items()}
    if log.get("wall_time_s") is not None:
        metrics[f"{prefix}_training_time_s"] = log["wall_time_s"]
    if log.get("seconds_per_step") is not None:
        metrics[f"{prefix}_seconds_per_step"] = log["seconds_per_step"]
    return metrics


def module_metadata(recipe, data, name, version, vae_log=None, flow_log=None):
    """Module metadata of a recipe's trained Flow-VAE.

    Parameters
    ----------
    recipe : dict
        The loaded recipe.
    data : StampDataset
        Its dataset (conditions' statistics come from the training split).
    name, version : str
        Module name and version.
    vae_log, flow_log : dict, optional
        The run logs (``training_log.json``) of the two trainings.

    Returns
    -------
    dict
        Metadata without ``format_version`` and ``signatures``, which
        :func:`export_module` adds.
    """
    from galsim_deep.datasets import format as dataset_format

    vae_log, flow_log = vae_log or {}, flow_log or {}
    all_names = list(data.condition_names)
    units = list(getattr(data, "condition_units", [""] * len(all_names)))
    values = data.arrays("train", fields=("conditions",))["conditions"]
    conditions = []
    for cname in recipe["flow"]["conditions"]:
        i = all_names.index(cname)
        col = np.asarray(values[:, i], dtype=np.float64)
        description = dataset_format.CONDITIONS.get(cname, ("", cname))[1]
        conditions.append({"name": cname, "unit": str(units[i]), "description": description,
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
    stamp_size = recipe["dataset"]["stamp_size"]
    description = recipe["export"]["description"] or (
        f"Flow-VAE (Lanusse et al. 2020) trained with recipe {recipe['name']}: "
        f"{stamp_size}x{stamp_size} stamps at {recipe['dataset']['pixel_scale']} arcsec/pixel, "
        f"conditioned on {', '.join(recipe['flow']['conditions'])}")
    metrics = {**run_log_metrics("vae", vae_log), **run_log_metrics("flow", flow_log)}
    return {
        "name": name, "version": version, "description": description, "family": "flow-vae",
        "pixel_scale": float(recipe["dataset"]["pixel_scale"]), "stamp_size": int(stamp_size),
        "latent_size": int(recipe["vae"]["latent_size"]),
        "flux": flux,
        "centering": {"convention": "true_center",
                      "description": "galaxy centred on the stamp's geometric centre, as in "
                                     "the training stamps"},
        "conditions": conditions,
        "provenance": {
            "dataset": str(Path(recipe["dataset"]["path"]).name),
            "dataset_build_command": recipe["dataset"]["build_command"],
            "recipe": recipe["name"],
            "steps": int(vae_log.get("steps", recipe["vae"]["steps"])),
            "flow_steps": int(flow_log.get("steps", recipe["flow"]["steps"])),
            "seed": int(recipe["seed"]),
        },
        "metrics": metrics,
        "citation": recipe["export"]["citation"],
    }


def export_flow_vae(vae_checkpoint_dir, flow_checkpoint_dir, recipe, out_dir, name=None,
                    version=None, overwrite=False):
    """Write a recipe's trained Flow-VAE as a module directory.

    Parameters
    ----------
    vae_checkpoint_dir, flow_checkpoint_dir : str or Path
        Folders of the autoencoder's and the latent flow's checkpoints
        (normally ``<output_dir>/vae`` and ``<output_dir>/flow``); the latest
        checkpoint of each is used.
    recipe : dict
        The loaded recipe they were trained with.
    out_dir : str or Path
        The module directory to write.
    name, version : str, optional
        Module name and version (default: the recipe's ``export`` section,
        or the recipe name and ``1.0.0``).
    overwrite : bool
        Replace an existing ``out_dir``.

    Returns
    -------
    Path
        The module directory, validated by loading it back.
    """
    from ..train_flow_vae import restore_flow_vae
    from ..train_latent_flow import restore_flow

    data = check_dataset(recipe)
    vae, _ = restore_flow_vae(recipe, vae_checkpoint_dir)
    flow, _ = restore_flow(recipe, flow_checkpoint_dir)
    module = FlowVAEModule(vae, flow, recipe["flow"]["conditions"])
    name = name or recipe["export"]["name"] or recipe["name"]
    version = version or recipe["export"]["version"]
    meta = module_metadata(recipe, data, name, version,
                           read_run_log(Path(vae_checkpoint_dir) / "training_log.json"),
                           read_run_log(Path(flow_checkpoint_dir) / "training_log.json"))
    return export_module(module, out_dir, meta, module.signatures(), overwrite=overwrite)
