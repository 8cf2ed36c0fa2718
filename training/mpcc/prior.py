"""The Gaussian-mixture prior of the MPCC family and the cluster membership ``q(y | z)``.

The generative model draws a cluster ``y`` from ``K`` equally likely ones and
a latent code from that cluster's diagonal Gaussian::

    p(y = k) = 1 / K,       p(z | y = k) = N(z; mu_k, diag(sigma_k**2)),

with learnable means ``mu_k`` and standard deviations
``sigma_k = floor + softplus(rho_k)`` that never fall below ``floor`` (0.5 in
Astorga 2021), so no component can shrink to a point.  The inference model
assigns a code to the clusters by its membership in the mixture (Eq. 7.15)::

    q(y = k | z) = p(y = k) p(z | y = k) / sum_j p(y = j) p(z | y = j),

computed in log space with a log-sum-exp, so it stays exact far from every
component.  :meth:`GMMPrior.move_to_cluster` maps a code to another cluster
keeping its standardised offset, which ``sample_cluster`` of an exported
module uses.
"""
import math

import numpy as np
import tensorflow as tf
from galsim_deep.errors import InputError

__all__ = ["GMMPrior"]


class GMMPrior(tf.Module):
    """A mixture of ``K`` diagonal Gaussians with equal weights in ``J`` dimensions.

    Parameters
    ----------
    n_clusters : int
        ``K``.
    latent_size : int
        ``J``.
    floor : float
        Lower bound of every standard deviation.
    init_scale : float
        The means start as draws of ``N(0, init_scale**2)``; the standard
        deviations start at ``max(1, floor + 0.5)`` (1 for the default floor).
    seed : int
        Seeds the initial means.
    """

    def __init__(self, n_clusters, latent_size, floor=0.5, init_scale=1.0, seed=0,
                 name="gmm_prior"):
        super().__init__(name=name)
        if n_clusters < 2:
            raise InputError(f"a mixture prior needs n_clusters >= 2, got {n_clusters}")
        if floor <= 0:
            raise InputError(f"the standard-deviation floor must be > 0, got {floor}")
        self.n_clusters = int(n_clusters)
        self.latent_size = int(latent_size)
        self.floor = float(floor)
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x6A4]))
        means = rng.normal(0.0, float(init_scale), size=(self.n_clusters, self.latent_size))
        start = max(1.0, self.floor + 0.5) - self.floor
        rho = math.log(math.expm1(start))  # softplus(rho) = start
        with self.name_scope:
            self.means = tf.Variable(means.astype(np.float32), name="means")
            self.rho = tf.Variable(tf.fill([self.n_clusters, self.latent_size], rho),
                                   name="rho")

    @property
    def stddevs(self):
        """float32 ``[K, J]`` standard deviations, ``floor + softplus(rho)``."""
        return self.floor + tf.nn.softplus(self.rho)

    def sample(self, y, eps):
        """Latent codes of clusters ``y``: ``z = mu_y + sigma_y * eps`` (reparametrised).

        Parameters
        ----------
        y : tf.Tensor
            int32 ``[N]`` cluster indices in ``0 .. K-1``.
        eps : tf.Tensor
            float32 ``[N, J]`` standard-normal draws.

        Returns
        -------
        tf.Tensor
            float32 ``[N, J]``.
        """
        y = tf.convert_to_tensor(y, tf.int32)
        return tf.gather(self.means, y) + tf.gather(self.stddevs, y) * eps

    def component_log_prob(self, z):
        """``log p(z | y = k)`` for every component: float32 ``[N, K]``, nats."""
        z = tf.convert_to_tensor(z, tf.float32)[:, None, :]
        sd = self.stddevs[None]
        u = (z - self.means[None]) / sd
        return tf.reduce_sum(-0.5 * tf.square(u) - tf.math.log(sd) - 0.5 * math.log(2 * math.pi),
                             axis=-1)

    def log_prob(self, z):
        """``log p(z) = log sum_k p(k) p(z | k)``: float32 ``[N]``, nats."""
        return (tf.reduce_logsumexp(self.component_log_prob(z), axis=-1)
                - math.log(self.n_clusters))

    def membership_logits(self, z):
        """``log q(y = k | z)`` (Eq. 7.15) by log-sum-exp: float32 ``[N, K]``.

        With equal weights ``p(y) = 1/K`` the weights cancel:
        ``log q(k | z) = log p(z | k) - logsumexp_j log p(z | j)``.
        """
        lp = self.component_log_prob(z)
        return lp - tf.reduce_logsumexp(lp, axis=-1, keepdims=True)

    def membership(self, z):
        """``q(y | z)``: float32 ``[N, K]`` probabilities summing to 1."""
        return tf.exp(self.membership_logits(z))

    def assign(self, z):
        """The most probable cluster of each code, ``argmax_k q(k | z)``: int32 ``[N]``."""
        return tf.argmax(self.component_log_prob(z), axis=-1, output_type=tf.int32)

    def move_to_cluster(self, z, y):
        """Move codes into cluster ``y``, keeping their standardised offset.

        ``z' = mu_y + sigma_y * (z - mu_k) / sigma_k`` with ``k`` the code's own
        cluster (:meth:`assign`).  Codes distributed as ``p(z | k)`` become
        codes distributed as ``p(z | y)``; a code already in ``y`` is
        unchanged.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[N, J]``.
        y : tf.Tensor
            int32 ``[N]`` target clusters.

        Returns
        -------
        tf.Tensor
            float32 ``[N, J]``.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        k = self.assign(z)
        eps = (z - tf.gather(self.means, k)) / tf.gather(self.stddevs, k)
        return self.sample(y, eps)
