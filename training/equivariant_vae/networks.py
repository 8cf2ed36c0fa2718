"""The equivariant VAE's own networks: the pose network and the classifier head.

:class:`PoseNetwork` is an *equivariant transformer* layer (Tai et al. 2019) for
rotations: it resamples the stamp onto polar coordinates about its true centre
(:func:`~galsim_deep.training.equivariant_vae.rotation.polar_resample`), where a rotation of
the stamp is a cyclic shift along the angle axis, runs a small CNN whose convolutions wrap
around that axis (so they commute with the shift), sums its one output channel over the
radii to one score ``f_k`` per angle ``phi_k`` and reads the pose from the second circular
harmonic of the scores::

    (c, s) = sum_k f_k (cos 2 phi_k, sin 2 phi_k) / sum_k |f_k|
    pose   = atan2(s, c) / 2                              in (-pi/2, pi/2]

A stamp turned by ``a`` shifts the scores by ``a``, turns ``(c, s)`` by ``2 a`` and the pose
by ``a`` modulo pi: the network is equivariant by construction (exactly for turns by
multiples of ``2 pi / K``, to the interpolation's accuracy between), whatever its weights.
The pose is defined modulo pi because a galaxy's orientation is: its light is nearly
symmetric under a half turn (an ellipse, a bulge + disk, two-armed spirals), so a first
harmonic (2 pi periodic) would be set by the noise and by faint asymmetries; the second is
the orientation of the light's quadrupole, which the noise moves little.  The canonical
frame is therefore fixed up to a half turn (a lopsided galaxy may come out either way).

:class:`ClassifierHead` is the paper's two-layer network from the pose-free code to the
class logits.
"""
import math

import tensorflow as tf
import tf_keras

from .rotation import polar_resample

__all__ = ["PoseNetwork", "MomentPose", "ClassifierHead", "half_angle"]


def half_angle(c, s, damping):
    """``(cos p, sin p)`` of ``p = atan2(s, c) / 2``, with a damped gradient.

    The angle's gradient is ``(c ds - s dc) / (c^2 + s^2)``, unbounded for a round
    galaxy whose second harmonic vanishes; the value here is the exact ``p``, its gradient
    ``(c ds - s dc) / (c^2 + s^2 + damping^2)`` (a stop-gradient construction, so the
    graph exports with ordinary ops).

    Parameters
    ----------
    c, s : tf.Tensor
        float32 ``[B]``, the second harmonic (dimensionless, ``|(c, s)| <= 1``).
    damping : float
        The harmonic's amplitude below which the gradient is damped.

    Returns
    -------
    cos, sin, angle : tf.Tensor
        float32 ``[B]``; ``angle`` in radians, in (-pi/2, pi/2].
    """
    c0, s0 = tf.stop_gradient(c), tf.stop_gradient(s)
    slope = 0.5 * (c0 * s - s0 * c) / (tf.square(c0) + tf.square(s0) + damping ** 2)
    angle = tf.stop_gradient(0.5 * tf.atan2(s, c)) + slope - tf.stop_gradient(slope)
    return tf.cos(angle), tf.sin(angle), angle


class _CircularConv(tf_keras.layers.Layer):
    """A 3x3 convolution of ``[B, K, R, C]`` maps that wraps around the angle axis (K)
    and pads the radius axis (R) with zeros, so it commutes with cyclic shifts in angle."""

    def __init__(self, depth, seed, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.conv = tf_keras.layers.Conv2D(
            depth, 3, padding="valid", activation=activation,
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed))

    def call(self, x):
        x = tf.concat([x[:, -1:], x, x[:, :1]], axis=1)
        x = tf.pad(x, [[0, 0], [0, 0], [1, 1], [0, 0]])
        return self.conv(x)


class PoseNetwork(tf_keras.layers.Layer):
    """Predicts each stamp's position angle, equivariantly (module docstring).

    Parameters
    ----------
    stamp_size : int
        ``S``, pixels.
    n_angles, n_radii : int
        The polar grid (:func:`~galsim_deep.training.equivariant_vae.rotation.polar_grid`).
    depth : int
        Channels of the hidden convolutions.
    n_layers : int
        Hidden 3x3 circular convolutions (then a 1x1 to one channel).
    activation : str
    damping : float
        Of :func:`half_angle`.
    interpolant : {"bilinear", "cubic"}
        Of the polar resampling.
    seed : int
    """

    def __init__(self, stamp_size, n_angles=32, n_radii=16, depth=16, n_layers=3,
                 activation="elu", damping=0.01, interpolant="cubic", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.stamp_size, self.n_angles, self.n_radii = int(stamp_size), int(n_angles), int(n_radii)
        self.damping, self.interpolant = float(damping), interpolant
        self.hidden = [_CircularConv(depth, seed + i, activation, name=f"conv{i}")
                       for i in range(n_layers)]
        self.score = tf_keras.layers.Conv2D(
            1, 1, name="score", kernel_initializer=tf_keras.initializers.GlorotUniform(
                seed=seed + 99))
        phi = 2.0 * math.pi * tf.range(self.n_angles, dtype=tf.float32) / float(self.n_angles)
        self.harmonic = tf.stack([tf.cos(2.0 * phi), tf.sin(2.0 * phi)], axis=1)  # [K, 2]

    def scores(self, image):
        """Per-angle scores ``f_k``, float32 ``[B, K]``, of network-unit stamps ``[B, S, S]``
        (compressed by ``asinh``, a pointwise map that keeps the equivariance)."""
        h = polar_resample(tf.asinh(image), self.n_angles, self.n_radii,
                           self.interpolant)[..., None]
        for layer in self.hidden:
            h = layer(h)
        return tf.reduce_sum(self.score(h)[..., 0], axis=2)

    def call(self, image):
        """Pose of stamps in network units.

        Parameters
        ----------
        image : tf.Tensor
            float32 ``[B, S, S]``, stamps divided by the flux scale.

        Returns
        -------
        dict of tf.Tensor
            ``cos``, ``sin``, ``angle`` ``[B]`` (radians, in (-pi/2, pi/2]) and
            ``strength`` ``[B]``, ``|(c, s)|`` in [0, 1]: how well the pose is defined.
        """
        f = self.scores(image)
        cs = tf.matmul(f, self.harmonic) / (tf.reduce_sum(tf.abs(f), axis=1,
                                                          keepdims=True) + 1e-12)
        c, s = cs[:, 0], cs[:, 1]
        cos, sin, angle = half_angle(c, s, self.damping)
        return {"cos": cos, "sin": sin, "angle": angle,
                "strength": tf.sqrt(tf.square(c) + tf.square(s))}


class MomentPose(tf_keras.layers.Layer):
    """The position angle of each stamp's light from its weighted second moments.

    An estimator with no weights, equivariant by construction like
    :class:`PoseNetwork` (the moments of a turned stamp are the turned moments), for a
    model whose codes must hold no pose from its first step, such as a fine-tune of a
    trained Flow-VAE, where a pose network learning from scratch would move the encoder's
    inputs while it learns.  With pixel ``(i, j)`` at ``x = j``, ``y = i`` about the
    stamp's true centre and a circular Gaussian weight ``w`` of ``weight_radius``
    pixels::

        Q_ab = sum w I a b                     (a, b in x, y)
        pose = atan2(2 Q_xy, Q_xx - Q_yy) / 2  in (-pi/2, pi/2]

    the orientation of the light's quadrupole, modulo pi, as the pose network's.  The
    weight keeps the noise far from the galaxy out (the unweighted moments of a faint
    stamp are the sky's).  The pose carries no gradient: it is a measurement of the data.

    Parameters
    ----------
    stamp_size : int
        ``S``, pixels.
    weight_radius : float
        Standard deviation of the Gaussian weight, pixels.
    """

    def __init__(self, stamp_size, weight_radius=6.0, **kwargs):
        super().__init__(**kwargs)
        self.stamp_size, self.weight_radius = int(stamp_size), float(weight_radius)
        offset = tf.range(self.stamp_size, dtype=tf.float32) - 0.5 * (self.stamp_size - 1)
        y, x = tf.meshgrid(offset, offset, indexing="ij")
        weight = tf.exp(-0.5 * (x * x + y * y) / self.weight_radius ** 2)
        self.kernels = tf.stack([weight * (x * x - y * y), weight * 2.0 * x * y,
                                 weight * (x * x + y * y)], axis=-1)  # [S, S, 3]

    def call(self, image):
        """Pose of stamps in network units: the dict of :meth:`PoseNetwork.call`, with
        ``strength`` the weighted moments' ellipticity ``|(Q_xx - Q_yy, 2 Q_xy)| /
        |Q_xx + Q_yy|``, clipped to [0, 1]."""
        image = tf.stop_gradient(tf.convert_to_tensor(image, tf.float32))
        q = tf.einsum("bij,ijk->bk", image, self.kernels)
        c, s = q[:, 0], q[:, 1]
        angle = 0.5 * tf.atan2(s, c)
        strength = tf.sqrt(tf.square(c) + tf.square(s)) / (tf.abs(q[:, 2]) + 1e-12)
        return {"cos": tf.cos(angle), "sin": tf.sin(angle), "angle": angle,
                "strength": tf.minimum(strength, 1.0)}


class ClassifierHead(tf_keras.layers.Layer):
    """Two dense layers from the pose-free code to class logits (the paper's classifier).

    Parameters
    ----------
    n_classes : int
    units : int
        Width of the hidden layer.
    activation : str
    seed : int
    """

    def __init__(self, n_classes, units=64, activation="elu", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.n_classes = int(n_classes)
        self.hidden = tf_keras.layers.Dense(
            units, activation=activation, name="hidden",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed))
        self.logits = tf_keras.layers.Dense(
            self.n_classes, name="logits",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + 1))

    def call(self, z):
        """Logits ``[B, n_classes]`` of codes ``[B, L]``."""
        return self.logits(self.hidden(z))
