"""The networks of the hierarchical VAE (VDVAE, Child 2021, as Andrianomena & Tang, section 3.1).

Three small pieces, each tested numerically
(``tests/training/hierarchical_vae/test_hierarchical_vae.py``):

* :func:`gaussian_kl` - ``KL(N(mq, sq**2) || N(mp, sp**2))`` of diagonal Gaussians;
* :class:`ResBlock` - the paper's residual block of 4 convolutions (1x1, 3x3, 3x3, 1x1,
  a GELU before each, a narrow middle);
* :class:`TopDownBlock` - one stochastic layer of the top-down decoder: the prior
  ``p(z_i | z_<i)`` (a residual block), the posterior ``q(z_i | x, z_<i)`` (another, on the
  decoder's state and the encoder's activation of the same resolution, concatenated along
  the channels), the latent's projection back onto the state (a 1x1 convolution) and an
  output residual block.

and the two networks built of them, :class:`BottomUpEncoder` (stages of residual blocks,
average pooling x2 between stages) and :class:`TopDownDecoder` (stages of top-down
blocks from the coarsest resolution, nearest-neighbour upsampling x2 between stages).
Layers are ``tf_keras`` with seeded initialisers, as the other families'.
"""
import math

import tensorflow as tf
import tf_keras

__all__ = ["gaussian_kl", "ResBlock", "TopDownBlock", "BottomUpEncoder", "TopDownDecoder",
           "stage_resolutions", "latent_count"]


def gaussian_kl(mean_q, std_q, mean_p, std_p):
    """``KL(N(mean_q, std_q**2) || N(mean_p, std_p**2))`` elementwise, nats.

    ``log(std_p / std_q) + (std_q**2 + (mean_q - mean_p)**2) / (2 std_p**2) - 1/2``.

    Parameters
    ----------
    mean_q, std_q, mean_p, std_p : tf.Tensor
        float32, broadcastable; ``std_*`` > 0.

    Returns
    -------
    tf.Tensor
        The divergence of each element (sum it over a latent's axes).
    """
    ratio = tf.square(std_q / std_p)
    return 0.5 * (ratio + tf.square((mean_q - mean_p) / std_p) - 1.0 - tf.math.log(ratio))


def stage_resolutions(stamp_size, n_stages):
    """Sides of the stages' feature maps, finest (the stamp's) first: ``S / 2**i``."""
    return [int(stamp_size) // 2 ** i for i in range(int(n_stages))]


def _conv(filters, kernel, seed, zero=False, scale=1.0, name=None):
    if zero:
        init = tf_keras.initializers.Zeros()
    else:
        init = tf_keras.initializers.VarianceScaling(scale=scale, mode="fan_avg",
                                                     distribution="uniform", seed=seed)
    return tf_keras.layers.Conv2D(filters, kernel, padding="same", kernel_initializer=init,
                                  name=name)


#: Bounds of a latent's log standard deviation: exp(-7) = 9e-4 to exp(3) = 20.  Unbounded,
#: one block's std overflowed (or a KL's log underflowed) and the full recipe's loss became
#: non-finite at step 100 (2026-11-26).
LOG_STD_RANGE = (-7.0, 3.0)


def _std(log_std):
    """A latent's standard deviation from its network output, ``exp`` of it clipped to
    :data:`LOG_STD_RANGE` (the identity's 1 at an output of 0, as a new block starts)."""
    return tf.exp(tf.clip_by_value(log_std, *LOG_STD_RANGE))


class ResBlock(tf_keras.layers.Layer):
    """The paper's residual block: ``x + c4(g(c3(g(c2(g(c1(g(x))))))))``.

    ``g`` is the GELU in its tanh form; ``c1`` is 1x1 to ``middle`` channels, ``c2`` and ``c3`` 3x3, ``c4`` 1x1 to ``out``
    channels.  With ``residual`` the input is added (``out`` must equal the input's
    channels); with ``zero_last`` ``c4`` starts at zero, so a new residual block is the
    identity (and a new prior block outputs zeros: ``N(0, 1)`` with no feature change).

    Parameters
    ----------
    middle, out : int
        Channels in the middle and out.
    residual : bool
    zero_last : bool
    seed : int
        Seeds the initialisers.
    """

    def __init__(self, middle, out, residual=True, zero_last=False, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.residual = residual
        self.c1 = _conv(middle, 1, seed + 1, name="c1")
        self.c2 = _conv(middle, 3, seed + 2, name="c2")
        self.c3 = _conv(middle, 3, seed + 3, name="c3")
        self.c4 = _conv(out, 1, seed + 4, zero=zero_last, name="c4")

    def call(self, x):
        """``x`` float32 ``[B, H, W, C]`` -> ``[B, H, W, out]``."""
        def g(v):
            # The tanh form of the GELU: the exact one's erfc has no ONNX converter.
            return tf.nn.gelu(v, approximate=True)

        y = self.c4(g(self.c3(g(self.c2(g(self.c1(g(x))))))))
        return x + y if self.residual else y


class TopDownBlock(tf_keras.layers.Layer):
    """One stochastic layer of the top-down decoder (Child 2021, Fig. 3; the paper's Fig. 1).

    Given the decoder's state ``h`` ``[B, r, r, W]`` and the encoder's activation ``a`` of
    the same resolution:

    1. prior: ``(mean_p, log std_p, dh) = prior(h)``, ``h <- h + dh`` (the top block of the
       decoder has the fixed prior ``N(0, I)`` instead, ``standard_prior``);
    2. posterior: ``(mean_q, log std_q) = posterior([h_in, a])``;
    3. ``z = mean + std * eps`` (of the posterior with ``a``, else of the prior);
    4. ``h <- out(h + proj(z))``.

    Parameters
    ----------
    width, middle : int
        Channels of the state and of the residual blocks' middles.
    latent : int
        Channels of the latent ``z_i`` (0: no latent, the block is one residual block).
    standard_prior : bool
        The prior is ``N(0, I)`` (the top latent's, which the latent flow replaces).
    proj_scale : float
        Variance scale of the latent's projection (VDVAE: ``1 / blocks``).
    seed : int
    """

    def __init__(self, width, middle, latent, standard_prior=False, proj_scale=1.0, seed=0,
                 **kwargs):
        super().__init__(**kwargs)
        self.width, self.latent = int(width), int(latent)
        self.standard_prior = bool(standard_prior)
        self.out = ResBlock(middle, width, residual=True, zero_last=True, seed=seed + 10,
                            name="out")
        if self.latent:
            if not self.standard_prior:
                self.prior = ResBlock(middle, 2 * latent + width, residual=False,
                                      zero_last=True, seed=seed + 20, name="prior")
            self.posterior = ResBlock(middle, 2 * latent, residual=False, seed=seed + 30,
                                      name="posterior")
            self.proj = _conv(width, 1, seed + 40, scale=proj_scale, name="proj")

    def prior_of(self, h):
        """``(mean_p, std_p, h + dh)`` of the state ``h``."""
        if self.standard_prior:
            zeros = tf.zeros(tf.concat([tf.shape(h)[:3], [self.latent]], 0))
            return zeros, tf.ones_like(zeros), h
        p = self.prior(h)
        c = self.latent
        return p[..., :c], _std(p[..., c:2 * c]), h + p[..., 2 * c:]

    def posterior_of(self, h, a):
        """``(mean_q, std_q)`` of the state ``h`` (before the prior's change) and the
        encoder's activation ``a``."""
        q = self.posterior(tf.concat([h, a], axis=-1))
        return q[..., :self.latent], _std(q[..., self.latent:])

    def call(self, h, a=None, eps=None):
        """Run the block.

        Parameters
        ----------
        h : tf.Tensor
            float32 ``[B, r, r, W]``, the decoder's state.
        a : tf.Tensor, optional
            float32 ``[B, r, r, W]``, the encoder's activation: ``z`` from the posterior
            (training, encoding); without it from the prior (sampling).
        eps : tf.Tensor, optional
            float32 ``[B, r, r, latent]`` standard normals of ``z`` (None: zeros, the
            distribution's mean).

        Returns
        -------
        h : tf.Tensor
            The new state.
        info : dict
            ``z`` and, with ``a``, ``kl`` [B] (nats, summed over the latent),
            ``mean_q``, ``std_q`` (empty for a block without a latent).
        """
        if not self.latent:
            return self.out(h), {}
        mean_p, std_p, h_prior = self.prior_of(h)
        info = {}
        if a is not None:
            mean, std = self.posterior_of(h, a)
            info.update(kl=tf.reduce_sum(gaussian_kl(mean, std, mean_p, std_p), axis=[1, 2, 3]),
                        mean_q=mean, std_q=std)
        else:
            mean, std = mean_p, std_p
        z = mean if eps is None else mean + std * eps
        info["z"] = z
        return self.out(h_prior + self.proj(z)), info


class BottomUpEncoder(tf_keras.layers.Layer):
    """Stages of residual blocks from the stamp's resolution down (the paper's red blocks).

    A 3x3 convolution embeds the input channels in ``width``; stage ``i`` (side
    ``S / 2**i``) is ``blocks[i]`` :class:`ResBlock` s; its output is kept (the activation the
    decoder's blocks of that resolution read) and average-pooled x2 into the next stage.

    Parameters
    ----------
    blocks : list of int
        Residual blocks per stage, finest first (the paper: ``[3, 3, 2, 2, 2, 1]``).
    width, middle : int
    seed : int
    """

    def __init__(self, blocks, width, middle, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.embed = _conv(width, 3, seed, name="embed")
        self.stages = [[ResBlock(middle, width, zero_last=True, seed=seed + 100 * i + 10 * j,
                                 name=f"stage{i}_block{j}") for j in range(n)]
                       for i, n in enumerate(blocks)]

    def call(self, x):
        """``x`` ``[B, S, S, C]`` -> the activations, a list ``[B, S / 2**i, S / 2**i, W]``
        per stage, finest first."""
        h = self.embed(x)
        acts = []
        for i, stage in enumerate(self.stages):
            if i:
                h = tf.nn.avg_pool2d(h, 2, 2, "VALID")
            for block in stage:
                h = block(h)
            acts.append(h)
        return acts


class TopDownDecoder(tf_keras.layers.Layer):
    """Stages of top-down blocks from the coarsest resolution up (the paper's blue blocks).

    The state starts as a learned constant ``[r0, r0, W]`` at the coarsest side
    ``r0 = S / 2**(n-1)``; stage ``j`` (side ``r0 * 2**j``) is ``blocks[j]``
    :class:`TopDownBlock` s with ``latents[j]`` latent channels each; the state is
    upsampled x2 (nearest neighbour) between stages.  The first block of the first stage
    holds the *top latent* ``z_0`` with the prior ``N(0, I)``.  A 1x1 convolution and a
    softplus make the output image ``>= 0``.

    Parameters
    ----------
    stamp_size : int
    blocks : list of int
        Top-down blocks per stage, coarsest first (the paper: ``[5, 5, 4, 3, 2, 1]``).
    latents : list of int
        Latent channels of each stage's blocks, coarsest first (0: no latent there; the
        first must be > 0).
    width, middle : int
    seed : int
    """

    def __init__(self, stamp_size, blocks, latents, width, middle, seed=0, **kwargs):
        super().__init__(**kwargs)
        n = len(blocks)
        self.sides = stage_resolutions(stamp_size, n)[::-1]
        self.width = int(width)
        scale = 1.0 / max(1, sum(blocks))
        self.stages = [[TopDownBlock(width, middle, latents[j],
                                     standard_prior=(j == 0 and b == 0), proj_scale=scale,
                                     seed=seed + 1000 * j + 100 * b, name=f"stage{j}_block{b}")
                        for b in range(nb)] for j, nb in enumerate(blocks)]
        side = self.sides[0]
        self.start = self.add_weight(name="start", shape=[1, side, side, width],
                                     initializer="zeros", trainable=True)
        # softplus(-5) = 0.007: the new decoder's sky starts near dark, not at 0.69 flux units.
        self.to_image = tf_keras.layers.Conv2D(
            1, 1, kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + 999),
            bias_initializer=tf_keras.initializers.Constant(-5.0), name="to_image")

    @property
    def latent_shapes(self):
        """``[r, r, c]`` of every block's latent, in the top-down order (the top first)."""
        return [(r, r, block.latent) for r, stage in zip(self.sides, self.stages)
                for block in stage if block.latent]

    def call(self, batch_size, acts=None, eps=None):
        """Run the top-down pass.

        Parameters
        ----------
        batch_size : int or tf.Tensor
        acts : list of tf.Tensor, optional
            The encoder's activations, finest first (:class:`BottomUpEncoder`): every
            latent from its posterior.  Without them each latent but a given top one comes
            from its prior.
        eps : list of tf.Tensor or None
            One entry per latent (:attr:`latent_shapes`): float32 ``[B, r, r, c]``
            standard normals, or None for the mean.  Without ``acts`` the first entry is
            the top latent ``z_0`` itself (its prior is ``N(0, I)``: a code, or normals).

        Returns
        -------
        image : tf.Tensor
            float32 ``[B, S, S]`` >= 0, network units.
        infos : list of dict
            Each latent block's ``z`` (and posterior ``kl``, ``mean_q``, ``std_q``).
        """
        h = tf.tile(self.start, [batch_size, 1, 1, 1])
        by_side = {} if acts is None else {int(a.shape[1]): a for a in acts}
        eps = list(eps) if eps is not None else [None] * len(self.latent_shapes)
        infos, k = [], 0
        for j, stage in enumerate(self.stages):
            if j:
                h = tf.repeat(tf.repeat(h, 2, axis=1), 2, axis=2)
            for block in stage:
                if not block.latent:
                    h, _ = block(h)
                    continue
                h, info = block(h, by_side.get(self.sides[j]), eps[k])
                infos.append(info)
                k += 1
        return tf.nn.softplus(self.to_image(h))[..., 0], infos


def latent_count(shapes):
    """Total number of elements of latents of ``shapes`` ``[(r, r, c), ...]``."""
    return int(sum(math.prod(s) for s in shapes))
