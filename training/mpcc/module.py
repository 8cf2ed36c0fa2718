"""Export a trained MPCC model (GAN + encoder + prior + latent flow) as a galsim_deep module.

Before saving, the generator that samples (the moving average of the
generator's weights when the recipe keeps one, ``mpcc.ema_decay``) gets its
batch norm's *standing statistics*
(:meth:`~galsim_deep.training.mpcc.gan.MPCC.standing_statistics`): the average batch statistics of
``mpcc.standing_batches`` batches drawn from the prior.  The module's
signatures (``docs/module_format.rst``; ``K`` clusters, latent size ``J``):

``sample``
    one float32 ``[N]`` input per condition and ``random_normal`` float32
    ``[N, J]`` -> ``{"image": [N, S, S]}``, exactly the inputs of a Flow-VAE's
    ``sample``.  ``z = flow.forward(random_normal | conditions)``, the cluster
    is the one ``z`` belongs to, ``y = argmax_k q(k | z)`` (Eq. 7.15), and
    ``image = G(z, y)``; with ``mpcc.generator_flux: catalog`` the unit-flux
    shape times ``10**(-0.4 (mag_auto - zero_point))``, so every profile has
    the catalog flux of its ``mag_auto``.  All randomness, the cluster's
    included, is in ``random_normal``; ``GenerativeGalaxyModel`` treats both
    families alike.
``sample_cluster``
    the inputs of ``sample`` and ``cluster`` int32 ``[N]`` in ``0 .. K-1``
    -> ``{"image"}``: ``z`` as in ``sample``, moved into cluster ``y`` keeping
    its standardised offset, ``z' = mu_y + sigma_y (z - mu_k) / sigma_k``
    (:meth:`~galsim_deep.training.mpcc.prior.GMMPrior.move_to_cluster`), ``image = G(z', y)``.  With
    ``cluster`` equal to the cluster of ``z`` it gives ``sample``'s image.
``cluster``
    ``image``, ``psf`` float32 ``[N, S, S]`` (observed stamps, flux per pixel,
    and their PSFs) -> ``{"probabilities": [N, K]}``, ``q(y | x)`` =
    ``q(y | z = mean of q(z | x))``.
``encode``
    ``image``, ``psf`` -> ``{"mean", "stddev": [N, J]}``.
``decode``
    ``z`` float32 ``[N, J]`` -> ``{"image"}``, ``G(z, argmax_k q(k | z))``; a
    ``catalog`` module has no magnitude here and returns the unit-flux shape
    (metadata ``generator_flux.decode: unit``): multiply by the galaxy's
    flux.
``log_prob``
    ``z`` and one ``[N]`` input per condition -> ``{"log_prob": [N]}``, the
    latent flow's ``log p(z | conditions)``.

The metadata is that of a Flow-VAE module (conditions with their training
statistics, flux convention, centring, provenance) with ``family: mpcc``,
``n_clusters``, the prior's parameters (and weights), ``generator_flux``,
``input_normalisation`` and the training metrics.
"""
import tensorflow as tf

from galsim_deep.core.errors import InputError
from galsim_deep.training.export import GeneratorModule, signature_specs

#: The condition whose catalog flux a ``generator_flux: catalog`` model's profiles get.
MAGNITUDE_CONDITION = "mag_auto"


__all__ = ["MPCCModule", "description", "prior_metadata"]


class MPCCModule(GeneratorModule):
    """The exported MPCC model (``model``, with standing statistics) and the latent flow.

    The common signatures of :class:`~galsim_deep.training.export.GeneratorModule`
    (``decode`` puts a code in its own cluster), plus ``sample_cluster`` and
    ``cluster``.

    Parameters
    ----------
    model : MPCC
        The trained model (with standing statistics set).
    flow : ConditionalMAF
        The latent flow trained on its encoder.
    condition_names : sequence of str
        Names of the flow's conditions, in its order.
    """

    def __init__(self, model, flow, condition_names):
        super().__init__(model, flow, condition_names, name="mpcc_module")
        self.model = model
        self.magnitude_index = None
        if model.generator_flux == "catalog":
            if MAGNITUDE_CONDITION not in self.condition_names:
                raise InputError(f"an MPCC model with generator_flux 'catalog' needs the "
                                 f"{MAGNITUDE_CONDITION} condition to set its fluxes; its "
                                 f"flow has {list(self.condition_names)}")
            self.magnitude_index = self.condition_names.index(MAGNITUDE_CONDITION)
        spec = signature_specs(model.stamp_size, model.latent_size, self.condition_names)
        self.sample_cluster = tf.function(
            self._sample_cluster,
            input_signature=spec["conditions"] + [spec["random_normal"], spec["cluster"]])
        self.cluster = tf.function(self._cluster, input_signature=[spec["image"], spec["psf"]])

    @property
    def network(self):
        return self.model

    def signatures(self):
        """Signature name -> ``tf.function``, for :func:`export_module`."""
        return {**super().signatures(), "sample_cluster": self.sample_cluster,
                "cluster": self.cluster}

    def _flux(self, conds):
        """The catalog flux of each row's magnitude (None for a 'free' model)."""
        if self.magnitude_index is None:
            return None
        return self.model.flux_of_magnitude(conds[self.magnitude_index])

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        return {"image": self.model.decode(self.latent(conds, random_normal),
                                           flux=self._flux(conds))}

    def _sample_cluster(self, *inputs):
        *conds, random_normal, cluster = inputs
        k = self.model.n_clusters
        checks = [tf.debugging.assert_non_negative(
                      cluster, message=f"cluster must be in 0..{k - 1}"),
                  tf.debugging.assert_less(cluster, k,
                                           message=f"cluster must be in 0..{k - 1}")]
        with tf.control_dependencies(checks):
            z = self.model.prior.move_to_cluster(self.latent(conds, random_normal), cluster)
            return {"image": self.model.generate(z, cluster, flux=self._flux(conds))}

    def _cluster(self, image, psf):
        return {"probabilities": self.model.cluster_probabilities(image, psf)}


def prior_metadata(recipe):
    """``extra_metadata`` of :func:`~galsim_deep.training.export.export_trained`: the
    mixture and its size."""
    m = recipe["mpcc"]

    def add(model, meta):
        meta["n_clusters"] = int(m["n_clusters"])
        meta["prior"] = {
            "means": model.prior.means.numpy().round(6).tolist(),
            "stddevs": model.prior.stddevs.numpy().round(6).tolist(),
            "weights": model.prior.weights.numpy().round(6).tolist(),
            "learned_weights": bool(m["learn_weights"]),
            "floor": float(m["prior_floor"]),
            "cluster_of_sample": "argmax_k q(k | z) of the flow's z (Eq. 7.15)",
        }
        if model.generator_flux == "catalog":
            meta["generator_flux"] = {
                "mode": "catalog", "magnitude_condition": MAGNITUDE_CONDITION,
                "zero_point": float(model.zero_point.numpy()),
                "sample": f"unit-flux shape times 10**(-0.4 ({MAGNITUDE_CONDITION} - "
                          f"zero_point))",
                "decode": "unit"}
        else:
            meta["generator_flux"] = {"mode": "free", "decode": "flux per pixel"}
        meta["input_normalisation"] = m["input_normalisation"]
        meta["provenance"]["standing_batches"] = int(m["standing_batches"])
        meta["provenance"]["generator_ema_decay"] = float(m["ema_decay"])

    return add


def description(recipe):
    """The default one-line description of a recipe's MPCC module."""
    m = recipe["mpcc"]
    size = recipe["dataset"]["stamp_size"]
    return (f"MPCC (GMM-prior GAN with encoder, Astorga et al. 2020) with {m['n_clusters']} "
            f"clusters trained with recipe {recipe['name']}: {size}x{size} stamps at "
            f"{recipe['dataset']['pixel_scale']} arcsec/pixel, conditioned on "
            f"{', '.join(recipe['flow']['conditions'])} through a latent flow")
