"""A conditional Masked Autoregressive Flow for the latent space of a generator.

The flow models ``p(z | conditions)``, the aggregate posterior of a trained
encoder given catalogue quantities such as ``mag_auto``, ``flux_radius`` and
``zphot`` (Lanusse et al. 2020, section 3.2).  It is a chain of TensorFlow
Probability bijectors, from a standard normal ``eps`` to ``z``::

    z = MAF_{n-1}( ... Perm_1( MAF_1( Perm_0( MAF_0(eps) ))) ... )

* each ``MAF_i`` is a :class:`tfp.bijectors.MaskedAutoregressiveFlow` whose
  shift and log-scale come from an :class:`tfp.bijectors.AutoregressiveNetwork`
  (two masked dense layers) that also sees the standardised conditions; the
  log-scale is clipped to ``log_scale_clip`` so one stage can never blow up;
* between stages the latent dimensions are alternately shuffled by a random
  permutation (drawn once from ``seed`` and stored with the weights) and
  reversed, so every dimension is conditioned on every other one somewhere;
* conditions are standardised inside the graph with a stored mean and
  standard deviation (:meth:`ConditionalMAF.adapt_conditions`), so raw
  catalogue values go in;
* the last step is a stored affine map, ``z = shift + scale * z'`` with the
  training codes' median and MAD (:meth:`ConditionalMAF.adapt_latents`), and
  every stage starts as the identity, so training starts from a sensible
  density whatever the encoder's scale;
* draws are clipped to the training codes' range
  (:meth:`ConditionalMAF.sample_from_normal`).

All randomness of :meth:`ConditionalMAF.sample_from_normal` comes from its
``eps`` argument.

The networks are ``tf_keras`` layers because TensorFlow Probability 0.25
builds its ``AutoregressiveNetwork`` on ``tf_keras`` (Keras 2); the whole
training code uses ``tf_keras`` for the same reason.
"""
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

from galsim_deep.core.errors import InputError

tfb = tfp.bijectors

__all__ = ["ConditionalMAF", "FittedLatentFlow"]


class ConditionalMAF(tf.Module):
    """Conditional Masked Autoregressive Flow ``eps -> z`` given conditions.

    Parameters
    ----------
    latent_size : int
        Dimension ``L`` of ``z``.
    condition_size : int
        Number ``C`` of conditions.
    n_stages : int
        Number of MAF stages (8 in Lanusse et al. 2020).
    hidden_units : sequence of int
        Widths of the masked dense layers of each stage (``(256, 256)`` in the
        paper).
    log_scale_clip : (float, float)
        Bounds of each stage's log-scale output.
    activation : str
        Activation of the masked dense layers.
    seed : int
        Seeds the weight initialisers and the permutations.
    name : str
        Module name.
    """

    def __init__(self, latent_size, condition_size, n_stages=8, hidden_units=(256, 256),
                 log_scale_clip=(-5.0, 3.0), activation="relu", seed=0,
                 name="conditional_maf"):
        super().__init__(name=name)
        if latent_size < 2:
            raise InputError(f"a masked autoregressive flow needs latent_size >= 2, "
                             f"got {latent_size}")
        if condition_size < 1:
            raise InputError("a conditional flow needs at least one condition")
        self.latent_size = int(latent_size)
        self.condition_size = int(condition_size)
        self.n_stages = int(n_stages)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.activation = activation
        self.log_scale_clip = (float(log_scale_clip[0]), float(log_scale_clip[1]))
        with self.name_scope:
            self.condition_mean = tf.Variable(tf.zeros([condition_size]), trainable=False,
                                              name="condition_mean")
            self.condition_std = tf.Variable(tf.ones([condition_size]), trainable=False,
                                             name="condition_std")
            self.made = []
            for i in range(self.n_stages):
                self.made.append(tfb.AutoregressiveNetwork(
                    params=2, event_shape=[self.latent_size], conditional=True,
                    conditional_event_shape=[self.condition_size],
                    hidden_units=list(hidden_units), activation=activation,
                    kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed + 7919 * i),
                    name=f"made_{i}"))
            rng = np.random.default_rng(seed)
            perms = []
            for i in range(self.n_stages - 1):
                if i % 2 == 0:
                    perms.append(rng.permutation(self.latent_size).astype(np.int32))
                else:
                    perms.append(np.arange(self.latent_size - 1, -1, -1, dtype=np.int32))
            # Stored (not trainable) so a restored flow has the permutations it was trained with.
            self.permutations = [tf.Variable(p, trainable=False, name=f"permutation_{i}")
                                 for i, p in enumerate(perms)]
            # z = latent_shift + latent_scale * MAF(eps), see adapt_latents.
            self.latent_shift = tf.Variable(tf.zeros([latent_size]), trainable=False,
                                            name="latent_shift")
            self.latent_scale = tf.Variable(tf.ones([latent_size]), trainable=False,
                                            name="latent_scale")
            # Draws are clipped to the training codes' range, see sample_from_normal.
            self.latent_low = tf.Variable(tf.fill([latent_size], -np.inf), trainable=False,
                                          name="latent_low")
            self.latent_high = tf.Variable(tf.fill([latent_size], np.inf), trainable=False,
                                           name="latent_high")
        # Build every network now, so checkpoints restore into existing variables.
        eps = tf.zeros([1, self.latent_size])
        cond = tf.zeros([1, self.condition_size])
        for made in self.made:
            made(eps, conditional_input=cond)
        self._start_as_identity()

    def _start_as_identity(self):
        """Zero the output layer of every stage (shift 0, log-scale 0): the flow starts
        as the identity.  With random output weights the stages' scalings compound: an
        untrained 8-stage flow of 2 x 256 units gives standard-normal codes
        ``log p ~ -1e19`` and the first gradient overflows."""
        width = 2 * self.latent_size
        for made in self.made:
            out = made.trainable_variables[-3:]  # masked kernel, bias, conditional kernel
            if not all(v.shape[-1] == width for v in out):
                raise RuntimeError("unexpected AutoregressiveNetwork layout: cannot find the "
                                   "output layer to start the flow as the identity")
            for v in out:
                v.assign(tf.zeros_like(v))

    # -- conditions ---------------------------------------------------------
    def adapt_conditions(self, conditions):
        """Store the mean and standard deviation used to standardise conditions.

        Parameters
        ----------
        conditions : array_like
            ``[N, C]`` raw catalogue values of the training set.
        """
        c = np.asarray(conditions, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != self.condition_size:
            raise InputError(f"conditions must be [N, {self.condition_size}], got {c.shape}")
        if not np.all(np.isfinite(c)):
            raise InputError("conditions contain NaN or infinite values; drop or fill those "
                             "rows of the catalogue before training the flow")
        std = c.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        self.condition_mean.assign(c.mean(axis=0).astype(np.float32))
        self.condition_std.assign(std.astype(np.float32))

    def adapt_latents(self, z, stddev=None, range_sigmas=3.0):
        """Store a robust location and scale of the training codes (median, 1.4826 MAD),
        and their range.

        The flow then models the standardised codes, so it starts (as the
        identity) close to their distribution whatever the encoder's scale;
        :meth:`sample_from_normal` clips its draws to the range.

        Parameters
        ----------
        z : array_like
            ``[N, L]`` latent codes of the training set (posterior means).
        stddev : array_like, optional
            ``[N, L]`` posterior standard deviations, when the flow is fitted
            to posterior samples: the range then covers every posterior to
            ``range_sigmas`` standard deviations (``z -/+ range_sigmas *
            stddev``), not only the means.
        range_sigmas : float
            Width of that cover, in posterior standard deviations.
        """
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != self.latent_size:
            raise InputError(f"codes must be [N, {self.latent_size}], got {z.shape}")
        if not np.all(np.isfinite(z)):
            raise InputError("latent codes contain NaN or infinite values")
        low = high = z
        if stddev is not None:
            stddev = np.asarray(stddev, dtype=np.float64)
            if stddev.shape != z.shape or not np.all(np.isfinite(stddev) & (stddev >= 0)):
                raise InputError(f"posterior standard deviations must be finite, >= 0 and "
                                 f"shaped like the codes {z.shape}, got {stddev.shape}")
            low, high = z - range_sigmas * stddev, z + range_sigmas * stddev
        shift = np.median(z, axis=0)
        scale = 1.4826 * np.median(np.abs(z - shift), axis=0)
        scale = np.where(scale > 0, scale, z.std(axis=0))
        scale = np.where(scale > 0, scale, 1.0)
        self.latent_shift.assign(shift.astype(np.float32))
        self.latent_scale.assign(scale.astype(np.float32))
        self.latent_low.assign(low.min(axis=0).astype(np.float32))
        self.latent_high.assign(high.max(axis=0).astype(np.float32))

    def standardize(self, conditions):
        """Return ``(conditions - mean) / std`` with the stored statistics."""
        conditions = tf.convert_to_tensor(conditions, tf.float32)
        return (conditions - self.condition_mean) / self.condition_std

    # -- bijector -------------------------------------------------------------
    def _shift_and_log_scale_fn(self, made):
        lo, hi = self.log_scale_clip

        def fn(x, conditional_input=None):
            params = made(x, conditional_input=conditional_input)
            shift, log_scale = tf.unstack(params, num=2, axis=-1)
            return shift, tf.clip_by_value(log_scale, lo, hi)

        return fn

    def bijector(self):
        """The ``eps -> z`` chain as a TFP bijector.

        Its MAF stages are named ``maf_0 ... maf_{n-1}`` and take the
        standardised conditions as the bijector keyword argument
        ``conditional_input`` (see :meth:`bijector_kwargs`).
        """
        parts = []
        for i, made in enumerate(self.made):
            # unroll_loop: sampling's L sequential passes as L copies of the network in
            # the graph, not a while loop: an exported module's portable copy then has no
            # ONNX Loop, which OpenVINO runs faster without and reads from a file (ONNX
            # Runtime: no measurable change; the timings: docs/performance.rst, "The
            # network's runtime: OpenVINO").
            parts.append(tfb.MaskedAutoregressiveFlow(
                shift_and_log_scale_fn=self._shift_and_log_scale_fn(made), name=f"maf_{i}",
                unroll_loop=True))
            if i < self.n_stages - 1:
                parts.append(tfb.Permute(self.permutations[i], name=f"permute_{i}"))
        parts += [tfb.Scale(self.latent_scale, name="latent_scale"),
                  tfb.Shift(self.latent_shift, name="latent_shift")]
        # Chain applies its list right to left: parts[0] acts first on eps.
        return tfb.Chain(parts[::-1], name="conditional_maf")

    def bijector_kwargs(self, conditions):
        """Keyword arguments passing standardised ``conditions`` to every MAF stage."""
        c = self.standardize(conditions)
        return {f"maf_{i}": {"conditional_input": c} for i in range(self.n_stages)}

    # -- the public maps --------------------------------------------------------
    def sample_from_normal(self, eps, conditions):
        """Map standard-normal draws to latent codes: ``z = forward(eps | conditions)``,
        clipped per coordinate to the range of the training codes.

        The clip keeps the generator on codes of the kind it was trained on: a
        flow extrapolates badly where the training codes are few (the
        brightest, largest galaxies), and a draw far beyond every training code
        decodes to nonsense (non-finite or absurdly bright images).  The
        run log of ``galsim-deep model train-flow`` records the fraction of draws
        the clip changes.  Flows whose :meth:`adapt_latents` predates the
        clip have an infinite range and are not clipped.

        Parameters
        ----------
        eps : tf.Tensor
            float32 ``[N, L]`` standard-normal draws; all the randomness.
        conditions : tf.Tensor
            float32 ``[N, C]`` raw catalogue values.

        Returns
        -------
        tf.Tensor
            float32 ``[N, L]``.
        """
        z = self.bijector().forward(tf.convert_to_tensor(eps, tf.float32),
                                    **self.bijector_kwargs(conditions))
        return tf.clip_by_value(z, self.latent_low, self.latent_high)

    def inverse(self, z, conditions):
        """Map latent codes back to ``eps``: ``eps = inverse(z | conditions)``."""
        return self.bijector().inverse(tf.convert_to_tensor(z, tf.float32),
                                       **self.bijector_kwargs(conditions))

    def forward_log_det_jacobian(self, eps, conditions):
        """``log |det d z / d eps|`` at ``eps``, float32 ``[N]``."""
        return self.bijector().forward_log_det_jacobian(
            tf.convert_to_tensor(eps, tf.float32), event_ndims=1,
            **self.bijector_kwargs(conditions))

    def log_prob(self, z, conditions):
        """Log-density of latent codes given conditions.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[N, L]``.
        conditions : tf.Tensor
            float32 ``[N, C]`` raw catalogue values.

        Returns
        -------
        tf.Tensor
            float32 ``[N]``, ``log p(z | conditions)`` in nats.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        bij = self.bijector()
        kwargs = self.bijector_kwargs(conditions)
        eps = bij.inverse(z, **kwargs)
        base = tf.reduce_sum(-0.5 * tf.square(eps) - 0.5 * np.log(2 * np.pi), axis=-1)
        return base + bij.inverse_log_det_jacobian(z, event_ndims=1, **kwargs)


class FittedLatentFlow:
    """A conditional MAF fitted on standardised codes, ``u = (z - shift) / scale``.

    Parameters
    ----------
    flow : ConditionalMAF
        The flow of ``p(u | conditions)``.
    shift, scale : ndarray [L]
        The standardisation of the codes.
    """

    def __init__(self, flow, shift, scale):
        self.flow = flow
        self.shift = np.asarray(shift, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    def log_prob(self, codes, conditions, batch_size=4096):
        """``log p(z | conditions)`` of raw codes (nats): the flow's density of the
        standardised codes minus ``sum(log scale)``.

        Parameters
        ----------
        codes : array_like [M, L]
        conditions : array_like [M, C]
        batch_size : int
            Codes per flow evaluation.

        Returns
        -------
        ndarray [M]
        """
        u = (np.asarray(codes, dtype=np.float64) - self.shift) / self.scale
        conditions = np.asarray(conditions, dtype=np.float32)
        out = [self.flow.log_prob(u[i:i + batch_size].astype(np.float32),
                                  conditions[i:i + batch_size]).numpy().astype(np.float64)
               for i in range(0, len(u), batch_size)]
        return (np.concatenate(out) if out else np.zeros(0)) - np.sum(np.log(self.scale))

    __call__ = log_prob

    def sample(self, conditions, seed, clip=10.0, batch_size=4096, temperature=1.0):
        """Draw one raw code per row of ``conditions``: ``z = shift + scale * u`` with
        ``u`` the flow's draw from standard-normal ``eps`` of
        ``numpy.random.default_rng(seed)``, clipped to ``+-clip`` (the range
        :func:`~galsim_deep.training.latent_flow.fit_code_flow` trained on).

        Parameters
        ----------
        conditions : array_like [M, C]
            Raw catalogue values.
        seed : int or sequence of int
            All the randomness (same seed, same codes).
        clip : float
            Robust standard deviations the standardised draws are clipped to.
        batch_size : int
            Codes per flow evaluation.
        temperature : float
            The standard deviation of ``eps`` (1: the flow's own density; below 1, draws
            nearer its mode, the usual trade of variety for typical samples).

        Returns
        -------
        ndarray [M, L]
        """
        if not np.isfinite(temperature) or temperature <= 0:
            raise InputError(f"temperature must be a positive number, got {temperature!r}")
        conditions = np.asarray(conditions, dtype=np.float32)
        eps = float(temperature) * np.random.default_rng(seed).standard_normal(
            (len(conditions), len(self.shift))).astype(np.float32)
        out = [self.flow.sample_from_normal(eps[i:i + batch_size],
                                            conditions[i:i + batch_size]).numpy()
               for i in range(0, len(eps), batch_size)]
        u = np.clip(np.concatenate(out) if out else np.zeros((0, len(self.shift))),
                    -clip, clip)
        return self.shift + self.scale * u

    def as_module_flow(self, clip=10.0):
        """A :class:`ConditionalMAF` of the raw codes, standardisation and clip folded in:
        what a module's ``sample`` and ``log_prob`` signatures hold.

        The copy has this flow's stages and conditions' statistics, its affine map set to
        ``z = shift + scale * u`` and its range to ``shift -+ clip * scale``, so its
        ``sample_from_normal(eps, c)`` is :meth:`sample`'s code for the same ``eps`` and
        its ``log_prob`` is :meth:`log_prob` (to float32 rounding).  This object is left
        unchanged.

        Parameters
        ----------
        clip : float
            Robust standard deviations the draws are clipped to (:meth:`sample`'s).

        Returns
        -------
        ConditionalMAF

        Examples
        --------
        >>> module_flow = fitted.as_module_flow()            # doctest: +SKIP
        >>> z = module_flow.sample_from_normal(eps, conditions)  # doctest: +SKIP
        """
        src = self.flow
        copy = ConditionalMAF(src.latent_size, src.condition_size, n_stages=src.n_stages,
                              hidden_units=src.hidden_units, log_scale_clip=src.log_scale_clip,
                              activation=src.activation, name=src.name)
        for target, value in zip(copy.variables, src.variables, strict=True):
            target.assign(value)
        copy.latent_shift.assign(self.shift.astype(np.float32))
        copy.latent_scale.assign(self.scale.astype(np.float32))
        copy.latent_low.assign((self.shift - clip * self.scale).astype(np.float32))
        copy.latent_high.assign((self.shift + clip * self.scale).astype(np.float32))
        return copy
