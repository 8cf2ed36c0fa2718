"""The Gaussian-mixture prior of the MPCC family and the cluster membership ``q(y | z)``.

The generative model draws a cluster ``y`` from ``K`` clusters with weights
``phi`` and a latent code from that cluster's diagonal Gaussian::

    p(y = k) = phi_k,       p(z | y = k) = N(z; mu_k, diag(sigma_k**2)),

with learnable means ``mu_k`` and standard deviations
``sigma_k = floor + softplus(rho_k)`` that never fall below ``floor`` (0.5 in
Astorga 2021), so no component can shrink to a point.  The weights are fixed
at ``phi_k = 1/K`` (Astorga 2021, section 7.2.2, which leaves learnable
weights to future work) or, with ``learn_weights``, the softmax of learnable
logits.  The inference model assigns a code to the clusters by its
membership in the mixture (Eq. 7.15, with the weights of Bayes' rule)::

    q(y = k | z) = phi_k p(z | y = k) / sum_j phi_j p(z | y = j),

computed in log space with a log-sum-exp, so it stays exact far from every
component (with equal weights the ``phi`` cancel, as in Eq. 7.15).
:meth:`GMMPrior.move_to_cluster` maps a code to another cluster keeping its
standardised offset, which ``sample_cluster`` of an exported module uses.

Initial means (:func:`initial_means`): ``'orthogonal'``, the authors' public
code's choice, gives ``K`` orthonormal means (times ``init_scale``), all at
the same distance ``sqrt(2) * init_scale`` from each other; with the
standard deviations starting at ``init_stddev`` (2.15, the authors' start,
``0.5 + exp(1/2)``) the components overlap, so at step 0 only about 28% of
the prior's draws are assigned back to their own component (``K = 6``,
``J = 16``), and the cluster loss (Eq. 7.14) has the separation to learn.
``'normal'`` (the release-1.1 choice) draws the means from
``N(0, init_scale**2)``: in 16 dimensions with ``sigma = 1`` the components
start almost separated (about 95% of draws are recovered), and the random
initial means, not the data, fix the partition.
"""
import math

import numpy as np
import tensorflow as tf
from galsim_deep.core.errors import InputError

__all__ = ["GMMPrior", "initial_means", "own_component_fraction", "INIT_CHOICES"]

#: Initialisations of the means :func:`initial_means` knows.
INIT_CHOICES = ("orthogonal", "normal")


def initial_means(n_clusters, latent_size, init="orthogonal", scale=1.0, seed=0):
    """The initial means of a mixture prior, float64 ``[K, J]``.

    Parameters
    ----------
    n_clusters, latent_size : int
        ``K`` and ``J``.
    init : {'orthogonal', 'normal'}
        ``'orthogonal'``: orthonormal rows (``K <= J``; orthonormal columns
        when ``K > J``) of a QR decomposition of a Gaussian matrix, times
        ``scale``, so every mean has norm ``scale`` and every pair of means
        is ``sqrt(2) * scale`` apart (``K <= J``).  ``'normal'``: independent
        ``N(0, scale**2)`` entries.
    scale : float
    seed : int
        Seeds the draw (numpy ``SeedSequence([seed, 0x6A4])``).

    Returns
    -------
    numpy.ndarray
    """
    k, j = int(n_clusters), int(latent_size)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x6A4]))
    if init == "normal":
        return rng.normal(0.0, float(scale), size=(k, j))
    if init != "orthogonal":
        raise InputError(f"unknown prior initialisation {init!r}; use one of "
                         f"{list(INIT_CHOICES)}")
    a = rng.normal(size=(max(k, j), min(k, j)))
    q, r = np.linalg.qr(a)
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)[None]  # a unique, uniformly random Q
    means = q.T if k < j else q
    return float(scale) * means


class GMMPrior(tf.Module):
    """A mixture of ``K`` diagonal Gaussians in ``J`` dimensions.

    Parameters
    ----------
    n_clusters : int
        ``K``.
    latent_size : int
        ``J``.
    floor : float
        Lower bound of every standard deviation.
    init_scale : float
        Scale of the initial means (:func:`initial_means`).
    seed : int
        Seeds the initial means.
    init : {'normal', 'orthogonal'}
        Initialisation of the means (:func:`initial_means`).
    init_stddev : float, optional
        Initial standard deviation of every component, > ``floor``; default
        ``max(1, floor + 0.5)`` (1 for the default floor).
    learn_weights : bool
        Learnable mixture weights ``phi = softmax(weight_logits)`` (starting
        equal) instead of fixed ``1/K``.
    """

    def __init__(self, n_clusters, latent_size, floor=0.5, init_scale=1.0, seed=0,
                 name="gmm_prior", init="normal", init_stddev=None, learn_weights=False):
        super().__init__(name=name)
        if n_clusters < 2:
            raise InputError(f"a mixture prior needs n_clusters >= 2, got {n_clusters}")
        if floor <= 0:
            raise InputError(f"the standard-deviation floor must be > 0, got {floor}")
        self.n_clusters = int(n_clusters)
        self.latent_size = int(latent_size)
        self.floor = float(floor)
        self.learn_weights = bool(learn_weights)
        means = initial_means(self.n_clusters, self.latent_size, init, init_scale, seed)
        start = max(1.0, self.floor + 0.5) if init_stddev is None else float(init_stddev)
        if not start > self.floor:
            raise InputError(f"the initial standard deviation {start} must be above the floor "
                             f"{self.floor}; raise mpcc.prior_init_stddev")
        rho = math.log(math.expm1(start - self.floor))  # floor + softplus(rho) = start
        with self.name_scope:
            self.means = tf.Variable(means.astype(np.float32), name="means")
            self.rho = tf.Variable(tf.fill([self.n_clusters, self.latent_size], rho),
                                   name="rho")
            if self.learn_weights:
                self.weight_logits = tf.Variable(tf.zeros([self.n_clusters]),
                                                 name="weight_logits")

    @property
    def trainable_parameters(self):
        """The prior's variables: means, ``rho`` and, if learnable, the weight logits."""
        return [self.means, self.rho] + ([self.weight_logits] if self.learn_weights else [])

    @property
    def stddevs(self):
        """float32 ``[K, J]`` standard deviations, ``floor + softplus(rho)``."""
        return self.floor + tf.nn.softplus(self.rho)

    @property
    def log_weights(self):
        """float32 ``[K]``, ``log phi_k``: ``log_softmax(weight_logits)`` or ``-log K``."""
        if self.learn_weights:
            return tf.nn.log_softmax(self.weight_logits)
        return tf.fill([self.n_clusters], -math.log(self.n_clusters))

    @property
    def weights(self):
        """float32 ``[K]`` mixture weights ``phi``, summing to 1."""
        return tf.exp(self.log_weights)

    def sample_clusters(self, n, seed):
        """``n`` clusters ``y ~ p(y)`` from a stateless seed: int32 ``[n]``.

        Equal weights draw uniform integers; learnable ones a categorical of
        the logits (``tf.random.stateless_categorical``).
        """
        if self.learn_weights:
            return tf.random.stateless_categorical(self.weight_logits[None], n, seed=seed,
                                                   dtype=tf.int32)[0]
        return tf.random.stateless_uniform([n], seed=seed, maxval=self.n_clusters,
                                           dtype=tf.int32)

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

    def joint_log_prob(self, z):
        """``log p(y = k) + log p(z | y = k)``: float32 ``[N, K]``, nats."""
        return self.component_log_prob(z) + self.log_weights[None]

    def log_prob(self, z):
        """``log p(z) = log sum_k p(k) p(z | k)``: float32 ``[N]``, nats."""
        if self.learn_weights:
            return tf.reduce_logsumexp(self.joint_log_prob(z), axis=-1)
        return (tf.reduce_logsumexp(self.component_log_prob(z), axis=-1)
                - math.log(self.n_clusters))

    def membership_logits(self, z):
        """``log q(y = k | z)`` (Eq. 7.15) by log-sum-exp: float32 ``[N, K]``.

        ``log q(k | z) = log phi_k + log p(z | k) - logsumexp_j [log phi_j + log p(z | j)]``;
        with equal weights they cancel and the weights are left out.
        """
        lp = self.joint_log_prob(z) if self.learn_weights else self.component_log_prob(z)
        return lp - tf.reduce_logsumexp(lp, axis=-1, keepdims=True)

    def membership(self, z):
        """``q(y | z)``: float32 ``[N, K]`` probabilities summing to 1."""
        return tf.exp(self.membership_logits(z))

    def assign(self, z):
        """The most probable cluster of each code, ``argmax_k q(k | z)``: int32 ``[N]``."""
        lp = self.joint_log_prob(z) if self.learn_weights else self.component_log_prob(z)
        return tf.argmax(lp, axis=-1, output_type=tf.int32)

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


def own_component_fraction(prior, n=20000, seed=0):
    """The fraction of prior draws ``(y, z)`` whose cluster ``argmax q(k | z)`` recovers ``y``.

    At step 0 it says how much of the partition the initial means already
    fix: 1 means the components start separated (nothing left for the
    cluster loss, Eq. 7.14), ``1/K`` means they start on top of each other.

    Parameters
    ----------
    prior : GMMPrior
    n : int
        Draws.
    seed : int
        Stateless seed of the draws.

    Returns
    -------
    float
    """
    key = tf.constant([int(seed), 0x0C0], tf.int32)
    y = prior.sample_clusters(int(n), key)
    eps = tf.random.stateless_normal([int(n), prior.latent_size],
                                     seed=tf.random.experimental.stateless_fold_in(key, 1))
    hits = tf.equal(prior.assign(prior.sample(y, eps)), y)
    return float(tf.reduce_mean(tf.cast(hits, tf.float32)))
