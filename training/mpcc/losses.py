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

Loss III, Eq. 7.16, the closed-form prior regulariser
``E_p(y) p(z|y)[log p(y) + log p(z | y)]``, with the variance term scaled by
``1/J`` as section 7.2.2 says (the thesis's text: the standard deviations
are the components' own, ``sigma = floor + softplus(rho)``; the authors'
public code applies the entropy to its raw log-variance parameter instead,
so its gradient ignores the floor)::

    L_p = sum_k phi_k [log phi_k + 1/J sum_j -1/2 (log(2 pi sigma_kj**2) + 1)]

weighted by ``lambda_p`` (0.01).  With the fixed weights ``phi_k = 1/K`` the
``log phi_k`` term is the constant ``-log K`` and is left out
(:func:`prior_regularizer` without ``weights``): the mean over components
and dimensions of minus the entropy of each one-dimensional marginal.  It
keeps the components from shrinking onto the floor of their standard
deviations, against ``L_y`` which prefers narrow, well separated
components; with learnable weights its ``log phi`` term favours equal
weights.

Beyond the thesis, with learnable weights the third term of Eq. 7.9,
``D_KL(p(y) || q(y))``, is kept (:func:`mixture_weight_kl`): ``q(y)``, the
inference model's cluster fractions, is estimated by the mean membership of
a batch of real stamps, which is the only term of the loss through which the
data can move the weights (the cross-entropy Eq. 7.14 has zero expected
gradient with respect to them, since ``q(y | z)`` is the model's own Bayes
posterior).

Every per-galaxy term returns a ``[B]`` tensor (averaged by the training
loop with ``tf.nn.compute_average_loss``, so it works on several devices);
``L_p`` is a scalar.
"""
import math

import tensorflow as tf

__all__ = ["hinge_discriminator_loss", "hinge_generator_loss", "encoder_nll",
           "cluster_cross_entropy", "prior_regularizer", "mixture_weight_kl"]


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


def prior_regularizer(stddevs, weights=None):
    """Eq. 7.16 with the variance term over ``J``: minus the weighted entropies of the components.

    Parameters
    ----------
    stddevs : tf.Tensor
        float32 ``[K, J]``, the mixture's standard deviations.
    weights : tf.Tensor, optional
        float32 ``[K]`` mixture weights ``phi`` (summing to 1).  None (fixed
        equal weights): the mean over components and dimensions of
        ``-1/2 [log(2 pi sigma**2) + 1]``, i.e. Eq. 7.16 without its
        constant ``-log K``.

    Returns
    -------
    tf.Tensor
        float32 scalar, nats: ``sum_k phi_k [log phi_k + mean_j -1/2 (log(2 pi
        sigma_kj**2) + 1)]`` with ``weights``.
    """
    var = tf.square(tf.convert_to_tensor(stddevs, tf.float32))
    per_dim = -0.5 * (tf.math.log(2 * math.pi * var) + 1.0)
    if weights is None:
        return tf.reduce_mean(per_dim)
    w = tf.convert_to_tensor(weights, tf.float32)
    return tf.reduce_sum(w * (tf.math.log(w) + tf.reduce_mean(per_dim, axis=-1)))


def mixture_weight_kl(weights, target):
    """``D_KL(phi || q)`` of the mixture weights from the inference model's cluster fractions.

    The third term of Eq. 7.9, ``D_KL(p(y) || q(y))``, with ``q(y)`` estimated
    by the mean membership ``q(y | x)`` of a batch of real stamps (held fixed):
    its gradient moves ``phi`` towards the fractions of the data the clusters
    claim, an EM-like update of the weights.

    Parameters
    ----------
    weights : tf.Tensor
        float32 ``[K]``, ``phi``.
    target : tf.Tensor
        float32 ``[K]``, ``q(y)``; floored at 1e-6 so an empty cluster gives a
        finite loss.

    Returns
    -------
    tf.Tensor
        float32 scalar, nats.
    """
    w = tf.convert_to_tensor(weights, tf.float32)
    q = tf.maximum(tf.convert_to_tensor(target, tf.float32), 1e-6)
    return tf.reduce_sum(w * (tf.math.log(w) - tf.math.log(q)))
