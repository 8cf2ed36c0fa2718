"""The MPCC model: GMM prior, generator, discriminator and encoder in physical units.

:class:`MPCC` holds the networks of :mod:`galsim_deep.training.mpcc.networks` and the
:class:`~galsim_deep.training.mpcc.prior.GMMPrior`, and converts between the dataset's units and the
networks'.

What sets a generated galaxy's flux (``generator_flux``):

* ``'catalog'`` (the default): the generator draws a *shape*, a profile of
  unit total flux (the network's output divided by its sum), and the flux
  comes from the catalog: :meth:`MPCC.generate` multiplies it by a flux
  ``F`` it is given.  In training each generated profile gets the catalog
  flux ``10**(-0.4 (mag_auto - zero_point))`` of the real stamp whose PSF
  and noise observe it, so every fake has the flux, PSF and noise of a real
  stamp and the adversarial game is about shape alone: neither ``z`` nor
  the cluster ``y`` can encode brightness.  The exported module's
  ``sample`` multiplies by the flux of the ``mag_auto`` it is given, so its
  profiles have the catalog flux of their conditioning magnitude.
* ``'free'`` (release 1.1): the generator's output times ``flux_scale`` (a
  stored number, the median peak of the training stamps, see
  :func:`~galsim_deep.training.flux_scale.auto_flux_scale`) is the profile
  in flux per pixel, and the flux is whatever the latent code makes it.

What the clustering path sees (``input_normalisation``): the discriminator
and the encoder see two channels, the observed stamp through an ``asinh``
stretch and the PSF divided by its peak value, as the Flow-VAE encoder does.
The stamp is divided either by the galaxy's own scale
(``'per_galaxy'``, the default: :func:`per_galaxy_scale`, the peak of the
stamp smoothed over 3x3 pixels, a scale-equivariant estimate from the noisy
stamp alone), so that two stamps differing only in flux look the same and
brightness cannot be what the clusters split on, or by the one global
``flux_scale`` (``'global'``, release 1.1), which leaves total brightness
the strongest signal the encoder and discriminator compare.

Cluster assignment of an observed stamp uses the encoder's posterior mean:
``q(y | x) = q(y | z = mean(x))`` (Eq. 7.15).  With ``ema_decay > 0`` the
model also holds an exponential moving average of the generator's weights
(:attr:`MPCC.generator_ema`), which sampling uses (:meth:`MPCC.generate`
outside training).
"""
import tensorflow as tf

from galsim_deep.core.errors import InputError

from .networks import (DiscriminatorHead, EncoderHead, Generator, Trunk,
                       accumulate_standing_statistics, ema_update)
from .prior import GMMPrior

__all__ = ["MPCC", "per_galaxy_scale", "catalog_flux", "NORMALISATION_CHOICES",
           "GENERATOR_FLUX_CHOICES"]

#: What divides a stamp before the encoder and discriminator see it.
NORMALISATION_CHOICES = ("per_galaxy", "global")
#: What sets a generated profile's flux.
GENERATOR_FLUX_CHOICES = ("catalog", "free")


def per_galaxy_scale(stamp, smoothing=3):
    """Each stamp's own flux scale: the peak of the stamp smoothed over ``smoothing`` pixels.

    A box average over ``smoothing x smoothing`` pixels damps single noisy
    pixels, so the scale of a faint galaxy is its core's, not a noise
    spike's.  The estimate is scale-equivariant (``scale(a x) = a scale(x)``
    for ``a > 0``) and invariant under the rotations and flips of the
    augmentation; it is floored at 1e-3 of the stamp's largest absolute
    value (and 1e-30), so it is positive for any stamp.

    Parameters
    ----------
    stamp : tf.Tensor
        float32 ``[B, S, S]``, observed stamps, flux per pixel.
    smoothing : int
        Side of the box average, pixels.

    Returns
    -------
    tf.Tensor
        float32 ``[B, 1, 1]``, flux per pixel.
    """
    stamp = tf.convert_to_tensor(stamp, tf.float32)
    smooth = tf.nn.avg_pool2d(stamp[..., None], ksize=int(smoothing), strides=1,
                              padding="SAME")[..., 0]
    peak = tf.reduce_max(smooth, axis=[1, 2], keepdims=True)
    floor = 1e-3 * tf.reduce_max(tf.abs(stamp), axis=[1, 2], keepdims=True)
    return tf.maximum(tf.maximum(peak, floor), 1e-30)


def catalog_flux(magnitude, zero_point):
    """The flux of AB magnitudes, ``10**(-0.4 (mag - zero_point))``, float32."""
    magnitude = tf.convert_to_tensor(magnitude, tf.float32)
    return tf.pow(10.0, -0.4 * (magnitude - zero_point))


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
        Size of the generator's embedding of ``y`` (``cluster_conditioning``
        ``concat`` or ``shared_hierarchical``).
    n_stages, base_depth, max_depth : int
        Network sizes (see :mod:`galsim_deep.training.mpcc.networks`).
    shared_blocks : int
        Residual blocks shared by the discriminator and the encoder.
    activation : str
    prior_floor, prior_init_scale : float
        See :class:`~galsim_deep.training.mpcc.prior.GMMPrior`.
    seed : int
        Seeds every initialiser.
    prior_init : {'normal', 'orthogonal'}
    prior_init_stddev : float, optional
    learn_weights : bool
        See :class:`~galsim_deep.training.mpcc.prior.GMMPrior`.
    spectral_norm_all : bool
        Spectral normalisation in the generator and the encoder head too.
    init : {'glorot', 'normal_0.02'}
        Kernel initialisation of all networks.
    cluster_conditioning : {'concat', 'conditional_batch_norm', 'shared_hierarchical'}
        How ``y`` reaches the generator (:mod:`~galsim_deep.training.mpcc.networks`).
    ema_decay : float
        Keep an exponential moving average of the generator's weights with
        this decay (0: none).
    input_normalisation : {'global', 'per_galaxy'}
    generator_flux : {'free', 'catalog'}
        See the module docstring.

    Notes
    -----
    The constructor's defaults are release 1.1's settings (its checkpoints
    and modules restore into them); recipes default to the thesis's
    settings (:class:`~galsim_deep.training.mpcc.family.MPCCFamily`), and
    :func:`~galsim_deep.training.mpcc.train.build_mpcc` passes every one.
    The moving-average generator, the ``zero_point`` and the prior's weight
    logits exist only when their options ask for them, so a model with the
    release-1.1 settings has exactly the variables it had.
    """

    def __init__(self, stamp_size, n_clusters, latent_size, embedding_size=16, n_stages=4,
                 base_depth=16, max_depth=64, shared_blocks=3, activation="relu",
                 prior_floor=0.5, prior_init_scale=1.0, seed=0, name="mpcc",
                 prior_init="normal", prior_init_stddev=None, learn_weights=False,
                 spectral_norm_all=False, init="glorot", cluster_conditioning="concat",
                 ema_decay=0.0, input_normalisation="global", generator_flux="free"):
        super().__init__(name=name)
        if input_normalisation not in NORMALISATION_CHOICES:
            raise InputError(f"unknown input_normalisation {input_normalisation!r}; use one "
                             f"of {list(NORMALISATION_CHOICES)}")
        if generator_flux not in GENERATOR_FLUX_CHOICES:
            raise InputError(f"unknown generator_flux {generator_flux!r}; use one of "
                             f"{list(GENERATOR_FLUX_CHOICES)}")
        if not 0.0 <= float(ema_decay) < 1.0:
            raise InputError(f"ema_decay must be in [0, 1) (0: no moving average), got "
                             f"{ema_decay!r}")
        self.stamp_size = int(stamp_size)
        self.n_clusters = int(n_clusters)
        self.latent_size = int(latent_size)
        self.input_normalisation = input_normalisation
        self.generator_flux = generator_flux
        self.ema_decay = float(ema_decay)
        generator_args = (stamp_size, latent_size, n_clusters, embedding_size, n_stages,
                          base_depth, max_depth, activation)
        generator_kwargs = dict(seed=seed + 1000, conditioning=cluster_conditioning,
                                spectral=spectral_norm_all, init=init)
        with self.name_scope:
            self.flux_scale = tf.Variable(1.0, trainable=False, name="flux_scale")
            if generator_flux == "catalog":
                self.zero_point = tf.Variable(0.0, trainable=False, name="zero_point")
            self.prior = GMMPrior(n_clusters, latent_size, floor=prior_floor,
                                  init_scale=prior_init_scale, seed=seed, init=prior_init,
                                  init_stddev=prior_init_stddev, learn_weights=learn_weights)
            self.generator = Generator(*generator_args, name="generator", **generator_kwargs)
            self.trunk = Trunk(n_stages, base_depth, max_depth, shared_blocks, activation,
                               seed=seed + 2000, init=init, name="trunk")
            self.discriminator_head = DiscriminatorHead(
                n_stages, base_depth, max_depth, shared_blocks, activation, seed=seed + 3000,
                init=init, name="discriminator_head")
            self.encoder_head = EncoderHead(latent_size, n_stages, base_depth, max_depth,
                                            shared_blocks, activation, seed=seed + 4000,
                                            spectral=spectral_norm_all, init=init,
                                            name="encoder_head")
            if self.ema_decay > 0:
                # The same seeds: it starts as a copy of the generator.
                self.generator_ema = Generator(*generator_args, name="generator_ema",
                                               **generator_kwargs)
        # Build every layer now so checkpoints restore into existing variables.
        s = self.stamp_size
        z = tf.zeros([2, self.latent_size])
        y = tf.zeros([2], tf.int32)
        self.generator(z, y)
        if self.ema_decay > 0:
            self.generator_ema(z, y)
        h = self.trunk(tf.zeros([2, s, s, 2]))
        self.discriminator_head(h)
        self.encoder_head(h)

    # -- variable groups of Algorithm 1 -----------------------------------------------
    @property
    def generator_variables(self):
        """Trainable variables of ``G`` (including the embeddings of ``y``)."""
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
        """The prior's means, standard-deviation parameters and (if learnable) weight logits."""
        return self.prior.trainable_parameters

    @property
    def has_ema(self):
        """Whether the model keeps a moving average of the generator."""
        return self.ema_decay > 0

    @property
    def sampling_generator(self):
        """The generator sampling uses: the moving average if there is one."""
        return self.generator_ema if self.has_ema else self.generator

    def update_ema(self):
        """One moving-average step of the generator's weights (:func:`ema_update`); the
        spectral-norm vectors ``u`` are copied.  Nothing without ``ema_decay``."""
        if not self.has_ema:
            return
        ema_update(self.generator_ema.trainable_variables, self.generator.trainable_variables,
                   self.ema_decay)
        for a, w in zip(self.generator_ema.spectral_layers(), self.generator.spectral_layers()):
            a.u.assign(w.u)

    def reset_ema(self):
        """Set the moving average to the generator's current weights (a fresh run)."""
        if not self.has_ema:
            return
        ema_update(self.generator_ema.variables, self.generator.variables, 0.0)

    # -- maps --------------------------------------------------------------------------
    def input_scale(self, stamp):
        """What divides each stamp before the ``asinh``: float32 ``[B, 1, 1]`` or a scalar."""
        if self.input_normalisation == "per_galaxy":
            return per_galaxy_scale(stamp)
        return self.flux_scale

    def network_input(self, stamp, psf):
        """Stack ``asinh(stamp / scale)`` and ``psf / max(psf)`` as ``[B, S, S, 2]``.

        ``scale`` is the stamp's own (:func:`per_galaxy_scale`) or the global
        ``flux_scale`` (``input_normalisation``).
        """
        stamp = tf.convert_to_tensor(stamp, tf.float32)
        psf = tf.convert_to_tensor(psf, tf.float32)
        peak = tf.reduce_max(psf, axis=[1, 2], keepdims=True)
        return tf.stack([tf.math.asinh(stamp / self.input_scale(stamp)), psf / peak], axis=-1)

    def flux_of_magnitude(self, magnitude):
        """Catalog flux of magnitudes, ``10**(-0.4 (mag - zero_point))``: float32 ``[B]``."""
        if self.generator_flux != "catalog":
            raise InputError("flux_of_magnitude needs a model with generator_flux 'catalog'")
        return catalog_flux(magnitude, self.zero_point)

    def generate(self, z, y, training=False, flux=None, ema=None):
        """``G(z, y)``: unconvolved, noise-free profiles, float32 ``[B, S, S]`` >= 0, flux/pixel.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[B, J]``.
        y : tf.Tensor
            int32 ``[B]``.
        training : bool
            Batch statistics and spectral-norm refinement (training) or
            standing statistics in batch norm.
        flux : tf.Tensor, optional
            float32 ``[B]``, the profiles' total fluxes (``generator_flux:
            catalog``; without it the profiles have unit flux).  Ignored by
            ``'free'`` models, whose flux is their own.
        ema : bool, optional
            Use the moving-average generator (default: outside training,
            when there is one).
        """
        ema = (not training) and self.has_ema if ema is None else bool(ema) and self.has_ema
        net = self.generator_ema if ema else self.generator
        profile = net(z, y, training=training)
        if self.generator_flux == "free":
            return profile * self.flux_scale
        profile = profile / tf.reduce_sum(profile, axis=[1, 2], keepdims=True)
        if flux is None:
            return profile
        return profile * tf.convert_to_tensor(flux, tf.float32)[:, None, None]

    def discriminate(self, stamp, psf, training=False):
        """Discriminator logits of observed stamps with their PSFs, float32 ``[B]``.

        ``training`` refines the spectral-norm estimates (once per update of D).
        """
        h = self.trunk(self.network_input(stamp, psf), training=training)
        return self.discriminator_head(h, training=training)

    def encode(self, stamp, psf, training=False):
        """Posterior ``q(z | stamp, psf)``.

        Parameters
        ----------
        stamp : tf.Tensor
            float32 ``[B, S, S]``, observed stamps, flux per pixel.
        psf : tf.Tensor
            float32 ``[B, S, S]``, their PSFs (unit sum, centred on ``(S//2, S//2)``).
        training : bool
            Refine the encoder head's spectral-norm estimates (its updates).

        Returns
        -------
        mean, stddev : tf.Tensor
            float32 ``[B, J]``.
        """
        h = self.trunk(self.network_input(stamp, psf))
        return self.encoder_head(h, training=training)

    def cluster_probabilities(self, stamp, psf):
        """``q(y | x) = q(y | z = mean(x))``: float32 ``[B, K]``, rows summing to 1."""
        mean, _ = self.encode(stamp, psf)
        return self.prior.membership(mean)

    def decode(self, z, flux=None):
        """Profiles of codes in their own clusters: ``G(z, argmax_k q(k | z))``, flux per pixel.

        A ``'catalog'`` model's profiles have unit flux unless ``flux`` (float32
        ``[B]``) is given.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        return self.generate(z, self.prior.assign(z), flux=flux)

    def standing_statistics(self, n_batches, batch_size, seed):
        """Set the sampling generator's batch-norm statistics from prior samples (before export).

        Runs the generator sampling uses (the moving average, if any) in
        training mode on ``n_batches`` batches of ``(y, z)`` drawn from the
        prior with a stateless seed and stores the average batch statistics
        (BigGAN's standing statistics).

        Parameters
        ----------
        n_batches, batch_size : int
        seed : int
        """
        def batches():
            for b in range(int(n_batches)):
                key = tf.constant([int(seed), 0x57A0 + b], tf.int32)
                y = self.prior.sample_clusters(batch_size, key)
                eps = tf.random.stateless_normal(
                    [batch_size, self.latent_size],
                    seed=tf.random.experimental.stateless_fold_in(key, 1))
                yield self.prior.sample(y, eps), y

        return accumulate_standing_statistics(self.sampling_generator, batches())
