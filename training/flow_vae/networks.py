"""ResNet encoder and decoder of the Flow-VAE (Lanusse et al. 2020, Table 1).

Encoder, for a stamp of ``S x S`` pixels::

    [stamp, psf] (2 channels)
      -> channel-wise dense embedding (1x1 convolution) to ``base_depth``
      -> stage 0: two residual blocks at S, depth d0 = base_depth
         downsample x2 (3x3 convolution, stride 2), depth doubles
      -> ...
      -> stage n-1: two residual blocks at S / 2**(n-1), depth d(n-1)
         downsample x2
      -> features [S / 2**n, S / 2**n, d(n)]
      -> one dense layer -> mean and standard deviation of q(z | x)

with ``d(i) = min(base_depth * 2**i, max_depth)``.  The decoder mirrors it:
one dense layer from ``z`` back to ``[S / 2**n, S / 2**n, d(n)]``, then for
each stage from the deepest, x2 nearest-neighbour upsampling and a 3x3
convolution to ``d(i)``, two residual blocks, and a final 1x1 convolution
with a softplus, so the light profile is positive.  With ``smooth_profile``
``"bulge_disk"`` the ResNet's image is the galaxy's *structure*, added to an
analytic bulge + disk that a small network reads from the same code
(:class:`~galsim_deep.training.bulge_disk.BulgeDiskLayer`); with ``structure``
``"multiplicative"`` it *modulates* the bulge + disk instead,
``profile = smooth * exp(m)`` with ``m = A tanh(r / A)`` the ResNet's bounded
log-modulation: no light appears where the smooth profile is dark, and the
wings continue the smooth profile's below the noise.  With a
``modulation_floor`` ``f`` the modulation also fades where the smooth light
is faint, ``m = A tanh(r / A) * s / (s + f * max(s))``: structure lives only
where the galaxy is, and its outskirts are the smooth profile's.

The decoder accepts the encoder's per-stage activations as *transverse
connections*: a random fraction of the decoder's activations at each stage
(and at the bottleneck) is replaced by the encoder's ones at the same
resolution, which eases the early training of a deep autoencoder; the
fraction decays to zero (section 4.2.1), after which the decoder works alone.

Layers are ``tf_keras`` (see :mod:`galsim_deep.training.maf`), with seeded
initialisers.
"""
import tensorflow as tf
import tf_keras

from galsim_deep.training.bulge_disk import BulgeDiskLayer
from galsim_deep.training.resnet import bottom_size, stage_depths

from .sed_head import SEDHead, sed_logits_layer

__all__ = ["ResidualBlock", "Encoder", "Decoder", "mix_transverse"]


def _conv(depth, kernel, seed, strides=1, **kwargs):
    return tf_keras.layers.Conv2D(
        depth, kernel, strides=strides, padding="same",
        kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed), **kwargs)


class ResidualBlock(tf_keras.layers.Layer):
    """Pre-activation residual block: ``x + conv(act(conv(act(x))))`` with 3x3 kernels.

    The second convolution starts at zero, so a new block is the identity.

    Parameters
    ----------
    depth : int
        Channels in and out.
    activation : str
        Activation function name.
    seed : int
        Seed of the first convolution's initialiser.
    """

    def __init__(self, depth, activation="elu", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.act = tf_keras.activations.get(activation)
        self.conv1 = _conv(depth, 3, seed)
        self.conv2 = tf_keras.layers.Conv2D(depth, 3, padding="same",
                                            kernel_initializer="zeros")

    def call(self, x):
        """Apply the block to ``x`` of shape ``[B, H, W, depth]``."""
        return x + self.conv2(self.act(self.conv1(self.act(x))))


def mix_transverse(decoder_x, encoder_x, fraction, seed):
    """Replace a random ``fraction`` of ``decoder_x``'s elements by ``encoder_x``'s.

    Parameters
    ----------
    decoder_x, encoder_x : tf.Tensor
        Activations of the same shape.
    fraction : float or tf.Tensor
        Probability that an element is duplicated from the encoder.
    seed : tf.Tensor
        int32 ``[2]`` stateless-random seed.

    Returns
    -------
    tf.Tensor
        The mixed activations; exactly ``decoder_x`` when ``fraction == 0``.
    """
    u = tf.random.stateless_uniform(tf.shape(decoder_x), seed=seed)
    return tf.where(u < fraction, encoder_x, decoder_x)


class Encoder(tf_keras.layers.Layer):
    """Maps a (stamp, PSF) pair to the mean and standard deviation of ``q(z | x)``.

    Parameters
    ----------
    latent_size : int
        Dimension of ``z`` (16 in the paper).
    n_stages : int
        Number of x2 downsamplings; the stamp size must be a multiple of
        ``2**n_stages``.
    base_depth, max_depth : int
        Depth after the embedding, and its cap (16 and 512 in the paper).
    activation : str
        Activation function name.
    seed : int
        Seeds the initialisers.
    n_bands : int, optional
        Bands of the input (1: a stamp and its PSF).  With more, the input has
        one stamp and one PSF channel per band and the embedding is the
        attribute ``embed_bands``, so a mono checkpoint's ``embed`` is not read
        into it (:meth:`FlowVAE.adapt_mono_weights
        <galsim_deep.training.flow_vae.autoencoder.FlowVAE.adapt_mono_weights>`).
    """

    def __init__(self, latent_size, n_stages, base_depth=16, max_depth=512,
                 activation="elu", seed=0, n_bands=1, **kwargs):
        super().__init__(**kwargs)
        self.latent_size = latent_size
        depths = stage_depths(n_stages, base_depth, max_depth)
        self.act = tf_keras.activations.get(activation)
        if n_bands > 1:
            self.embed_bands = _conv(base_depth, 1, seed, name="embed_bands")
        else:
            self.embed = _conv(base_depth, 1, seed, name="embed")
        self.blocks = []
        self.down = []
        for i in range(n_stages):
            self.blocks.append([ResidualBlock(depths[i], activation, seed + 10 * i + 1 + j,
                                              name=f"stage{i}_block{j}") for j in range(2)])
            self.down.append(_conv(depths[i + 1], 3, seed + 10 * i + 5, strides=2,
                                   name=f"stage{i}_down"))
        self.flatten = tf_keras.layers.Flatten()
        self.posterior = tf_keras.layers.Dense(
            2 * latent_size, name="posterior",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + 9999))

    def call(self, x):
        """Encode network inputs.

        Parameters
        ----------
        x : tf.Tensor
            float32 ``[B, S, S, 2]``: the stamp in network units and the PSF
            divided by its peak value (``[B, S, S, 2 nb]`` with ``nb`` bands).

        Returns
        -------
        mean, stddev : tf.Tensor
            float32 ``[B, L]``.
        features : list of tf.Tensor
            The activations after each stage's residual blocks
            (``[B, S / 2**i, S / 2**i, d(i)]``), then the bottleneck input
            ``[B, S / 2**n, S / 2**n, d(n)]``: the transverse connections.
        """
        h = (self.embed_bands if hasattr(self, "embed_bands") else self.embed)(x)
        features = []
        for blocks, down in zip(self.blocks, self.down):
            for block in blocks:
                h = block(h)
            features.append(h)
            h = down(self.act(h))
        features.append(h)
        params = self.posterior(self.flatten(self.act(h)))
        mean, raw = tf.split(params, 2, axis=-1)
        stddev = tf.nn.softplus(raw) + 1e-4
        return mean, stddev, features


class Decoder(tf_keras.layers.Layer):
    """Maps a latent code to a positive light profile in network units.

    Parameters
    ----------
    stamp_size : int
        ``S``, pixels; a multiple of ``2**n_stages``.
    n_stages, base_depth, max_depth, activation, seed
        As for :class:`Encoder`.
    output_activation : {"softplus", "relu"}
        What makes the profile non-negative.  ``softplus`` is smooth but never
        exactly zero, so the empty sky around a galaxy keeps a faint floor;
        ``relu`` can draw an exactly dark sky.
    output_bias : float, optional
        Initial bias before the output activation.  Default: -6 for softplus (a
        new decoder draws a faint flat background of ``softplus(-6)``), 0 for
        relu (a negative bias would start every pixel at zero, with no
        gradient).
    smooth_profile : {"none", "bulge_disk"}
        ``"bulge_disk"``: the profile is an analytic bulge + disk read from
        ``z`` plus the ResNet's image (the *structure*); ``"none"``: the
        ResNet's image alone.
    upsampling : {"nearest", "bilinear"}
        How each stage doubles its feature maps before its convolution:
        ``"nearest"`` copies every cell into a 2x2 block, ``"bilinear"``
        interpolates between cells.  Both have no weights, so a decoder can
        switch between them and keep its trained weights.
    n_components : int, optional
        0 (default): one image, a mono galaxy.  ``K > 0``: a chromatic galaxy,
        ``K`` component images (one output channel each, layer
        ``components``) whose sum is the reference-band profile, and for each
        component the weights of ``n_templates`` SED templates (a dense layer
        ``sed_logits`` read from ``z``, softmax over the templates).
    n_templates : int, optional
        Number of SED templates (with ``n_components``; default 4).
    structure : {"additive", "multiplicative", "none"}
        With a smooth profile, how the ResNet's image joins it: added to it
        (a non-negative structure image), or multiplying it by ``exp(m)``,
        ``m = max_log_modulation * tanh(r / max_log_modulation)`` for the
        ResNet's raw output ``r`` (the output activation is then not used);
        ``"none"``: the smooth profile alone, with no ResNet at all (a
        bulge + disk read from ``z``; its ``structure`` output is zero).
    max_log_modulation : float
        ``A``, the largest ``|m|``: the structure changes the smooth light by
        at most a factor ``exp(A)`` either way (default 3: 20x).
    modulation_floor : float
        ``f`` >= 0: a multiplicative structure's log-modulation is multiplied by
        ``s / (s + f * max(s))`` for the smooth light ``s`` (its maximum over
        each stamp), so it is halved where the smooth light is ``f`` times its
        peak and vanishes below (default 0: no fading).
    sed_redshift : bool, optional
        A chromatic decoder's SED head reads the galaxy's redshift beside
        ``z`` (:class:`~.sed_head.SEDHead`): the template weights that give a colour
        depend on the redshift, which the code alone does not hold.  Its
        ``call`` then takes ``redshift``.
    sed_colours : int, optional
        With ``sed_redshift``, the head also reads this many catalog colours
        (:class:`~.sed_head.SEDHead`'s ``n_colours``; default 0); ``call`` then takes
        ``colours``.
    """

    #: Output activations by name, each with its default initial bias.
    OUTPUT_ACTIVATIONS = {"softplus": (tf.nn.softplus, -6.0), "relu": (tf.nn.relu, 0.0)}
    #: Smooth components a decoder can add to its structure image.
    SMOOTH_PROFILES = ("none", "bulge_disk")
    #: Interpolations of the feature maps between stages.
    UPSAMPLINGS = ("nearest", "bilinear")
    #: How the structure image joins a smooth profile.
    STRUCTURES = ("additive", "multiplicative", "none")

    def __init__(self, stamp_size, n_stages, base_depth=16, max_depth=512,
                 activation="elu", seed=0, output_activation="softplus", output_bias=None,
                 smooth_profile="none", upsampling="nearest", n_components=0, n_templates=4,
                 structure="additive", max_log_modulation=3.0, modulation_floor=0.0,
                 sed_redshift=False, sed_colours=0, **kwargs):
        super().__init__(**kwargs)
        if output_activation not in self.OUTPUT_ACTIVATIONS:
            raise ValueError(f"output_activation must be one of "
                             f"{sorted(self.OUTPUT_ACTIVATIONS)}, got {output_activation!r}")
        if smooth_profile not in self.SMOOTH_PROFILES:
            raise ValueError(f"smooth_profile must be one of {list(self.SMOOTH_PROFILES)}, "
                             f"got {smooth_profile!r}")
        if upsampling not in self.UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {list(self.UPSAMPLINGS)}, "
                             f"got {upsampling!r}")
        if structure not in self.STRUCTURES:
            raise ValueError(f"structure must be one of {list(self.STRUCTURES)}, "
                             f"got {structure!r}")
        if structure in ("multiplicative", "none") and smooth_profile == "none":
            raise ValueError(f"structure={structure!r} needs a smooth profile: set "
                             f"smooth_profile='bulge_disk'")
        if not max_log_modulation > 0:
            raise ValueError(f"max_log_modulation must be > 0, got {max_log_modulation!r}")
        if not modulation_floor >= 0:
            raise ValueError(f"modulation_floor must be >= 0, got {modulation_floor!r}")
        self.structure = structure
        self.max_log_modulation = float(max_log_modulation)
        self.modulation_floor = float(modulation_floor)
        self.smooth = (BulgeDiskLayer(stamp_size, activation=activation, seed=seed + 6666,
                                      name="smooth")
                       if smooth_profile == "bulge_disk" else None)
        self.output_activation, default_bias = self.OUTPUT_ACTIVATIONS[output_activation]
        self.n_components = int(n_components)
        self.n_templates = int(n_templates)
        if self.n_components and smooth_profile != "none":
            raise ValueError("a chromatic decoder (n_components > 0) draws no smooth profile: "
                             "set smooth_profile='none'")
        if sed_redshift and not self.n_components:
            raise ValueError("sed_redshift is for a chromatic decoder (n_components > 0)")
        if sed_colours and not sed_redshift:
            raise ValueError("sed_colours is for an SED head that reads the redshift: set "
                             "sed_redshift")
        self.sed_redshift = bool(sed_redshift)
        self.sed_colours = int(sed_colours)
        self.sed_logits = self.sed_head = None
        if structure == "none":  # the bulge + disk alone: no ResNet
            return
        if output_bias is None:  # a modulation starts at exp(0) = 1
            output_bias = 0.0 if structure == "multiplicative" else default_bias
        self.depths = stage_depths(n_stages, base_depth, max_depth)
        self.bottom = bottom_size(stamp_size, n_stages)
        self.act = tf_keras.activations.get(activation)
        self.unbottleneck = tf_keras.layers.Dense(
            self.bottom * self.bottom * self.depths[-1], name="unbottleneck",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + 8888))
        self.up = []
        self.blocks = []
        for i in reversed(range(n_stages)):
            self.up.append(_conv(self.depths[i], 3, seed + 10 * i + 6, name=f"stage{i}_up"))
            self.blocks.append([ResidualBlock(self.depths[i], activation, seed + 10 * i + 7 + j,
                                              name=f"stage{i}_block{j}") for j in range(2)])
        self.upsample = tf_keras.layers.UpSampling2D(2, interpolation=upsampling)
        output = tf_keras.layers.Conv2D(
            max(1, self.n_components), 1,
            name="components" if self.n_components else "profile",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + 7777),
            bias_initializer=tf_keras.initializers.Constant(output_bias))
        # A chromatic decoder's output layer has another attribute (checkpoint) name: a mono
        # checkpoint's is adapted into it, not read (FlowVAE.adapt_mono_weights).
        if self.n_components:
            self.components_out = output
        else:
            self.out = output
        if self.sed_redshift:
            self.sed_head = SEDHead(self.n_components, self.n_templates, activation=activation,
                                    seed=seed + 5555, n_colours=self.sed_colours,
                                    name="sed_head")
        elif self.n_components:
            self.sed_logits = sed_logits_layer(self.n_components * self.n_templates,
                                                seed + 5555, name="sed_logits")

    @property
    def output_layer(self):
        """The last 1x1 convolution (``components_out`` of a chromatic decoder, else
        ``out``)."""
        return self.components_out if self.n_components else self.out

    def restart_structure(self, scale=0.05, seed=0):
        """Give the output layer small new weights, so the structure image starts near zero.

        For a decoder that gains a smooth bulge + disk when it starts from the
        weights of one without: their output layer drew the whole galaxy,
        where this one's draws only what the bulge + disk does not.

        Parameters
        ----------
        scale : float
            The new kernel is ``scale`` times a Glorot-uniform draw; the bias is 0.
        seed : int
        """
        kernel, bias = self.out.kernel, self.out.bias
        draw = tf_keras.initializers.GlorotUniform(seed=seed)(kernel.shape)
        kernel.assign(scale * draw)
        bias.assign(tf.zeros_like(bias))

    def call(self, z, transverse=None, fraction=0.0, seed=None, structure_weight=1.0,
             redshift=None, colours=None):
        """Decode latent codes.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[B, L]``.
        transverse : list of tf.Tensor, optional
            The encoder's ``features``; with ``fraction > 0`` that fraction of
            each stage's activations is taken from them.
        fraction : float or tf.Tensor
            Transverse duplication fraction in [0, 1].
        seed : tf.Tensor, optional
            int32 ``[2]`` stateless seed of the duplication masks (needed with
            ``transverse``).
        structure_weight : float or tf.Tensor
            Factor of the structure image in the profile of a decoder with a
            smooth component (0: the bulge + disk alone, as in the first steps of
            a run with ``structure_from_step``).
        redshift : tf.Tensor, optional
            float32 ``[B]``, the galaxies' redshifts, for an SED head that
            reads them (``sed_redshift``); without them such a decoder
            returns no ``sed_weights``.
        colours : tf.Tensor, optional
            float32 ``[B, C]``, the galaxies' catalog colours (AB mag), for an SED
            head that reads them (``sed_colours``).

        Returns
        -------
        dict of tf.Tensor
            ``profile``: float32 ``[B, S, S]`` >= 0, network units (a
            chromatic decoder's: in the reference band, the sum of its
            components); ``structure``: the ResNet's part of it (all of it
            without a smooth component); ``bottleneck``: float32 ``[B, S /
            2**n, S / 2**n, d(n)]``, the bottleneck output (before any
            mixing), for the bottleneck l2 penalty; a chromatic decoder's also
            ``components`` ``[B, K, S, S]`` and ``sed_weights`` ``[B, K, T]``
            (each component's template weights, summing to 1).  A
            multiplicative decoder's ``structure`` is ``profile - smooth``
            (the light the modulation adds or removes) and it also returns
            ``modulation``, ``m`` ``[B, S, S]``.
        """
        if self.structure == "none":
            smooth = self.smooth(z)
            return {"profile": smooth, "structure": tf.zeros_like(smooth),
                    "bottleneck": tf.zeros(tf.stack([tf.shape(z)[0], 1, 1, 1]))}
        h = tf.reshape(self.unbottleneck(z), [-1, self.bottom, self.bottom, self.depths[-1]])
        bottleneck = h
        if transverse is not None:
            h = mix_transverse(h, transverse[-1], fraction,
                               tf.random.experimental.stateless_fold_in(seed, 0))
        for k, (up, blocks) in enumerate(zip(self.up, self.blocks)):
            h = up(self.upsample(self.act(h)))
            if transverse is not None:
                h = mix_transverse(h, transverse[-2 - k], fraction,
                                   tf.random.experimental.stateless_fold_in(seed, k + 1))
            for block in blocks:
                h = block(h)
        raw = self.output_layer(self.act(h))
        if self.structure == "multiplicative":
            a = self.max_log_modulation
            modulation = structure_weight * a * tf.tanh(raw[..., 0] / a)
            smooth = self.smooth(z)
            if self.modulation_floor > 0:
                peak = tf.reduce_max(smooth, axis=[1, 2], keepdims=True)
                modulation = modulation * smooth / (smooth + self.modulation_floor * peak)
            profile = smooth * tf.exp(modulation)
            return {"profile": profile, "structure": profile - smooth,
                    "modulation": modulation, "bottleneck": bottleneck}
        images = self.output_activation(raw)
        if self.n_components:
            components = tf.transpose(images, [0, 3, 1, 2])
            profile = tf.reduce_sum(components, axis=1)
            out = {"profile": profile, "structure": profile, "bottleneck": bottleneck,
                   "components": components}
            if self.sed_head is None:
                logits = tf.reshape(self.sed_logits(z),
                                    [-1, self.n_components, self.n_templates])
                out["sed_weights"] = tf.nn.softmax(logits, axis=-1)
            elif redshift is not None:
                out["sed_weights"] = self.sed_head(z, redshift, colours)
            return out
        structure = images[..., 0]
        if self.smooth is None:
            return {"profile": structure, "structure": structure, "bottleneck": bottleneck}
        structure = structure_weight * structure
        return {"profile": structure + self.smooth(z), "structure": structure,
                "bottleneck": bottleneck}
