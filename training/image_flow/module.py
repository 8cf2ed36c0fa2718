"""Export a trained image flow as a galsim_deep module.

:class:`ImageFlowModule` defines the module's signatures (``docs/module_format.rst``; ``S``
the stamp size, the latent ``S**2`` numbers):

``sample``
    one float32 ``[N]`` input per condition and ``random_normal`` float32 ``[N, S**2]``
    ->  ``{"image": [N, S, S]}``: the flow's stamp for that latent (row-major
    ``[S/2, S/2, 4]``), flux per pixel.  A *noisy, PSF-convolved* stamp like the training
    set's, not a noise-free profile (the flow models the stamps as they are): the
    module's description marks it experimental for simulations.  The metadata's
    ``latent_size`` is ``S**2`` and its ``sampling_kind`` ``mono``.
``encode``
    ``image`` float32 ``[N, S, S]`` and the conditions  ->  ``{"mean": [N, S**2],
    "stddev": [N, S**2]}``: the flow's latent of each stamp (``stddev`` 0: the flow's
    code is a function of the stamp, not a posterior).
``log_prob``
    ``image`` float32 ``[N, S, S]`` and the conditions  ->  ``{"log_prob": [N]}``,
    ``log p(image | conditions)`` in nats, a density of the stamp's pixels in flux per
    pixel (the asinh preprocessing's log-determinant included).

The family's ``export`` writes it with :func:`export_image_flow`.
"""
from pathlib import Path

import tensorflow as tf

from galsim_deep.training.export import export_module, module_metadata, signature_specs

__all__ = ["ImageFlowModule", "description", "export_image_flow"]


class ImageFlowModule(tf.Module):
    """The exported image flow.

    Parameters
    ----------
    model : ImageFlow
        The trained flow.
    condition_names : sequence of str
        Its conditions, in its order.
    """

    def __init__(self, model, condition_names):
        super().__init__(name="image_flow_module")
        self.model = model
        self.condition_names = tuple(condition_names)
        spec = signature_specs(model.stamp_size, model.latent_size, self.condition_names)
        image = spec["image"]
        self.sample = tf.function(
            self._sample, input_signature=spec["conditions"] + [spec["random_normal"]])
        self.encode = tf.function(self._encode, input_signature=[image] + spec["conditions"])
        self.log_prob = tf.function(self._log_prob,
                                    input_signature=[image] + spec["conditions"])

    @property
    def network(self):
        return self.model

    def signatures(self):
        """Signature name -> ``tf.function``, for
        :func:`~galsim_deep.training.export.export_module`."""
        return {"sample": self.sample, "encode": self.encode, "log_prob": self.log_prob}

    def _conditions(self, conds):
        if not conds:
            return None
        return tf.stack(conds, axis=1)

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        return {"image": self.model.sample_from_normal(random_normal, self._conditions(conds))}

    def _encode(self, image, *conds):
        z = self.model.encode(image, self._conditions(conds))
        return {"mean": z, "stddev": tf.zeros_like(z)}

    def _log_prob(self, image, *conds):
        return {"log_prob": self.model.log_prob(image, self._conditions(conds))}


def description(recipe):
    """The default one-line description of a recipe's image-flow module (marked
    experimental: its samples are noisy stamps)."""
    size = recipe["dataset"]["stamp_size"]
    return (f"EXPERIMENTAL, not for simulations: its samples are noisy, PSF-convolved stamps "
            f"like the training set's, not noise-free profiles. Image flow "
            f"({len(recipe['image_flow']['masks'])} affine couplings on the pixels, RealNVP/"
            f"Glow-style) trained with recipe {recipe['name']}: {size}x{size} stamps at "
            f"{recipe['dataset']['pixel_scale']} arcsec/pixel, conditioned on "
            f"{', '.join(recipe['flow']['conditions'])}; for its per-stamp log_prob")


def export_image_flow(recipe, family, out_dir, name=None, version=None, overwrite=False,
                      portable=True):
    """Write a recipe's trained image flow as a module directory (with its portable copy
    unless ``portable=False``).

    Parameters
    ----------
    recipe : dict
        The loaded recipe it was trained with.
    family : ModelFamily
        The image-flow family (its checkpoints and restore).
    out_dir : str or Path
    name, version : str, optional
        Default: the recipe's ``export`` section (or its name).
    overwrite : bool
        Replace an existing ``out_dir``.
    portable : bool
        Also write the portable (ONNX) copy (default; ``galsim-deep hub portable`` adds it
        later).

    Returns
    -------
    Path
        The module directory, validated by loading it back.
    """
    from galsim_deep.training.loop import read_run_log
    from galsim_deep.training.recipes import check_dataset

    data = check_dataset(recipe)
    model, _ = family.restore(recipe)
    module = ImageFlowModule(model, recipe["flow"]["conditions"])
    log = read_run_log(family.checkpoint_dir(recipe))
    meta = module_metadata(recipe, data, name or recipe["export"]["name"] or recipe["name"],
                           version or recipe["export"]["version"],
                           recipe["export"]["description"] or description(recipe), log)
    meta["provenance"].pop("flow_steps", None)  # no latent flow
    meta["latent_size"] = int(model.latent_size)
    meta["sampling_kind"] = "mono"
    cfg = recipe["image_flow"]
    meta["image_flow"] = {
        "latent_shape": [int(d) for d in model.latent_shape],
        "masks": list(cfg["masks"]), "width": int(cfg["width"]),
        "hidden_layers": int(cfg["hidden_layers"]),
        "noise_scale": float(model.noise_scale.numpy()),
        "preprocessing": "y = asinh(image / noise_scale)",
        "samples": "noisy PSF-convolved stamps (the training set's noise included)",
        "log_prob_unit": "nats; bits per pixel = -log_prob / (stamp_size**2 * ln 2)",
    }
    return export_module(module, Path(out_dir), meta, module.signatures(),
                         overwrite=overwrite, portable=portable)
