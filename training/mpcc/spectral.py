"""Spectral normalisation (Miyato et al. 2018) of convolution and dense layers.

A spectrally normalised layer uses the kernel ``W / sigma(W)``, where
``sigma(W)`` is the largest singular value of ``W`` reshaped to a matrix
``[fan_in, units]``.  ``sigma`` is estimated by power iteration: a stored unit
vector ``u`` (``[units]``, not trainable) is refined by one step,
``v = normalise(W u)``, ``u = normalise(W^T v)``, ``sigma = v^T W u``, at
every call in training mode (the refined ``u`` is stored), and used as it is
otherwise.  Gradients flow through ``sigma`` with ``u`` and ``v`` held fixed,
as in Miyato et al.  The discriminator of the MPCC family is built from these
layers, which bounds its Lipschitz constant; with ``mpcc.spectral_norm_all``
(the thesis, section 6.3.3) the generator and the encoder head are too.

Kernels start from :func:`kernel_initializer`: Glorot uniform or the
``N(0, 0.02)`` of BigGAN and the thesis (section 6.3.3).
"""
import tensorflow as tf
import tf_keras

from galsim_deep.core.errors import InputError

__all__ = ["spectral_norm", "SNConv2D", "SNDense", "kernel_initializer", "INIT_CHOICES"]

#: Kernel initialisations of :func:`kernel_initializer`.
INIT_CHOICES = ("normal_0.02", "glorot")


def kernel_initializer(kind, seed):
    """A seeded kernel initialiser: ``'glorot'`` (uniform) or ``'normal_0.02'``, ``N(0, 0.02**2)``.

    Parameters
    ----------
    kind : {'glorot', 'normal_0.02'}
    seed : int

    Returns
    -------
    tf_keras.initializers.Initializer
    """
    if kind == "glorot":
        return tf_keras.initializers.GlorotUniform(seed=seed)
    if kind == "normal_0.02":
        return tf_keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)
    raise InputError(f"unknown initialisation {kind!r}; use one of {list(INIT_CHOICES)}")


def spectral_norm(matrix, u, iterations=1):
    """Power-iteration estimate of the largest singular value of a matrix.

    Parameters
    ----------
    matrix : tf.Tensor
        float32 ``[m, n]``.
    u : tf.Tensor
        float32 ``[n]``, the current estimate of the right singular vector.
    iterations : int
        Power-iteration steps.

    Returns
    -------
    sigma : tf.Tensor
        float32 scalar, ``v^T W u`` with ``u`` and ``v`` held fixed for
        gradients.
    u : tf.Tensor
        float32 ``[n]``, the refined right singular vector.
    """
    for _ in range(int(iterations)):
        v = tf.math.l2_normalize(tf.linalg.matvec(matrix, u))
        u = tf.math.l2_normalize(tf.linalg.matvec(matrix, v, transpose_a=True))
    u = tf.stop_gradient(u)
    v = tf.stop_gradient(tf.math.l2_normalize(tf.linalg.matvec(matrix, u)))
    sigma = tf.tensordot(v, tf.linalg.matvec(matrix, u), 1)
    return sigma, u


class _SpectralMixin:
    def _make_u(self, units, seed):
        self.u = self.add_weight(
            name="u", shape=[units], trainable=False,
            initializer=tf_keras.initializers.RandomNormal(seed=seed + 17))

    def normalised_kernel(self, training=False):
        """The kernel divided by its spectral norm; refines ``u`` when ``training``."""
        matrix = tf.reshape(self.kernel, [-1, self.kernel.shape[-1]])
        sigma, u = spectral_norm(matrix, tf.math.l2_normalize(self.u), self.iterations)
        if training:
            self.u.assign(u)
        return self.kernel / sigma


class SNConv2D(_SpectralMixin, tf_keras.layers.Layer):
    """A 2-d convolution (``'same'`` padding) with a spectrally normalised kernel.

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size : int
        Square kernel side.
    strides : int
        Stride.
    seed : int
        Seeds the kernel initialiser and ``u``.
    iterations : int
        Power-iteration steps per training call.
    init : {'glorot', 'normal_0.02'}
        Kernel initialisation (:func:`kernel_initializer`).
    bias : float
        Initial bias.
    """

    def __init__(self, filters, kernel_size, strides=1, seed=0, iterations=1, init="glorot",
                 bias=0.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.seed = int(seed)
        self.iterations = int(iterations)
        self.init = init
        self.bias_start = float(bias)

    def build(self, input_shape):
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel", shape=[k, k, int(input_shape[-1]), self.filters],
            initializer=kernel_initializer(self.init, self.seed))
        self.bias = self.add_weight(
            name="bias", shape=[self.filters],
            initializer=tf_keras.initializers.Constant(self.bias_start) if self.bias_start
            else "zeros")
        self._make_u(self.filters, self.seed)
        super().build(input_shape)

    def call(self, x, training=False):
        """Convolve ``x`` ``[B, H, W, C]``; ``training`` refines the norm estimate."""
        kernel = self.normalised_kernel(training)
        return tf.nn.conv2d(x, kernel, self.strides, "SAME") + self.bias


class SNDense(_SpectralMixin, tf_keras.layers.Layer):
    """A dense layer with a spectrally normalised kernel.

    Parameters
    ----------
    units : int
        Output size.
    seed : int
        Seeds the kernel initialiser and ``u``.
    iterations : int
        Power-iteration steps per training call.
    init : {'glorot', 'normal_0.02'}
        Kernel initialisation (:func:`kernel_initializer`).
    """

    def __init__(self, units, seed=0, iterations=1, init="glorot", **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.seed = int(seed)
        self.iterations = int(iterations)
        self.init = init

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=[int(input_shape[-1]), self.units],
            initializer=kernel_initializer(self.init, self.seed))
        self.bias = self.add_weight(name="bias", shape=[self.units], initializer="zeros")
        self._make_u(self.units, self.seed)
        super().build(input_shape)

    def call(self, x, training=False):
        """Apply to ``x`` ``[B, fan_in]``; ``training`` refines the norm estimate."""
        return tf.matmul(x, self.normalised_kernel(training)) + self.bias
