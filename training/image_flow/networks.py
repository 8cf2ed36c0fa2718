"""The image flow's pieces: small TensorFlow Probability bijectors on stamps ``[B, H, W, C]``.

Each piece is a :class:`tfp.bijectors.Bijector` whose ``forward`` runs from the flow's
latent side towards the data, with its ``inverse`` and log-determinants, each tested
against a brute-force Jacobian on a tiny input
(``tests/training/image_flow/test_networks.py``):

* :class:`AsinhScale` - the preprocessing, ``x = scale * sinh(y)``: flux per pixel ``x``
  from an unbounded ``y``; linear below ``scale`` (about the noise), logarithmic above,
  so a galaxy's bright core and the sky's noise both reach the couplings at order 1;
* :class:`Squeeze` - ``[H, W, C] <-> [H/2, W/2, 4C]``, each 2x2 block of pixels to 4
  channels (RealNVP's squeeze; its inverse runs towards the data);
* :class:`ActNorm` - Glow's per-channel affine map, ``y = x * exp(log_scale) + shift``,
  initialised from data so each channel leaves it with mean 0 and variance 1;
* :class:`AffineCoupling` - RealNVP's affine coupling: the pixels under the mask pass
  unchanged and set the scale and shift of the others through a small convolutional
  :class:`CouplingNet`, which also sees the catalog conditions as constant channels.

:func:`checkerboard_mask` and :func:`channel_mask` are RealNVP's two masks.  Each bijector
also has ``forward_and_log_det`` and ``inverse_and_log_det``, the map and its
log-determinant (summed over the event, ``[B]``) from one pass of its network, which the
model uses (TensorFlow Probability's ``forward`` and ``forward_log_det_jacobian`` would run
the network twice); they equal the TensorFlow Probability methods (tested).
"""
import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfb = tfp.bijectors

__all__ = ["AsinhScale", "Squeeze", "ActNorm", "AffineCoupling", "CouplingNet",
           "checkerboard_mask", "channel_mask", "log_cosh"]


def log_cosh(y):
    """``log(cosh(y))`` without overflow: ``|y| + log1p(exp(-2|y|)) - log 2``."""
    a = tf.abs(y)
    return a + tf.math.softplus(-2.0 * a) - math.log(2.0)


def _event_sum(t):
    return tf.reduce_sum(t, axis=[-3, -2, -1])


class AsinhScale(tfb.Bijector):
    """``x = scale * sinh(y)`` elementwise: the stamp ``x`` (flux per pixel) from ``y``.

    ``y = asinh(x / scale)`` is unbounded and of order 1 for the noise when ``scale`` is
    about the noise's standard deviation; ``log |dx/dy| = log(scale) + log(cosh(y))`` per
    pixel, so a density of ``y`` becomes one of the stamp in its own units.

    Parameters
    ----------
    scale : tf.Variable or float
        Flux per pixel (the training stamps' typical noise standard deviation times the
        recipe's ``asinh_softening``); read at each call, so a variable set after
        construction (on a run's first step) is used.
    """

    def __init__(self, scale, name="asinh_scale"):
        with tf.name_scope(name) as name:
            self.scale = scale
            super().__init__(forward_min_event_ndims=0, is_constant_jacobian=False,
                             validate_args=False, name=name)

    def _scale(self):
        return tf.convert_to_tensor(self.scale, tf.float32)

    def _forward(self, y):
        return self._scale() * tf.sinh(y)

    def _inverse(self, x):
        return tf.asinh(x / self._scale())

    def _forward_log_det_jacobian(self, y):
        return tf.math.log(self._scale()) + log_cosh(y)

    def forward_and_log_det(self, y, conditions=None):
        """``x`` and ``log |dx/dy|`` summed over the last three axes."""
        return self._forward(y), _event_sum(self._forward_log_det_jacobian(y))

    def inverse_and_log_det(self, x, conditions=None):
        """``y`` and ``log |dy/dx|`` summed over the last three axes."""
        y = self._inverse(x)
        return y, -_event_sum(self._forward_log_det_jacobian(y))


class Squeeze(tfb.Bijector):
    """``[.., H, W, C] -> [.., H/2, W/2, 4C]`` forward: each 2x2 block of pixels to channels
    ``(dy, dx, c)`` row-major (volume-preserving, log-determinant 0)."""

    def __init__(self, name="squeeze"):
        with tf.name_scope(name) as name:
            super().__init__(forward_min_event_ndims=3, inverse_min_event_ndims=3,
                             is_constant_jacobian=True, validate_args=False, name=name)

    def _forward(self, x):
        s = tf.shape(x)
        h, w, c = s[-3], s[-2], x.shape[-1]
        t = tf.reshape(x, [-1, h // 2, 2, w // 2, 2, c])
        t = tf.transpose(t, [0, 1, 3, 2, 4, 5])
        return tf.reshape(t, tf.concat([s[:-3], [h // 2, w // 2, 4 * c]], 0))

    def _inverse(self, y):
        s = tf.shape(y)
        h, w, c = s[-3], s[-2], y.shape[-1] // 4
        t = tf.reshape(y, [-1, h, w, 2, 2, c])
        t = tf.transpose(t, [0, 1, 3, 2, 4, 5])
        return tf.reshape(t, tf.concat([s[:-3], [2 * h, 2 * w, c]], 0))

    def _forward_log_det_jacobian(self, x):
        return tf.zeros([], x.dtype)

    def _forward_event_shape(self, shape):
        if shape.rank is None or None in shape[-3:]:
            return shape[:-3].concatenate([None, None, None])
        h, w, c = shape[-3:]
        return shape[:-3].concatenate([h // 2, w // 2, 4 * c])

    def _inverse_event_shape(self, shape):
        if shape.rank is None or None in shape[-3:]:
            return shape[:-3].concatenate([None, None, None])
        h, w, c = shape[-3:]
        return shape[:-3].concatenate([2 * h, 2 * w, c // 4])

    def _forward_event_shape_tensor(self, shape):
        return tf.concat([shape[:-3], [shape[-3] // 2, shape[-2] // 2, 4 * shape[-1]]], 0)

    def _inverse_event_shape_tensor(self, shape):
        return tf.concat([shape[:-3], [2 * shape[-3], 2 * shape[-2], shape[-1] // 4]], 0)

    def forward_and_log_det(self, x, conditions=None):
        """The squeezed ``x`` and a log-determinant of 0 per row."""
        return self._forward(x), tf.zeros(tf.shape(x)[:1], x.dtype)

    def inverse_and_log_det(self, y, conditions=None):
        """The unsqueezed ``y`` and a log-determinant of 0 per row."""
        return self._inverse(y), tf.zeros(tf.shape(y)[:1], y.dtype)


class ActNorm(tfb.Bijector):
    """Glow's activation normalisation: ``y = x * exp(log_scale) + shift`` per channel.

    Starts as the identity; :meth:`initialize_from` sets it from a batch (Glow's
    data-dependent initialisation), so that the batch leaves it with per-channel mean 0
    and variance 1.

    Parameters
    ----------
    channels : int
    """

    def __init__(self, channels, name="actnorm"):
        with tf.name_scope(name) as name:
            self.log_scale = tf.Variable(tf.zeros([channels]), name="log_scale")
            self.shift = tf.Variable(tf.zeros([channels]), name="shift")
            super().__init__(forward_min_event_ndims=0, is_constant_jacobian=True,
                             validate_args=False, name=name)

    def _forward(self, x):
        return x * tf.exp(self.log_scale) + self.shift

    def _inverse(self, y):
        return (y - self.shift) * tf.exp(-self.log_scale)

    def _forward_log_det_jacobian(self, x):
        return tf.broadcast_to(self.log_scale, tf.shape(x))

    def initialize_from(self, y):
        """Set the map so that the data ``y`` (``[B, H, W, C]``, on the data side) reach the
        latent side with per-channel mean 0 and variance 1; returns the mapped ``y``."""
        mean, var = tf.nn.moments(y, axes=[0, 1, 2])
        std = tf.sqrt(var + 1e-6)
        # The data side is the forward's output: x = (y - shift) / exp(log_scale).
        self.log_scale.assign(tf.math.log(std))
        self.shift.assign(mean)
        return self._inverse(y)

    def forward_and_log_det(self, x, conditions=None):
        """``y`` and ``log |dy/dx|`` per row (``H * W * sum(log_scale)``)."""
        pixels = tf.cast(tf.reduce_prod(tf.shape(x)[-3:-1]), x.dtype)
        return self._forward(x), tf.fill(tf.shape(x)[:1], pixels * tf.reduce_sum(self.log_scale))

    def inverse_and_log_det(self, y, conditions=None):
        """``x`` and ``log |dx/dy|`` per row."""
        pixels = tf.cast(tf.reduce_prod(tf.shape(y)[-3:-1]), y.dtype)
        return self._inverse(y), tf.fill(tf.shape(y)[:1],
                                         -pixels * tf.reduce_sum(self.log_scale))


def checkerboard_mask(height, width, channels, parity=0):
    """float32 ``[H, W, C]``: 1 where ``(i + j) % 2 == parity`` (the pixels kept), else 0."""
    i, j = np.mgrid[:height, :width]
    mask = ((i + j) % 2 == parity).astype(np.float32)
    return np.repeat(mask[:, :, None], channels, axis=2)


def channel_mask(height, width, channels, parity=0):
    """float32 ``[H, W, C]``: 1 on the first half of the channels (``parity`` 0) or the
    second (1)."""
    mask = np.zeros((height, width, channels), np.float32)
    half = channels // 2
    mask[:, :, :half] = 1.0
    return mask if parity == 0 else 1.0 - mask


def _glorot(shape, seed):
    fan_in, fan_out = np.prod(shape[:-1]), shape[-1] * shape[0] * shape[1]
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return tf.random.stateless_uniform(shape, seed=[int(seed), 0], minval=-limit, maxval=limit)


class CouplingNet(tf.Module):
    """The network of an affine coupling: ``[B, H, W, C_in] -> [B, H, W, 2C]`` (raw log-scale,
    shift).

    A 3x3 convolution to ``width`` channels, ``hidden_layers - 1`` more 3x3 convolutions of
    ``width`` channels, each followed by a ReLU, and a 3x3 convolution to ``2 * channels``
    whose weights start at zero (a new coupling is the identity, as in Glow).

    Parameters
    ----------
    in_channels, channels : int
        Input channels (the masked stamp, the mask, the conditions); the coupled channels.
    width, hidden_layers : int
    seed : int
        Seeds the initial weights.
    """

    def __init__(self, in_channels, channels, width, hidden_layers, seed, name="coupling_net"):
        super().__init__(name=name)
        self.kernels, self.biases = [], []
        sizes = [in_channels] + [width] * hidden_layers
        for k in range(hidden_layers):
            self.kernels.append(tf.Variable(_glorot([3, 3, sizes[k], sizes[k + 1]], seed + k),
                                            name=f"kernel_{k}"))
            self.biases.append(tf.Variable(tf.zeros([sizes[k + 1]]), name=f"bias_{k}"))
        self.out_kernel = tf.Variable(tf.zeros([3, 3, width, 2 * channels]), name="out_kernel")
        self.out_bias = tf.Variable(tf.zeros([2 * channels]), name="out_bias")

    def __call__(self, h):
        for kernel, bias in zip(self.kernels, self.biases):
            h = tf.nn.relu(tf.nn.conv2d(h, kernel, 1, "SAME") + bias)
        return tf.nn.conv2d(h, self.out_kernel, 1, "SAME") + self.out_bias


class AffineCoupling(tfb.Bijector):
    """RealNVP's affine coupling with a fixed mask, optionally conditioned.

    Forward (towards the data): ``y = x * exp(s) + t`` on the pixels outside the mask, with
    ``(s, t)`` from :class:`CouplingNet` of ``[x * mask, mask, conditions]`` and
    ``s = log_scale_max * tanh(raw / log_scale_max)`` (bounded, for stable training); the
    pixels under the mask pass unchanged.  ``log |dy/dx| = sum(s)`` over the unmasked
    pixels.  The ``conditions`` keyword (``[B, K]``, standardised) is broadcast to ``K``
    constant channels.

    Parameters
    ----------
    mask : ndarray [H, W, C]
        1 on the pixels kept (:func:`checkerboard_mask`, :func:`channel_mask`).
    n_conditions, width, hidden_layers : int
        The network's condition channels and size.
    log_scale_max : float
        Bound on ``|s|`` (nats per pixel).
    seed : int
    """

    def __init__(self, mask, n_conditions, width, hidden_layers, log_scale_max, seed,
                 name="affine_coupling"):
        with tf.name_scope(name) as name:
            self.mask = tf.constant(mask, tf.float32)
            self.n_conditions = int(n_conditions)
            self.log_scale_max = float(log_scale_max)
            channels = int(mask.shape[-1])
            self.net = CouplingNet(2 * channels + self.n_conditions, channels, width,
                                   hidden_layers, seed)
            super().__init__(forward_min_event_ndims=3, is_constant_jacobian=False,
                             validate_args=False, name=name)

    def _shift_and_log_scale(self, kept, conditions):
        inputs = [kept, tf.broadcast_to(self.mask, tf.shape(kept))]
        if self.n_conditions:
            ones = tf.ones_like(kept[..., :1])
            inputs.append(ones * tf.cast(conditions, kept.dtype)[:, None, None, :])
        raw = self.net(tf.concat(inputs, axis=-1))
        raw_s, t = tf.split(raw, 2, axis=-1)
        s = self.log_scale_max * tf.tanh(raw_s / self.log_scale_max)
        free = 1.0 - self.mask
        return s * free, t * free

    def forward_and_log_det(self, x, conditions=None):
        """``y`` and ``log |dy/dx|`` per row, from one pass of the network."""
        s, t = self._shift_and_log_scale(x * self.mask, conditions)
        return x * tf.exp(s) + t, _event_sum(s)

    def inverse_and_log_det(self, y, conditions=None):
        """``x`` and ``log |dx/dy|`` per row, from one pass of the network."""
        s, t = self._shift_and_log_scale(y * self.mask, conditions)
        return (y - t) * tf.exp(-s), -_event_sum(s)

    def _forward(self, x, conditions=None):
        return self.forward_and_log_det(x, conditions)[0]

    def _inverse(self, y, conditions=None):
        return self.inverse_and_log_det(y, conditions)[0]

    def _forward_log_det_jacobian(self, x, conditions=None):
        return self.forward_and_log_det(x, conditions)[1]

    def _inverse_log_det_jacobian(self, y, conditions=None):
        return self.inverse_and_log_det(y, conditions)[1]
