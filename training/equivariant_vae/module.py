"""Export a trained equivariant VAE (networks + latent flow) as a galsim_deep module.

:class:`EquivariantVAEModule` defines the module's signatures (``docs/module_format.rst``;
``L`` is the pose-free code's size, the recipe's ``latent_size``):

``sample``
    one float32 ``[N]`` input per condition and ``random_normal`` float32 ``[N, L + 1]``
    ->  ``{"image": [N, S, S]}``: the code ``z = flow.forward(random_normal[:, :L] |
    conditions)``, the pose ``angle = 2 pi Phi(random_normal[:, L])`` (``Phi`` the
    standard normal CDF: uniform in [0, 2 pi), independent of the conditions), and
    ``image = rotate(decoder(z), angle)``: unconvolved, noise-free, >= 0, flux per pixel,
    centred on the stamp's true centre.  The metadata's ``latent_size`` is ``L + 1``.
``encode``
    ``image``, ``psf`` float32 ``[N, S, S]``  ->  ``{"mean", "stddev": [N, L]}``, the
    posterior of the pose-free code (the stamp turned to its canonical pose first).
``decode``
    ``z`` float32 ``[N, L]``  ->  ``{"image": [N, S, S]}``, the canonical (pose 0) galaxy.
``log_prob``
    ``z`` ``[N, L]`` and the conditions  ->  ``{"log_prob": [N]}``, the latent flow's.
``classify``
    ``image``, ``psf``  ->  ``{"probabilities": [N, K]}`` of the morphology classes (the
    metadata's ``equivariant.class_names``), from the posterior mean code.
``pose``
    ``image``  ->  ``{"angle": [N]}``, the pose network's position angle, radians in
    (-pi/2, pi/2] (defined modulo pi), counter-clockwise from +x.

The family's ``export`` hands the class to
:func:`galsim_deep.training.export.export_trained`, with :func:`metadata_entries`.
"""
import math

import tensorflow as tf

from galsim_deep.training.export import GeneratorModule, signature_specs

__all__ = ["EquivariantVAEModule", "description", "metadata_entries", "pose_from_normal"]


def pose_from_normal(normal):
    """``2 pi Phi(n)``: a standard normal draw as an angle uniform in [0, 2 pi), radians."""
    return math.pi * (1.0 + tf.math.erf(normal / math.sqrt(2.0)))


class EquivariantVAEModule(GeneratorModule):
    """The exported equivariant VAE: the networks (``model``) and the latent flow.

    Parameters
    ----------
    model : EquivariantVAE
        The trained networks.
    flow : ConditionalMAF
        The latent flow trained on the pose-free codes.
    condition_names : sequence of str
        Names of the flow's conditions, in its order.
    """

    def __init__(self, model, flow, condition_names):
        super().__init__(model, flow, condition_names, name="equivariant_vae_module")
        self.model = model
        spec = signature_specs(model.stamp_size, model.latent_size + 1, self.condition_names)
        # One more normal than the code: the last is the pose.
        self.sample = tf.function(
            self._sample, input_signature=spec["conditions"] + [spec["random_normal"]])
        self.classify = tf.function(self._classify,
                                    input_signature=[spec["image"], spec["psf"]])
        self.pose = tf.function(self._pose, input_signature=[spec["image"]])

    @property
    def network(self):
        return self.model

    def signatures(self):
        return {**super().signatures(), "classify": self.classify, "pose": self.pose}

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        size = self.model.latent_size
        z = self.latent(conds, random_normal[:, :size])
        return {"image": self.model.decode_posed(z, pose_from_normal(random_normal[:, size]))}

    def _classify(self, image, psf):
        return {"probabilities": tf.nn.softmax(self.model.classify(image, psf), axis=-1)}

    def _pose(self, image):
        return {"angle": self.model.pose_of(image)["angle"]}


def description(recipe):
    """The default one-line description of a recipe's equivariant-VAE module."""
    size = recipe["dataset"]["stamp_size"]
    return (f"Equivariant-transformer VAE (canonical pose, Nishikawa-Toomey et al.) trained "
            f"with recipe {recipe['name']}: {size}x{size} stamps at "
            f"{recipe['dataset']['pixel_scale']} arcsec/pixel, conditioned on "
            f"{', '.join(recipe['flow']['conditions'])}; each galaxy's pose from its last "
            f"normal")


def metadata_entries(recipe):
    """``extra_metadata(model, meta)`` of :func:`~galsim_deep.training.export.export_trained`:
    ``latent_size`` ``L + 1`` (the ``sample`` normals), ``sampling_kind`` ``mono`` and the
    family's ``equivariant`` entry (code size, pose rule and symmetry, class names)."""
    from galsim_deep.data.reader import StampDataset

    with StampDataset(recipe["dataset"]["path"]) as data:
        class_names = list(data.class_names)
    cfg = recipe["equivariant_vae"]

    def extra(model, meta):
        meta["latent_size"] = int(model.latent_size) + 1
        meta["sampling_kind"] = "mono"
        meta["equivariant"] = {
            "code_size": int(model.latent_size),
            "pose_normal": int(model.latent_size),
            "pose_rule": "angle = 2 pi Phi(random_normal[:, code_size]), radians, CCW",
            "pose_symmetry": "pi",
            "interpolant": cfg["interpolant"],
            "pose_estimator": cfg["pose"],
            "class_names": class_names,
            "labelled_fraction": float(cfg["labelled_fraction"]),
        }

    return extra
