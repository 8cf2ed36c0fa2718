"""Export a trained MPCC model (GAN + encoder + prior + latent flow) as a galsim_deep module.

Before saving, the generator's batch norm gets its *standing statistics*
(:meth:`~galsim_deep.training.mpcc.model.MPCC.standing_statistics`): the average batch statistics of
``mpcc.standing_batches`` batches drawn from the prior.  The module's
signatures (``docs/module_format.rst``; ``K`` clusters, latent size ``J``):

``sample``
    one float32 ``[N]`` input per condition and ``random_normal`` float32
    ``[N, J]`` -> ``{"image": [N, S, S]}``, exactly the inputs of a Flow-VAE's
    ``sample``.  ``z = flow.forward(random_normal | conditions)``, the cluster
    is the one ``z`` belongs to, ``y = argmax_k q(k | z)`` (Eq. 7.15), and
    ``image = G(z, y)``.  All randomness, the cluster's included, is in
    ``random_normal``; ``GenerativeGalaxyModel`` treats both families alike.
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
    ``z`` float32 ``[N, J]`` -> ``{"image"}``, ``G(z, argmax_k q(k | z))``.
``log_prob``
    ``z`` and one ``[N]`` input per condition -> ``{"log_prob": [N]}``, the
    latent flow's ``log p(z | conditions)``.

The metadata is that of a Flow-VAE module (conditions with their training
statistics, flux convention, centring, provenance) with ``family: mpcc``,
``n_clusters``, the prior's parameters and the training metrics.
"""
import tensorflow as tf

from galsim_deep.training.export import export_trained

__all__ = ["MPCCModule", "export_mpcc"]


class MPCCModule(tf.Module):
    """The exported MPCC model: its variables, the latent flow's, and the signatures.

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
        super().__init__(name="mpcc_module")
        self.model = model
        self.flow = flow
        self.condition_names = tuple(condition_names)
        s, n_latent = model.stamp_size, model.latent_size
        conds = [tf.TensorSpec([None], tf.float32, name=c) for c in self.condition_names]
        rn = tf.TensorSpec([None, n_latent], tf.float32, name="random_normal")
        z_spec = tf.TensorSpec([None, n_latent], tf.float32, name="z")
        image = tf.TensorSpec([None, s, s], tf.float32, name="image")
        psf = tf.TensorSpec([None, s, s], tf.float32, name="psf")
        cluster = tf.TensorSpec([None], tf.int32, name="cluster")
        self.sample = tf.function(self._sample, input_signature=conds + [rn])
        self.sample_cluster = tf.function(self._sample_cluster,
                                          input_signature=conds + [rn, cluster])
        self.cluster = tf.function(self._cluster, input_signature=[image, psf])
        self.encode = tf.function(self._encode, input_signature=[image, psf])
        self.decode = tf.function(self._decode, input_signature=[z_spec])
        self.log_prob = tf.function(self._log_prob, input_signature=[z_spec] + conds)

    def signatures(self):
        """Signature name -> ``tf.function``, for :func:`export_module`."""
        return {"sample": self.sample, "sample_cluster": self.sample_cluster,
                "cluster": self.cluster, "encode": self.encode, "decode": self.decode,
                "log_prob": self.log_prob}

    def _latent(self, conds, random_normal):
        return self.flow.sample_from_normal(random_normal, tf.stack(conds, axis=1))

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        return {"image": self.model.decode(self._latent(conds, random_normal))}

    def _sample_cluster(self, *inputs):
        *conds, random_normal, cluster = inputs
        k = self.model.n_clusters
        checks = [tf.debugging.assert_non_negative(
                      cluster, message=f"cluster must be in 0..{k - 1}"),
                  tf.debugging.assert_less(cluster, k,
                                           message=f"cluster must be in 0..{k - 1}")]
        with tf.control_dependencies(checks):
            z = self.model.prior.move_to_cluster(self._latent(conds, random_normal), cluster)
            return {"image": self.model.generate(z, cluster)}

    def _cluster(self, image, psf):
        return {"probabilities": self.model.cluster_probabilities(image, psf)}

    def _encode(self, image, psf):
        mean, stddev = self.model.encode(image, psf)
        return {"mean": mean, "stddev": stddev}

    def _decode(self, z):
        return {"image": self.model.decode(z)}

    def _log_prob(self, z, *conds):
        return {"log_prob": self.flow.log_prob(z, tf.stack(conds, axis=1))}


def _prior_metadata(recipe):
    """``extra_metadata`` of :func:`export_trained`: the mixture and its size."""
    m = recipe["mpcc"]

    def add(model, meta):
        meta["n_clusters"] = int(m["n_clusters"])
        meta["prior"] = {
            "means": model.prior.means.numpy().round(6).tolist(),
            "stddevs": model.prior.stddevs.numpy().round(6).tolist(),
            "floor": float(m["prior_floor"]),
            "cluster_of_sample": "argmax_k q(k | z) of the flow's z (Eq. 7.15)",
        }
        meta["provenance"]["standing_batches"] = int(m["standing_batches"])

    return add


def export_mpcc(recipe, out_dir, name=None, version=None, overwrite=False):
    """Write a recipe's trained MPCC model (with its latent flow) as a module directory.

    The generator gets its standing statistics first (the family's
    ``restore_for_sampling``).

    Parameters
    ----------
    recipe : dict
        The loaded MPCC recipe; the latest checkpoints of ``<output_dir>/mpcc``
        and ``<output_dir>/flow`` are used.
    out_dir : str or Path
        The module directory to write.
    name, version : str, optional
        Module name and version (default: the recipe's ``export`` section).
    overwrite : bool
        Replace an existing ``out_dir``.

    Returns
    -------
    Path
        The module directory, validated by loading it back.
    """
    m = recipe["mpcc"]
    size = recipe["dataset"]["stamp_size"]
    description = (f"MPCC (GMM-prior GAN with encoder, Astorga et al. 2020) with "
                   f"{m['n_clusters']} clusters trained with recipe {recipe['name']}: "
                   f"{size}x{size} stamps at {recipe['dataset']['pixel_scale']} arcsec/pixel, "
                   f"conditioned on {', '.join(recipe['flow']['conditions'])} through a "
                   f"latent flow")
    return export_trained(recipe, out_dir, MPCCModule, description,
                          extra_metadata=_prior_metadata(recipe), name=name, version=version,
                          overwrite=overwrite)
