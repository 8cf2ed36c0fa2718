"""The image flow: a normalizing flow of affine couplings on the stamps themselves.

:class:`ImageFlow` composes the bijectors of :mod:`~galsim_deep.training.image_flow.networks`.
From the data side to the latent side::

    stamp x [S, S] (flux per pixel)
      -> y = asinh(x / noise_scale)            AsinhScale, inverse
      -> squeeze to [S/2, S/2, 4]              Squeeze
      -> (ActNorm, AffineCoupling) x len(masks), masks alternating parity
      -> z [S/2, S/2, 4] ~ N(0, I)

and ``log p(x | c) = log N(z; 0, I) + log |dz/dx|``, the sum of every piece's
log-determinant, the preprocessing's included: a density of the stamp in its own units
(per ``(flux per pixel)**S**2``).  The couplings' networks see the catalog conditions
(standardised with the training split's mean and standard deviation) as constant channels.
:meth:`ImageFlow.bits_per_dim` is ``-log p(x | c) / (S**2 log 2)``.

No dequantisation: the stamps are continuous float data (their noise is continuous), so a
continuous density of them is finite and meaningful; dequantisation is for integer pixels,
whose continuous density could grow without bound on the integer grid.  The same density
makes the values depend on the flux unit: a change of unit by a factor ``a`` shifts
``log p`` by ``-S**2 log a``.
"""
import math

import numpy as np
import tensorflow as tf

from .networks import ActNorm, AffineCoupling, AsinhScale, Squeeze, channel_mask, \
    checkerboard_mask

__all__ = ["ImageFlow", "MASKS", "layer_masks"]

#: The coupling masks a recipe may list.
MASKS = ("checkerboard", "channel")


def layer_masks(side, channels, masks):
    """The masks ``[side, side, channels]`` of the couplings named in ``masks``; the k-th
    coupling of a kind takes parity ``k % 2``, so consecutive couplings of one kind
    transform complementary halves."""
    made, seen = [], {}
    for kind in masks:
        parity = seen.get(kind, 0) % 2
        seen[kind] = seen.get(kind, 0) + 1
        make = checkerboard_mask if kind == "checkerboard" else channel_mask
        made.append(make(side, side, channels, parity))
    return made


class ImageFlow(tf.Module):
    """A conditional RealNVP/Glow-style flow on ``[S, S]`` stamps.

    Parameters
    ----------
    stamp_size : int
        ``S``, even.
    n_conditions : int
        Catalog conditions the couplings see (0: an unconditional flow).
    masks : sequence of str
        One coupling per entry, ``'checkerboard'`` or ``'channel'`` (:data:`MASKS`).
    width, hidden_layers : int
        Channels and 3x3 convolutions of each coupling's network.
    log_scale_max : float
        Bound on each coupling's log-scale per pixel (nats).
    seed : int
        Seeds the networks' initial weights.

    Attributes
    ----------
    noise_scale : tf.Variable
        The preprocessing's flux per pixel (set from the training data on a run's first
        step).
    condition_mean, condition_std : tf.Variable
        The conditions' standardisation (training split).
    latent_shape : tuple of int
        ``(S/2, S/2, 4)``; ``latent_size`` is ``S**2``.
    """

    def __init__(self, stamp_size, n_conditions, masks, width, hidden_layers,
                 log_scale_max=2.0, seed=0, name="image_flow"):
        super().__init__(name=name)
        self.stamp_size = int(stamp_size)
        self.n_conditions = int(n_conditions)
        side = self.stamp_size // 2
        self.latent_shape = (side, side, 4)
        self.latent_size = self.stamp_size ** 2
        self.noise_scale = tf.Variable(1.0, trainable=False, name="noise_scale")
        self.condition_mean = tf.Variable(tf.zeros([self.n_conditions]), trainable=False,
                                          name="condition_mean")
        self.condition_std = tf.Variable(tf.ones([self.n_conditions]), trainable=False,
                                         name="condition_std")
        self.preprocess = AsinhScale(self.noise_scale)
        self.squeeze = Squeeze()
        self.steps = []  # the data side first
        for k, mask in enumerate(layer_masks(side, 4, masks)):
            self.steps.append(ActNorm(4, name=f"actnorm_{k}"))
            self.steps.append(AffineCoupling(mask, self.n_conditions, width, hidden_layers,
                                             log_scale_max, seed=1000 * int(seed) + 10 * k,
                                             name=f"coupling_{k}"))

    def standardize(self, conditions):
        """Conditions ``[B, K]`` (catalog units) -> what the couplings see."""
        conditions = tf.cast(conditions, tf.float32)
        return (conditions - self.condition_mean) / self.condition_std

    def to_latent(self, stamps, conditions):
        """Stamps ``[B, S, S]`` (flux per pixel) -> latent ``[B, S/2, S/2, 4]`` and
        ``log |dz/dx|`` ``[B]`` (nats)."""
        c = self.standardize(conditions)
        y, log_det = self.preprocess.inverse_and_log_det(tf.cast(stamps, tf.float32)[..., None])
        y, _ = self.squeeze.forward_and_log_det(y)
        for step in self.steps:
            y, part = step.inverse_and_log_det(y, c)
            log_det += part
        return y, log_det

    def to_data(self, z, conditions):
        """Latent ``[B, S/2, S/2, 4]`` -> stamps ``[B, S, S]`` (flux per pixel)."""
        c = self.standardize(conditions)
        for step in reversed(self.steps):
            z, _ = step.forward_and_log_det(z, c)
        y, _ = self.squeeze.inverse_and_log_det(z)
        return self.preprocess.forward_and_log_det(y)[0][..., 0]

    def log_prob(self, stamps, conditions):
        """``log p(stamp | conditions)``, nats per stamp ``[B]``, a density of the stamp's
        pixels in flux per pixel."""
        z, log_det = self.to_latent(stamps, conditions)
        base = -0.5 * tf.reduce_sum(tf.square(z), axis=[1, 2, 3])
        return base - 0.5 * self.latent_size * math.log(2 * math.pi) + log_det

    def bits_per_dim(self, stamps, conditions):
        """``-log p(stamp | conditions) / (S**2 log 2)``: bits per pixel ``[B]``."""
        return -self.log_prob(stamps, conditions) / (self.latent_size * math.log(2.0))

    def encode(self, stamps, conditions):
        """The latent of stamps, flattened row-major: ``[B, S**2]``."""
        z, _ = self.to_latent(stamps, conditions)
        return tf.reshape(z, [-1, self.latent_size])

    def sample_from_normal(self, normals, conditions):
        """Stamps ``[B, S, S]`` from standard normals ``[B, S**2]`` (the latent row-major):
        noisy stamps like the training set's, the noise included."""
        z = tf.reshape(tf.cast(normals, tf.float32), [-1, *self.latent_shape])
        return self.to_data(z, conditions)

    def initialize(self, stamps, conditions, noise_scale, condition_mean, condition_std):
        """A new run's start: the preprocessing's scale, the conditions' standardisation,
        and every :class:`~.networks.ActNorm` from the batch ``stamps`` (Glow's
        data-dependent initialisation, the latent side of the batch at mean 0 and variance
        1 per channel after each).

        Parameters
        ----------
        stamps : array_like [B, S, S]
            Training stamps, flux per pixel.
        conditions : array_like [B, K]
        noise_scale : float
            Flux per pixel of the preprocessing.
        condition_mean, condition_std : array_like [K]
        """
        self.noise_scale.assign(float(noise_scale))
        self.condition_mean.assign(np.asarray(condition_mean, np.float32))
        self.condition_std.assign(np.asarray(condition_std, np.float32))
        c = self.standardize(conditions)
        y, _ = self.preprocess.inverse_and_log_det(tf.cast(stamps, tf.float32)[..., None])
        y, _ = self.squeeze.forward_and_log_det(y)
        for step in self.steps:
            if isinstance(step, ActNorm):
                y = step.initialize_from(y)
            else:
                y, _ = step.inverse_and_log_det(y, c)
