"""The loss terms of MPCC (Astorga 2021, chapter 7), each a pure function of tensors.

Loss I, the adversarial game (hinge loss, as BigGAN)::

    L_D = mean(relu(1 - D(x_real))) + mean(relu(1 + D(x_fake)))
    L_G = -mean(D(x_fake))

Loss II, matching the inference model's conditionals to the generative
model's: for ``(y, z, x)`` drawn from ``p(y) p(z | y) p(x | z, y)``,

* Eq. 7.13, the encoder's Gaussian negative log-likelihood of the code that
  generated ``x``, scaled by ``1 / dim(x)`` (``S**2`` pixels) so it weighs
  like a per-pixel term::

      L_z = 1/dim(x) * sum_j [ (z_j - mu_j(x))**2 / (2 sigma_j(x)**2)
                               + 1/2 log(2 pi sigma_j(x)**2) ]

* Eq. 7.14, the cross-entropy between the drawn cluster and the membership
  ``q(y | z)`` of Eq. 7.15 (:meth:`~galsim_deep.training.mpcc.prior.GMMPrior.membership_logits`)::

      L_y = -log q(y | z)

Loss III, Eq. 7.16, the closed-form prior regulariser: the expected
log-density of each mixture component under itself, i.e. minus its entropy,
per latent dimension (the variance term scaled by ``1/J``) and averaged over
the ``K`` components::

    L_p = 1/K sum_k 1/J sum_j -1/2 [log(2 pi sigma_kj**2) + 1]

weighted by ``lambda_p`` (0.01).  It keeps the components from shrinking
onto the floor of their standard deviations, against ``L_y`` which prefers
narrow, well separated components.

Every per-galaxy term returns a ``[B]`` tensor (averaged by the training
loop with ``tf.nn.compute_average_loss``, so it works on several devices);
``L_p`` is a scalar.
"""
import math

import tensorflow as tf

__all__ = ["hinge_discriminator_loss", "hinge_generator_loss", "encoder_nll",
           "cluster_cross_entropy", "prior_regularizer"]


def hinge_discriminator_loss(real_logits, fake_logits):
    """Per-pair hinge loss of the discriminator.

    Parameters
    ----------
    real_logits, fake_logits : tf.Tensor
        float32 ``[B]`` discriminator outputs on real and generated stamps.

    Returns
    -------
    tf.Tensor
        float32 ``[B]``, ``relu(1 - real) + relu(1 + fake)``; its mean is
        ``L_D``.
    """
    return tf.nn.relu(1.0 - real_logits) + tf.nn.relu(1.0 + fake_logits)


def hinge_generator_loss(fake_logits):
    """Per-galaxy generator loss ``-D(x_fake)``, float32 ``[B]``."""
    return -tf.convert_to_tensor(fake_logits, tf.float32)


def encoder_nll(z, mean, stddev, n_pixels):
    """Eq. 7.13: Gaussian negative log-likelihood of ``z`` under ``q(z | x)``, over ``dim(x)``.

    Parameters
    ----------
    z : tf.Tensor
        float32 ``[B, J]``, the codes that generated the stamps (held fixed).
    mean, stddev : tf.Tensor
        float32 ``[B, J]``, the encoder's posterior.
    n_pixels : int
        ``dim(x)``, pixels per stamp.

    Returns
    -------
    tf.Tensor
        float32 ``[B]``, nats per pixel.
    """
    z = tf.convert_to_tensor(z, tf.float32)
    var = tf.square(stddev)
    nll = 0.5 * tf.reduce_sum(tf.square(z - mean) / var + tf.math.log(2 * math.pi * var),
                              axis=-1)
    return nll / float(n_pixels)


def cluster_cross_entropy(membership_logits, y):
    """Eq. 7.14: ``-log q(y | z)`` of the drawn clusters.

    Parameters
    ----------
    membership_logits : tf.Tensor
        float32 ``[B, K]``, ``log q(k | z)`` (normalised, Eq. 7.15).
    y : tf.Tensor
        int32 ``[B]``, the clusters the codes were drawn from.

    Returns
    -------
    tf.Tensor
        float32 ``[B]``, nats.
    """
    y = tf.convert_to_tensor(y, tf.int32)
    return -tf.gather(membership_logits, y, axis=1, batch_dims=1)


def prior_regularizer(stddevs):
    """Eq. 7.16: mean over components and dimensions of ``-1/2 [log(2 pi sigma**2) + 1]``.

    Parameters
    ----------
    stddevs : tf.Tensor
        float32 ``[K, J]``, the mixture's standard deviations.

    Returns
    -------
    tf.Tensor
        float32 scalar, nats per latent dimension (minus the mean entropy of
        a component's one-dimensional marginals).
    """
    var = tf.square(tf.convert_to_tensor(stddevs, tf.float32))
    return tf.reduce_mean(-0.5 * (tf.math.log(2 * math.pi * var) + 1.0))
