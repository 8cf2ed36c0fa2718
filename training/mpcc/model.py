"""The MPCC model: GMM prior, generator, discriminator and encoder in physical units.

:class:`MPCC` holds the networks of :mod:`galsim_deep.training.mpcc.networks` and the
:class:`~galsim_deep.training.mpcc.prior.GMMPrior`, and converts between the dataset's units and the
networks':

* the generator's output is multiplied by ``flux_scale`` (a stored number,
  the median peak of the training stamps, see
  :func:`~galsim_deep.training.flow_vae.model.auto_flux_scale`), so a
  generated profile is in flux per pixel, unconvolved and centred like the
  training galaxies;
* the discriminator and the encoder see two channels, the observed stamp as
  ``asinh(stamp / flux_scale)`` (linear for faint pixels, logarithmic for
  bright cores, which tames the dynamic range of galaxy images for the
  adversarial game) and the PSF divided by its peak value, as the Flow-VAE
  encoder does.

Cluster assignment of an observed stamp uses the encoder's posterior mean:
``q(y | x) = q(y | z = mean(x))`` (Eq. 7.15).
"""
import tensorflow as tf

from .networks import (DiscriminatorHead, EncoderHead, Generator, Trunk,
                       accumulate_standing_statistics)
from .prior import GMMPrior

__all__ = ["MPCC"]


class MPCC(tf.Module):
    """A GMM-prior GAN with an encoder sharing the discriminator's first blocks.

    Parameters
    ----------
    stamp_size : int
        ``S``, pixels.
    n_clusters : int
        ``K``, mixture components.
    latent_size : int
        ``J``, dimension of ``z``.
    embedding_size : int
        Size of the generator's embedding of ``y``.
    n_stages, base_depth, max_depth : int
        Network sizes (see :mod:`galsim_deep.training.mpcc.networks`).
    shared_blocks : int
        Residual blocks shared by the discriminator and the encoder.
    activation : str
    prior_floor, prior_init_scale : float
        See :class:`~galsim_deep.training.mpcc.prior.GMMPrior`.
    seed : int
        Seeds every initialiser.
    """

    def __init__(self, stamp_size, n_clusters, latent_size, embedding_size=16, n_stages=4,
                 base_depth=16, max_depth=64, shared_blocks=3, activation="relu",
                 prior_floor=0.5, prior_init_scale=1.0, seed=0, name="mpcc"):
        super().__init__(name=name)
        self.stamp_size = int(stamp_size)
        self.n_clusters = int(n_clusters)
        self.latent_size = int(latent_size)
        with self.name_scope:
            self.flux_scale = tf.Variable(1.0, trainable=False, name="flux_scale")
            self.prior = GMMPrior(n_clusters, latent_size, floor=prior_floor,
                                  init_scale=prior_init_scale, seed=seed)
            self.generator = Generator(stamp_size, latent_size, n_clusters, embedding_size,
                                       n_stages, base_depth, max_depth, activation,
                                       seed=seed + 1000, name="generator")
            self.trunk = Trunk(n_stages, base_depth, max_depth, shared_blocks, activation,
                               seed=seed + 2000, name="trunk")
            self.discriminator_head = DiscriminatorHead(
                n_stages, base_depth, max_depth, shared_blocks, activation, seed=seed + 3000,
                name="discriminator_head")
            self.encoder_head = EncoderHead(latent_size, n_stages, base_depth, max_depth,
                                            shared_blocks, activation, seed=seed + 4000,
                                            name="encoder_head")
        # Build every layer now so checkpoints restore into existing variables.
        s = self.stamp_size
        z = tf.zeros([2, self.latent_size])
        y = tf.zeros([2], tf.int32)
        self.generator(z, y)
        h = self.trunk(tf.zeros([2, s, s, 2]))
        self.discriminator_head(h)
        self.encoder_head(h)

    # -- variable groups of Algorithm 1 -----------------------------------------------
    @property
    def generator_variables(self):
        """Trainable variables of ``G`` (including the embedding of ``y``)."""
        return list(self.generator.trainable_variables)

    @property
    def discriminator_variables(self):
        """Trainable variables of ``D``: the shared trunk and the discriminator head."""
        return list(self.trunk.trainable_variables) + \
            list(self.discriminator_head.trainable_variables)

    @property
    def encoder_variables(self):
        """Trainable variables of the encoder: the shared trunk and the encoder head."""
        return list(self.trunk.trainable_variables) + list(self.encoder_head.trainable_variables)

    @property
    def prior_variables(self):
        """The prior's means and standard-deviation parameters."""
        return [self.prior.means, self.prior.rho]

    # -- maps --------------------------------------------------------------------------
    def network_input(self, stamp, psf):
        """Stack ``asinh(stamp / flux_scale)`` and ``psf / max(psf)`` as ``[B, S, S, 2]``."""
        stamp = tf.convert_to_tensor(stamp, tf.float32)
        psf = tf.convert_to_tensor(psf, tf.float32)
        peak = tf.reduce_max(psf, axis=[1, 2], keepdims=True)
        return tf.stack([tf.math.asinh(stamp / self.flux_scale), psf / peak], axis=-1)

    def generate(self, z, y, training=False):
        """``G(z, y)``: unconvolved, noise-free profiles, float32 ``[B, S, S]`` >= 0, flux/pixel.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[B, J]``.
        y : tf.Tensor
            int32 ``[B]``.
        training : bool
            Batch statistics (training) or standing statistics in batch norm.
        """
        return self.generator(z, y, training=training) * self.flux_scale

    def discriminate(self, stamp, psf, training=False):
        """Discriminator logits of observed stamps with their PSFs, float32 ``[B]``.

        ``training`` refines the spectral-norm estimates (once per update of D).
        """
        h = self.trunk(self.network_input(stamp, psf), training=training)
        return self.discriminator_head(h, training=training)

    def encode(self, stamp, psf):
        """Posterior ``q(z | stamp, psf)``.

        Parameters
        ----------
        stamp : tf.Tensor
            float32 ``[B, S, S]``, observed stamps, flux per pixel.
        psf : tf.Tensor
            float32 ``[B, S, S]``, their PSFs (unit sum, centred on ``(S//2, S//2)``).

        Returns
        -------
        mean, stddev : tf.Tensor
            float32 ``[B, J]``.
        """
        h = self.trunk(self.network_input(stamp, psf))
        return self.encoder_head(h)

    def cluster_probabilities(self, stamp, psf):
        """``q(y | x) = q(y | z = mean(x))``: float32 ``[B, K]``, rows summing to 1."""
        mean, _ = self.encode(stamp, psf)
        return self.prior.membership(mean)

    def decode(self, z):
        """Profiles of codes in their own clusters: ``G(z, argmax_k q(k | z))``, flux per pixel."""
        z = tf.convert_to_tensor(z, tf.float32)
        return self.generate(z, self.prior.assign(z))

    def standing_statistics(self, n_batches, batch_size, seed):
        """Set the generator's batch-norm statistics from prior samples (before export).

        Runs ``G`` in training mode on ``n_batches`` batches of ``(y, z)`` drawn
        from the prior with a stateless seed and stores the average batch
        statistics (BigGAN's standing statistics).

        Parameters
        ----------
        n_batches, batch_size : int
        seed : int
        """
        def batches():
            for b in range(int(n_batches)):
                key = tf.constant([int(seed), 0x57A0 + b], tf.int32)
                y = tf.random.stateless_uniform([batch_size], seed=key, maxval=self.n_clusters,
                                                dtype=tf.int32)
                eps = tf.random.stateless_normal(
                    [batch_size, self.latent_size],
                    seed=tf.random.experimental.stateless_fold_in(key, 1))
                yield self.prior.sample(y, eps), y

        return accumulate_standing_statistics(self.generator, batches())
