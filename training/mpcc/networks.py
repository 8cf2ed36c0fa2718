"""Generator, discriminator and encoder of the MPCC family (BigGAN-like residual networks).

With ``n`` stages on ``S x S`` stamps and depths ``d(i) = min(base_depth * 2**i,
max_depth)`` (:func:`~galsim_deep.training.resnet.stage_depths`):

Generator ``p(x | z, y)``::

    [z, embedding(y)]  (latent_size + embedding_size)
      -> dense -> [S / 2**n, S / 2**n, d(n)]
      -> n up-blocks (batch norm, activation, x2 nearest upsampling, 3x3
         convolution, batch norm, activation, 3x3 convolution, plus an
         upsampled 1x1 shortcut), depth d(i+1) -> d(i)
      -> batch norm, activation, 1x1 convolution, softplus  -> [S, S] >= 0

The output is the unconvolved, noise-free light profile in network units
(``flux_scale`` flux per pixel).  Batch norm uses the batch's statistics in
training and stored *standing statistics* otherwise
(:class:`StandingBatchNorm`; set by :func:`accumulate_standing_statistics`
before export, as BigGAN does).

Discriminator and encoder share a trunk.  The input is the observed stamp
and its PSF as two channels; a spectrally normalised 1x1 convolution embeds
them into ``d(0)`` channels, then come ``n + 1`` pre-activation residual
blocks: ``n`` that halve the resolution and double the depth, and a last one
at the bottom resolution.  The first ``shared_blocks`` (3) blocks form the
:class:`Trunk`, used by both heads:

* :class:`DiscriminatorHead` - the remaining blocks (spectrally normalised),
  activation, sum over pixels, spectrally normalised dense -> one logit;
* :class:`EncoderHead` - its own copy of the remaining blocks (ordinary
  convolutions), activation, dense -> mean and standard deviation of the
  Gaussian ``q(z | x)``, as the Flow-VAE encoder.
"""
import tensorflow as tf
import tf_keras

from galsim_deep.training.resnet import stage_depths
from .spectral import SNConv2D, SNDense
from galsim_deep.errors import InputError

__all__ = ["StandingBatchNorm", "UpBlock", "DownBlock", "Generator", "Trunk",
           "DiscriminatorHead", "EncoderHead", "accumulate_standing_statistics"]


def _activation(name):
    if name == "leaky_relu":
        return lambda x: tf.nn.leaky_relu(x, 0.2)
    return tf_keras.activations.get(name)


def _conv(depth, kernel, seed, spectral, name=None):
    if spectral:
        return SNConv2D(depth, kernel, seed=seed, name=name)
    return tf_keras.layers.Conv2D(
        depth, kernel, padding="same", name=name,
        kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed))


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
        self.mean = self.add_weight(name="mean", shape=[c], initializer="zeros",
                                    trainable=False)
        self.variance = self.add_weight(name="variance", shape=[c], initializer="ones",
                                        trainable=False)
        super().build(input_shape)

    def call(self, x, training=False):
        """Normalise ``x`` ``[..., C]`` with batch (``training``) or standing statistics."""
        if training:
            axes = list(range(len(x.shape) - 1))
            mean, variance = tf.nn.moments(x, axes=axes)
            if self._collected is not None:
                self._collected.append((mean, variance))
        else:
            mean, variance = self.mean, self.variance
        return tf.nn.batch_normalization(x, mean, variance, self.beta, self.gamma, self.epsilon)


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
    """

    def __init__(self, depth, activation="relu", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.act = _activation(activation)
        self.bn1 = StandingBatchNorm(name="bn1")
        self.bn2 = StandingBatchNorm(name="bn2")
        self.conv1 = _conv(depth, 3, seed, False, name="conv1")
        self.conv2 = _conv(depth, 3, seed + 1, False, name="conv2")
        self.shortcut = _conv(depth, 1, seed + 2, False, name="shortcut")
        self.up = tf_keras.layers.UpSampling2D(2, interpolation="nearest")

    def call(self, x, training=False):
        """``[B, H, W, C]`` -> ``[B, 2H, 2W, depth]``."""
        h = self.up(self.act(self.bn1(x, training=training)))
        h = self.conv1(h)
        h = self.conv2(self.act(self.bn2(h, training=training)))
        return h + self.shortcut(self.up(x))


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
    """

    def __init__(self, depth, down=True, spectral=True, activation="relu", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.depth = int(depth)
        self.down = bool(down)
        self.act = _activation(activation)
        self.conv1 = _conv(depth, 3, seed, spectral, name="conv1")
        self.conv2 = _conv(depth, 3, seed + 1, spectral, name="conv2")
        self.spectral = spectral
        self.shortcut = None
        self._seed = seed
        self.pool = tf_keras.layers.AveragePooling2D(2)

    def build(self, input_shape):
        if int(input_shape[-1]) != self.depth or self.down:
            self.shortcut = _conv(self.depth, 1, self._seed + 2, self.spectral, name="shortcut")
        super().build(input_shape)

    def call(self, x, training=False):
        """``[B, H, W, C]`` -> ``[B, H', W', depth]`` (``H' = H/2`` when ``down``)."""
        h = self.conv1(self.act(x), training=training)
        h = self.conv2(self.act(h), training=training)
        skip = x if self.shortcut is None else self.shortcut(x, training=training)
        if self.down:
            h, skip = self.pool(h), self.pool(skip)
        return h + skip


def _block_plan(n_stages, base_depth, max_depth):
    """(depth, down) of the ``n_stages + 1`` discriminator blocks."""
    depths = stage_depths(n_stages, base_depth, max_depth)
    return [(depths[i + 1], True) for i in range(n_stages)] + [(depths[-1], False)]


class Generator(tf_keras.layers.Layer):
    """``G(z, y)``: the unconvolved light profile of latent code ``z`` in cluster ``y``.

    Parameters
    ----------
    stamp_size : int
        ``S``, pixels; a multiple of ``2**n_stages``.
    latent_size, n_clusters, embedding_size : int
        Sizes of ``z``, of the number of clusters and of the learned
        embedding of ``y``.
    n_stages, base_depth, max_depth : int
        Network sizes.
    activation : str
        Activation name.
    seed : int
        Seeds the initialisers.
    output_bias : float
        Initial bias before the softplus (a faint flat start).
    """

    def __init__(self, stamp_size, latent_size, n_clusters, embedding_size, n_stages,
                 base_depth=16, max_depth=64, activation="relu", seed=0, output_bias=-4.0,
                 **kwargs):
        super().__init__(**kwargs)
        if stamp_size % 2 ** n_stages:
            raise InputError(f"stamp_size {stamp_size} is not a multiple of 2**n_stages = "
                             f"{2 ** n_stages}; use fewer stages or another stamp size")
        self.depths = stage_depths(n_stages, base_depth, max_depth)
        self.bottom = stamp_size // 2 ** n_stages
        self.act = _activation(activation)
        self.embedding = self.add_weight(
            name="cluster_embedding", shape=[int(n_clusters), int(embedding_size)],
            initializer=tf_keras.initializers.RandomNormal(stddev=1.0, seed=seed + 3))
        self.dense = tf_keras.layers.Dense(
            self.bottom * self.bottom * self.depths[-1], name="dense",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + 4))
        self.blocks = [UpBlock(self.depths[i], activation, seed + 10 * (i + 1),
                               name=f"up{i}") for i in reversed(range(n_stages))]
        self.bn = StandingBatchNorm(name="bn_out")
        self.out = tf_keras.layers.Conv2D(
            1, 1, name="profile",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + 5),
            bias_initializer=tf_keras.initializers.Constant(output_bias))

    def call(self, z, y, training=False):
        """Generate profiles.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[B, latent_size]``.
        y : tf.Tensor
            int32 ``[B]`` clusters.
        training : bool
            Batch statistics (training) or standing statistics in batch norm.

        Returns
        -------
        tf.Tensor
            float32 ``[B, S, S]`` >= 0, network units.
        """
        e = tf.gather(self.embedding, tf.convert_to_tensor(y, tf.int32))
        h = self.dense(tf.concat([tf.convert_to_tensor(z, tf.float32), e], axis=-1))
        h = tf.reshape(h, [-1, self.bottom, self.bottom, self.depths[-1]])
        for block in self.blocks:
            h = block(h, training=training)
        h = self.out(self.act(self.bn(h, training=training)))
        return tf.nn.softplus(h)[..., 0]

    def batch_norms(self):
        """Every :class:`StandingBatchNorm` of the generator, in a fixed order."""
        out = []
        for block in self.blocks:
            out += [block.bn1, block.bn2]
        return out + [self.bn]


def accumulate_standing_statistics(generator, batches):
    """Set the generator's batch-norm statistics to their average over batches.

    Parameters
    ----------
    generator : Generator
    batches : iterable of (z, y)
        Inputs the generator is run on in training mode (eagerly).

    Returns
    -------
    int
        The number of batches averaged.
    """
    norms = generator.batch_norms()
    for bn in norms:
        object.__setattr__(bn, "_collected", [])
    count = 0
    try:
        for z, y in batches:
            generator(z, y, training=True)
            count += 1
        if count == 0:
            raise InputError("accumulate_standing_statistics needs at least one batch")
        for bn in norms:
            means, variances = zip(*bn._collected)
            bn.mean.assign(tf.add_n(list(means)) / len(means))
            bn.variance.assign(tf.add_n(list(variances)) / len(variances))
    finally:
        for bn in norms:
            object.__setattr__(bn, "_collected", None)
    return count


class Trunk(tf_keras.layers.Layer):
    """The input embedding and the residual blocks shared by discriminator and encoder.

    Parameters
    ----------
    n_stages, base_depth, max_depth : int
        Network sizes (``n_stages + 1`` blocks in all).
    shared_blocks : int
        How many of the first blocks the trunk holds (3 in Astorga 2021).
    activation : str
    seed : int
    """

    def __init__(self, n_stages, base_depth=16, max_depth=64, shared_blocks=3,
                 activation="relu", seed=0, **kwargs):
        super().__init__(**kwargs)
        plan = _block_plan(n_stages, base_depth, max_depth)
        if shared_blocks > len(plan):
            raise InputError(f"shared_blocks {shared_blocks} is more than the {len(plan)} "
                             f"residual blocks of {n_stages} stages; lower it")
        self.embed = SNConv2D(base_depth, 1, seed=seed, name="embed")
        self.blocks = [DownBlock(d, down, True, activation, seed + 10 * (i + 1), name=f"block{i}")
                       for i, (d, down) in enumerate(plan[:shared_blocks])]

    def call(self, x, training=False):
        """``[B, S, S, 2]`` network input -> shared features."""
        h = self.embed(x, training=training)
        for block in self.blocks:
            h = block(h, training=training)
        return h


class DiscriminatorHead(tf_keras.layers.Layer):
    """The discriminator's own blocks after the trunk and its logit (spectrally normalised).

    Parameters
    ----------
    n_stages, base_depth, max_depth, shared_blocks, activation, seed
        As for :class:`Trunk`.
    """

    def __init__(self, n_stages, base_depth=16, max_depth=64, shared_blocks=3,
                 activation="relu", seed=0, **kwargs):
        super().__init__(**kwargs)
        plan = _block_plan(n_stages, base_depth, max_depth)
        self.act = _activation(activation)
        self.blocks = [DownBlock(d, down, True, activation, seed + 10 * (i + 1), name=f"block{i}")
                       for i, (d, down) in enumerate(plan) if i >= shared_blocks]
        self.logit = SNDense(1, seed=seed + 7, name="logit")

    def call(self, h, training=False):
        """Trunk features -> float32 ``[B]`` logits (unbounded; hinge loss)."""
        for block in self.blocks:
            h = block(h, training=training)
        h = tf.reduce_sum(self.act(h), axis=[1, 2])
        return self.logit(h, training=training)[:, 0]


class EncoderHead(tf_keras.layers.Layer):
    """The encoder's own blocks after the trunk and its Gaussian posterior ``q(z | x)``.

    Parameters
    ----------
    latent_size : int
    n_stages, base_depth, max_depth, shared_blocks, activation, seed
        As for :class:`Trunk`.
    """

    def __init__(self, latent_size, n_stages, base_depth=16, max_depth=64, shared_blocks=3,
                 activation="relu", seed=0, **kwargs):
        super().__init__(**kwargs)
        plan = _block_plan(n_stages, base_depth, max_depth)
        self.latent_size = int(latent_size)
        self.act = _activation(activation)
        self.blocks = [DownBlock(d, down, False, activation, seed + 10 * (i + 1),
                                 name=f"block{i}")
                       for i, (d, down) in enumerate(plan) if i >= shared_blocks]
        self.flatten = tf_keras.layers.Flatten()
        self.posterior = tf_keras.layers.Dense(
            2 * latent_size, name="posterior",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + 9))

    def call(self, h, training=False):
        """Trunk features -> (mean, stddev), float32 ``[B, latent_size]`` each."""
        for block in self.blocks:
            h = block(h, training=training)
        params = self.posterior(self.flatten(self.act(h)))
        mean, raw = tf.split(params, 2, axis=-1)
        return mean, tf.nn.softplus(raw) + 1e-4
