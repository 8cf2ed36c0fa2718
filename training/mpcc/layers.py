"""The layers the MPCC networks are built from: batch norms and residual blocks.

:mod:`galsim_deep.training.mpcc.networks` assembles the generator, the
discriminator / encoder trunk and their heads from these:

* :class:`StandingBatchNorm` - batch normalisation with *standing statistics*
  (set after training by
  :func:`~galsim_deep.training.mpcc.networks.accumulate_standing_statistics`,
  as BigGAN does); :class:`ConditionalBatchNorm`, whose gain and bias are
  learned embeddings of the cluster ``y``, and :class:`LinearConditionalBatchNorm`,
  whose gain and bias are linear maps of a condition vector (``[z, E(y)]``);
* :class:`UpBlock` - the generator's residual block that doubles the
  resolution; :class:`DownBlock` - the pre-activation residual block of the
  discriminator and encoder, optionally halving it;
* :func:`activation_function`, :func:`conv_layer` and :func:`dense_layer` -
  an activation by name, and convolutions and dense layers, spectrally
  normalised (:mod:`~galsim_deep.training.mpcc.spectral`) or not, with the
  chosen kernel initialisation.

The five layer classes are re-exported by
:mod:`galsim_deep.training.mpcc.networks`.
"""
import tensorflow as tf
import tf_keras

from .spectral import SNConv2D, SNDense, kernel_initializer

__all__ = ["StandingBatchNorm", "ConditionalBatchNorm", "LinearConditionalBatchNorm",
           "UpBlock", "DownBlock", "activation_function", "conv_layer", "dense_layer"]


def activation_function(name):
    """The activation called ``name`` (a Keras name, or ``'leaky_relu'`` with slope 0.2)."""
    if name == "leaky_relu":
        return lambda x: tf.nn.leaky_relu(x, 0.2)
    return tf_keras.activations.get(name)


def conv_layer(depth, kernel, seed, spectral, name=None, init="glorot", bias=0.0):
    """A ``kernel x kernel`` 'same' convolution to ``depth`` channels: spectrally normalised
    (:class:`~galsim_deep.training.mpcc.spectral.SNConv2D`) or not, kernels initialised by
    ``init`` and ``seed``, bias starting at ``bias``."""
    if spectral:
        return SNConv2D(depth, kernel, seed=seed, name=name, init=init, bias=bias)
    return tf_keras.layers.Conv2D(
        depth, kernel, padding="same", name=name,
        kernel_initializer=kernel_initializer(init, seed),
        bias_initializer=tf_keras.initializers.Constant(bias) if bias else "zeros")


def dense_layer(units, seed, spectral, name=None, init="glorot"):
    """A dense layer of ``units``: spectrally normalised
    (:class:`~galsim_deep.training.mpcc.spectral.SNDense`) or not, kernels initialised by
    ``init`` and ``seed``."""
    if spectral:
        return SNDense(units, seed=seed, name=name, init=init)
    return tf_keras.layers.Dense(units, name=name,
                                 kernel_initializer=kernel_initializer(init, seed))


class StandingBatchNorm(tf_keras.layers.Layer):
    """Batch normalisation over all but the channel axis, with standing statistics.

    In training the batch's mean and variance normalise it; otherwise the
    stored ``mean`` and ``variance`` do.  Those are not running averages:
    :func:`accumulate_standing_statistics` sets them to the average batch
    statistics of many generator batches at once, after training.

    Parameters
    ----------
    epsilon : float
        Added to the variance.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        object.__setattr__(self, "_collected", None)  # not tracked by Keras

    def build(self, input_shape):
        c = int(input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=[c], initializer="ones")
        self.beta = self.add_weight(name="beta", shape=[c], initializer="zeros")
        self.add_standing_statistics(c)
        super().build(input_shape)

    def add_standing_statistics(self, channels):
        """Create the (untrained) ``mean`` and ``variance`` of ``channels`` channels."""
        self.mean = self.add_weight(name="mean", shape=[channels], initializer="zeros",
                                    trainable=False)
        self.variance = self.add_weight(name="variance", shape=[channels], initializer="ones",
                                        trainable=False)

    def statistics(self, x, training=False):
        """Per-channel mean and variance: of the batch ``x`` (``training``; recorded while
        standing statistics are collected) or the standing ones."""
        if not training:
            return self.mean, self.variance
        mean, variance = tf.nn.moments(x, axes=list(range(len(x.shape) - 1)))
        if self._collected is not None:
            self._collected.append((mean, variance))
        return mean, variance

    def call(self, x, training=False):
        """Normalise ``x`` ``[..., C]`` with batch (``training``) or standing statistics."""
        mean, variance = self.statistics(x, training)
        return tf.nn.batch_normalization(x, mean, variance, self.beta, self.gamma, self.epsilon)

    def modulate(self, x, gain, bias, training=False):
        """Normalise ``x`` ``[B, ..., C]`` (batch or standing statistics), then scale each
        row by its own ``gain`` and shift it by its own ``bias`` (both ``[B, C]``): the
        conditional batch norms' output."""
        mean, variance = self.statistics(x, training)
        shape = tf.concat([tf.shape(gain)[:1], tf.ones([len(x.shape) - 2], tf.int32), [-1]], 0)
        return ((x - mean) * tf.math.rsqrt(variance + self.epsilon) * tf.reshape(gain, shape)
                + tf.reshape(bias, shape))


class ConditionalBatchNorm(StandingBatchNorm):
    """Batch normalisation whose gain and bias depend on the cluster (de Vries et al. 2017).

    ``out = (x - mean) / sqrt(variance + epsilon) * (1 + G[y]) + B[y]``, with
    ``G`` and ``B`` learned embeddings ``[K, C]`` of the cluster, one pair
    per layer (Astorga 2021, section 8.1.4, third method; BigGAN's gain
    ``1 + embedding``).  The statistics are those of the whole batch (in
    training) or the standing ones, as :class:`StandingBatchNorm`; with every
    row of ``G`` equal to ``g`` and of ``B`` equal to ``b`` it is that layer
    with ``gamma = 1 + g`` and ``beta = b``.

    Parameters
    ----------
    n_clusters : int
        ``K``.
    init : {'normal_0.02', 'glorot'}
        ``'normal_0.02'``: the embeddings start as ``N(0, 0.02**2)`` draws;
        otherwise at zero (plain batch norm at the start).
    seed : int
    epsilon : float
    """

    def __init__(self, n_clusters, init="normal_0.02", seed=0, epsilon=1e-5, **kwargs):
        super().__init__(epsilon=epsilon, **kwargs)
        self.n_clusters = int(n_clusters)
        self.init = init
        self.seed = int(seed)

    def build(self, input_shape):
        c = int(input_shape[-1])
        k = self.n_clusters

        def start(offset):
            if self.init == "normal_0.02":
                return tf_keras.initializers.RandomNormal(stddev=0.02, seed=self.seed + offset)
            return "zeros"

        self.gain = self.add_weight(name="gain_embedding", shape=[k, c], initializer=start(0))
        self.bias = self.add_weight(name="bias_embedding", shape=[k, c], initializer=start(1))
        self.add_standing_statistics(c)
        tf_keras.layers.Layer.build(self, input_shape)

    def gain_and_bias(self, y):
        """``1 + G[y]`` and ``B[y]``, float32 ``[B, C]`` each, of clusters ``y`` ``[B]``."""
        y = tf.convert_to_tensor(y, tf.int32)
        return 1.0 + tf.gather(self.gain, y), tf.gather(self.bias, y)

    def call(self, x, y, training=False):
        """Normalise ``x`` ``[B, ..., C]`` with the gains and biases of clusters ``y`` ``[B]``."""
        return self.modulate(x, *self.gain_and_bias(y), training=training)


class LinearConditionalBatchNorm(StandingBatchNorm):
    """Batch normalisation whose gain and bias are linear maps of a condition vector.

    ``out = (x - mean) / sqrt(variance + epsilon) * (1 + c W_g) + c W_b``, with
    ``c`` ``[B, D]`` the condition of each row and ``W_g``, ``W_b`` ``[D, C]``
    this layer's own maps (no bias terms).  In the MPCC generator ``c = [z,
    E(y)]``, the whole latent code beside one embedding of the cluster shared by
    every layer (Astorga 2021, section 8.1.4, second method; BigGAN's shared
    embedding with the hierarchical latent, all of ``z`` in every block), so the
    gains depend on ``z`` as well as on ``y``, unlike
    :class:`ConditionalBatchNorm`'s.  Both maps start at zero: the layer starts
    as plain batch norm (``gamma = 1``, ``beta = 0``), whatever ``c``.  The
    statistics are those of :class:`StandingBatchNorm`.

    Parameters
    ----------
    condition_size : int
        ``D``.
    epsilon : float
    """

    def __init__(self, condition_size, epsilon=1e-5, **kwargs):
        super().__init__(epsilon=epsilon, **kwargs)
        self.condition_size = int(condition_size)

    def build(self, input_shape):
        c, d = int(input_shape[-1]), self.condition_size
        self.gain_map = self.add_weight(name="gain_map", shape=[d, c], initializer="zeros")
        self.bias_map = self.add_weight(name="bias_map", shape=[d, c], initializer="zeros")
        self.add_standing_statistics(c)
        tf_keras.layers.Layer.build(self, input_shape)

    def gain_and_bias(self, condition):
        """``1 + c W_g`` and ``c W_b``, float32 ``[B, C]`` each, of conditions ``c``
        ``[B, D]``."""
        c = tf.convert_to_tensor(condition, tf.float32)
        return 1.0 + tf.matmul(c, self.gain_map), tf.matmul(c, self.bias_map)

    def call(self, x, condition, training=False):
        """Normalise ``x`` ``[B, ..., C]`` with the gains and biases of conditions
        ``[B, D]``."""
        return self.modulate(x, *self.gain_and_bias(condition), training=training)


class UpBlock(tf_keras.layers.Layer):
    """Generator residual block that doubles the resolution (BigGAN style).

    Parameters
    ----------
    depth : int
        Output channels.
    activation : str
        Activation name.
    seed : int
        Seeds the initialisers.
    n_clusters : int, optional
        With a number, both batch norms are :class:`ConditionalBatchNorm` on
        the cluster.
    condition_size : int, optional
        With a number (and no ``n_clusters``), both batch norms are
        :class:`LinearConditionalBatchNorm` on a condition vector of this size;
        with neither, plain :class:`StandingBatchNorm`.
    spectral : bool
        Spectrally normalised convolutions.
    init : {'glorot', 'normal_0.02'}
        Kernel (and conditional-batch-norm embedding) initialisation.
    """

    def __init__(self, depth, activation="relu", seed=0, n_clusters=None, spectral=False,
                 init="glorot", condition_size=None, **kwargs):
        super().__init__(**kwargs)
        self.act = activation_function(activation)
        self.conditional = n_clusters is not None or condition_size is not None
        if n_clusters is not None:
            self.bn1 = ConditionalBatchNorm(n_clusters, init, seed + 3, name="bn1")
            self.bn2 = ConditionalBatchNorm(n_clusters, init, seed + 5, name="bn2")
        elif condition_size is not None:
            self.bn1 = LinearConditionalBatchNorm(condition_size, name="bn1")
            self.bn2 = LinearConditionalBatchNorm(condition_size, name="bn2")
        else:
            self.bn1 = StandingBatchNorm(name="bn1")
            self.bn2 = StandingBatchNorm(name="bn2")
        self.conv1 = conv_layer(depth, 3, seed, spectral, name="conv1", init=init)
        self.conv2 = conv_layer(depth, 3, seed + 1, spectral, name="conv2", init=init)
        self.shortcut = conv_layer(depth, 1, seed + 2, spectral, name="shortcut", init=init)
        self.up = tf_keras.layers.UpSampling2D(2, interpolation="nearest")

    def _norm(self, bn, x, y, training):
        return bn(x, y, training=training) if self.conditional else bn(x, training=training)

    def call(self, x, y=None, training=False, refine=False):
        """``[B, H, W, C]`` (condition ``y`` of the batch norms: clusters ``[B]`` or
        vectors ``[B, D]``) -> ``[B, 2H, 2W, depth]``.

        ``training``: batch statistics in batch norm; ``refine``: refine the
        spectral-norm estimates (spectral convolutions only).
        """
        h = self.up(self.act(self._norm(self.bn1, x, y, training)))
        h = self.conv1(h, training=refine)
        h = self.conv2(self.act(self._norm(self.bn2, h, y, training)), training=refine)
        return h + self.shortcut(self.up(x), training=refine)


class DownBlock(tf_keras.layers.Layer):
    """Pre-activation residual block of the discriminator / encoder, optionally halving.

    ``x -> conv3(act(conv3(act(x))))`` (average-pooled x2 when ``down``) plus a
    shortcut (1x1 convolution, pooled when ``down``; the identity when the
    depth is unchanged and nothing is pooled).

    Parameters
    ----------
    depth : int
        Output channels.
    down : bool
        Halve the resolution.
    spectral : bool
        Spectrally normalised convolutions (discriminator side) or ordinary
        ones (encoder head).
    activation : str
        Activation name.
    seed : int
        Seeds the initialisers.
    init : {'glorot', 'normal_0.02'}
        Kernel initialisation.
    """

    def __init__(self, depth, down=True, spectral=True, activation="relu", seed=0,
                 init="glorot", **kwargs):
        super().__init__(**kwargs)
        self.depth = int(depth)
        self.down = bool(down)
        self.act = activation_function(activation)
        self.init = init
        self.conv1 = conv_layer(depth, 3, seed, spectral, name="conv1", init=init)
        self.conv2 = conv_layer(depth, 3, seed + 1, spectral, name="conv2", init=init)
        self.spectral = spectral
        self.shortcut = None
        self._seed = seed
        self.pool = tf_keras.layers.AveragePooling2D(2)

    def build(self, input_shape):
        if int(input_shape[-1]) != self.depth or self.down:
            self.shortcut = conv_layer(self.depth, 1, self._seed + 2, self.spectral,
                                       name="shortcut", init=self.init)
        super().build(input_shape)

    def call(self, x, training=False):
        """``[B, H, W, C]`` -> ``[B, H', W', depth]`` (``H' = H/2`` when ``down``)."""
        h = self.conv1(self.act(x), training=training)
        h = self.conv2(self.act(h), training=training)
        skip = x if self.shortcut is None else self.shortcut(x, training=training)
        if self.down:
            h, skip = self.pool(h), self.pool(skip)
        return h + skip
