"""Generator, discriminator and encoder of the MPCC family (BigGAN-like residual networks).

With ``n`` stages on ``S x S`` stamps and depths ``d(i) = min(base_depth * 2**i,
max_depth)`` (:func:`~galsim_deep.training.resnet.stage_depths`):

Generator ``p(x | z, y)``::

    z (latent_size)  [conditioning 'conditional_batch_norm', 'shared_hierarchical']
    or [z, embedding(y)] (latent_size + embedding_size)  [conditioning 'concat']
      -> dense -> [S / 2**n, S / 2**n, d(n)]
      -> n up-blocks (batch norm, activation, x2 nearest upsampling, 3x3
         convolution, batch norm, activation, 3x3 convolution, plus an
         upsampled 1x1 shortcut), depth d(i+1) -> d(i)
      -> batch norm, activation, 1x1 convolution, softplus  -> [S, S] >= 0

The cluster reaches the generator in one of three ways (:data:`CONDITIONING_CHOICES`;
the thesis's methods are those of Astorga 2021, section 8.1.4):

* ``'conditional_batch_norm'`` (the thesis's third method, its choice for
  MNIST and Omniglot): every batch norm of the up-blocks takes its gain and
  bias from its own embedding of ``y`` (:class:`ConditionalBatchNorm`), and
  ``z`` alone enters the dense layer;
* ``'shared_hierarchical'`` (the second method, the thesis's choice for
  Fashion-MNIST; the authors' ``--hier --G_shared --shared_hier``): one
  embedding ``E(y)`` shared by all layers, ``c = [z, E(y)]`` with the whole
  of ``z``, and every batch norm of the up-blocks takes its gain ``1 + W_g c``
  and bias ``W_b c`` from its own linear maps
  (:class:`LinearConditionalBatchNorm`, maps starting at zero); ``z`` alone
  enters the dense layer;
* ``'concat'`` (none of the thesis's methods; release 1.1): a learned
  embedding of ``y`` concatenated with ``z`` at the input only.

The output is the unconvolved, noise-free light
profile in network units.  Batch norm uses the batch's statistics in
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
* :class:`EncoderHead` - its own copy of the remaining blocks, activation,
  dense -> mean and standard deviation of the Gaussian ``q(z | x)``, as the
  Flow-VAE encoder.

``spectral`` switches spectral normalisation (:mod:`~galsim_deep.training.mpcc.spectral`)
on for the generator and the encoder head too (the discriminator side always
has it), and ``init`` picks the kernels' initialisation, Glorot uniform or
the thesis's ``N(0, 0.02)`` (section 6.3.3, ``mpcc.init``).

The building layers (batch norms with standing statistics, conditional batch
norm, the residual up and down blocks) are in
:mod:`galsim_deep.training.mpcc.layers`, and re-exported here.

Length: the generator (with its standing statistics and weight averages), and the
discriminator trunk and the two heads, which share one block plan.
"""
import tensorflow as tf
import tf_keras

from galsim_deep.training.resnet import bottom_size, stage_depths
from .layers import (ConditionalBatchNorm, DownBlock, LinearConditionalBatchNorm,
                     StandingBatchNorm, UpBlock, activation_function, conv_layer, dense_layer)
from .spectral import SNConv2D, SNDense
from galsim_deep.core.errors import InputError

__all__ = ["StandingBatchNorm", "ConditionalBatchNorm", "LinearConditionalBatchNorm",
           "UpBlock", "DownBlock", "Generator",
           "Trunk", "DiscriminatorHead", "EncoderHead", "accumulate_standing_statistics",
           "ema_update", "CONDITIONING_CHOICES"]

#: How the cluster ``y`` reaches the generator (module docstring).
CONDITIONING_CHOICES = ("conditional_batch_norm", "concat", "shared_hierarchical")


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
        embedding of ``y`` (``'concat'`` and ``'shared_hierarchical'`` only).
    n_stages, base_depth, max_depth : int
        Network sizes.
    activation : str
        Activation name.
    seed : int
        Seeds the initialisers.
    output_bias : float
        Initial bias before the softplus (a faint flat start).
    conditioning : {'concat', 'conditional_batch_norm', 'shared_hierarchical'}
        How ``y`` enters (module docstring).
    spectral : bool
        Spectrally normalised dense layer and convolutions.
    init : {'glorot', 'normal_0.02'}
        Kernel and embedding initialisation (``'glorot'``: the embedding of
        ``y`` starts as ``N(0, 1)`` draws, the conditional batch norms as
        plain ones).  The linear maps of ``'shared_hierarchical'`` start at
        zero whatever ``init``.
    """

    def __init__(self, stamp_size, latent_size, n_clusters, embedding_size, n_stages,
                 base_depth=16, max_depth=64, activation="relu", seed=0, output_bias=-4.0,
                 conditioning="concat", spectral=False, init="glorot", **kwargs):
        super().__init__(**kwargs)
        if conditioning not in CONDITIONING_CHOICES:
            raise InputError(f"unknown cluster conditioning {conditioning!r}; use one of "
                             f"{list(CONDITIONING_CHOICES)}")
        self.conditioning = conditioning
        self.depths = stage_depths(n_stages, base_depth, max_depth)
        self.bottom = bottom_size(stamp_size, n_stages)
        self.act = activation_function(activation)
        if conditioning in ("concat", "shared_hierarchical"):
            self.embedding = self.add_weight(
                name="cluster_embedding", shape=[int(n_clusters), int(embedding_size)],
                initializer=tf_keras.initializers.RandomNormal(
                    stddev=0.02 if init == "normal_0.02" else 1.0, seed=seed + 3))
        self.dense = dense_layer(self.bottom * self.bottom * self.depths[-1], seed + 4,
                                 spectral, name="dense", init=init)
        cbn = n_clusters if conditioning == "conditional_batch_norm" else None
        shared = (int(latent_size) + int(embedding_size)
                  if conditioning == "shared_hierarchical" else None)
        self.blocks = [UpBlock(self.depths[i], activation, seed + 10 * (i + 1),
                               n_clusters=cbn, spectral=spectral, init=init,
                               condition_size=shared, name=f"up{i}")
                       for i in reversed(range(n_stages))]
        self.bn = StandingBatchNorm(name="bn_out")
        self.out = conv_layer(1, 1, seed + 5, spectral, name="profile", init=init,
                              bias=output_bias)

    def call(self, z, y, training=False, refine=None):
        """Generate profiles.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[B, latent_size]``.
        y : tf.Tensor
            int32 ``[B]`` clusters.
        training : bool
            Batch statistics (training) or standing statistics in batch norm.
        refine : bool, optional
            Refine the spectral-norm estimates (default: ``training``).

        Returns
        -------
        tf.Tensor
            float32 ``[B, S, S]`` >= 0, network units.
        """
        refine = training if refine is None else refine
        y = tf.convert_to_tensor(y, tf.int32)
        z = tf.convert_to_tensor(z, tf.float32)
        if self.conditioning == "concat":
            h = self.dense(tf.concat([z, tf.gather(self.embedding, y)], axis=-1), training=refine)
        else:
            h = self.dense(z, training=refine)
        h = tf.reshape(h, [-1, self.bottom, self.bottom, self.depths[-1]])
        condition = self.condition(z, y)
        for block in self.blocks:
            h = block(h, condition, training=training, refine=refine)
        h = self.out(self.act(self.bn(h, training=training)), training=refine)
        return tf.nn.softplus(h)[..., 0]

    def condition(self, z, y):
        """What the up-blocks' batch norms are conditioned on.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[B, latent_size]``.
        y : tf.Tensor
            int32 ``[B]`` clusters.

        Returns
        -------
        tf.Tensor or None
            ``c = [z, E(y)]``, float32 ``[B, latent_size + embedding_size]``
            (``'shared_hierarchical'``, built once per call); the clusters ``y``
            (``'conditional_batch_norm'``); ``None`` (``'concat'``: plain batch
            norms).
        """
        if self.conditioning == "shared_hierarchical":
            z = tf.convert_to_tensor(z, tf.float32)
            embedded = tf.gather(self.embedding, tf.convert_to_tensor(y, tf.int32))
            return tf.concat([z, embedded], axis=-1)
        return y if self.conditioning == "conditional_batch_norm" else None

    def batch_norms(self):
        """Every :class:`StandingBatchNorm` of the generator, in a fixed order."""
        out = []
        for block in self.blocks:
            out += [block.bn1, block.bn2]
        return out + [self.bn]

    def spectral_layers(self):
        """Every spectrally normalised layer of the generator, in a fixed order (none
        without ``spectral``)."""
        layers = [self.dense]
        for block in self.blocks:
            layers += [block.conv1, block.conv2, block.shortcut]
        return [layer for layer in layers + [self.out] if isinstance(layer, (SNConv2D, SNDense))]


def accumulate_standing_statistics(generator, batches):
    """Set the generator's batch-norm statistics to their average over batches.

    The generator's spectral-norm estimates (if any) are left as they were.

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
    spectral = getattr(generator, "spectral_layers", lambda: [])()
    saved = [layer.u.numpy() for layer in spectral]
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
        for layer, u in zip(spectral, saved):
            layer.u.assign(u)
    return count


def ema_update(average, current, decay):
    """One step of an exponential moving average of weights: ``a <- decay a + (1 - decay) w``.

    Parameters
    ----------
    average : sequence of tf.Variable
        The averaged weights (updated in place).
    current : sequence of tf.Tensor or tf.Variable
        The current weights, in the same order and shapes.
    decay : float
        In ``[0, 1)``; 0 copies ``current``.
    """
    average, current = list(average), list(current)
    if len(average) != len(current):
        raise InputError(f"ema_update needs as many averaged weights as weights, got "
                         f"{len(average)} and {len(current)}")
    d = float(decay)
    for a, w in zip(average, current):
        a.assign(d * a + (1.0 - d) * tf.convert_to_tensor(w, a.dtype))


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
    init : {'glorot', 'normal_0.02'}
        Kernel initialisation.
    """

    def __init__(self, n_stages, base_depth=16, max_depth=64, shared_blocks=3,
                 activation="relu", seed=0, init="glorot", **kwargs):
        super().__init__(**kwargs)
        plan = _block_plan(n_stages, base_depth, max_depth)
        if shared_blocks > len(plan):
            raise InputError(f"shared_blocks {shared_blocks} is more than the {len(plan)} "
                             f"residual blocks of {n_stages} stages; lower it")
        self.embed = SNConv2D(base_depth, 1, seed=seed, name="embed", init=init)
        self.blocks = [DownBlock(d, down, True, activation, seed + 10 * (i + 1), init=init,
                                 name=f"block{i}")
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
    n_stages, base_depth, max_depth, shared_blocks, activation, seed, init
        As for :class:`Trunk`.
    """

    def __init__(self, n_stages, base_depth=16, max_depth=64, shared_blocks=3,
                 activation="relu", seed=0, init="glorot", **kwargs):
        super().__init__(**kwargs)
        plan = _block_plan(n_stages, base_depth, max_depth)
        self.act = activation_function(activation)
        self.blocks = [DownBlock(d, down, True, activation, seed + 10 * (i + 1), init=init,
                                 name=f"block{i}")
                       for i, (d, down) in enumerate(plan) if i >= shared_blocks]
        self.logit = SNDense(1, seed=seed + 7, name="logit", init=init)

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
    n_stages, base_depth, max_depth, shared_blocks, activation, seed, init
        As for :class:`Trunk`.
    spectral : bool
        Spectrally normalised blocks and posterior layer (the thesis); else
        ordinary ones.
    """

    def __init__(self, latent_size, n_stages, base_depth=16, max_depth=64, shared_blocks=3,
                 activation="relu", seed=0, spectral=False, init="glorot", **kwargs):
        super().__init__(**kwargs)
        plan = _block_plan(n_stages, base_depth, max_depth)
        self.latent_size = int(latent_size)
        self.act = activation_function(activation)
        self.blocks = [DownBlock(d, down, spectral, activation, seed + 10 * (i + 1), init=init,
                                 name=f"block{i}")
                       for i, (d, down) in enumerate(plan) if i >= shared_blocks]
        self.flatten = tf_keras.layers.Flatten()
        self.posterior = dense_layer(2 * latent_size, seed + 9, spectral, name="posterior",
                                     init=init)

    def call(self, h, training=False):
        """Trunk features -> (mean, stddev), float32 ``[B, latent_size]`` each.

        ``training`` refines the spectral-norm estimates (spectral layers only).
        """
        for block in self.blocks:
            h = block(h, training=training)
        params = self.posterior(self.flatten(self.act(h)), training=training)
        mean, raw = tf.split(params, 2, axis=-1)
        return mean, tf.nn.softplus(raw) + 1e-4
