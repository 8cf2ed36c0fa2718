"""The Flow-VAE training objective (Lanusse et al. 2020, Eq. 10 and section 4.2.1).

Per stamp, the loss minimised is::

    - log p(x | z)                    likelihood through the PSF and the noise
    + max(free_bits, KL(q(z|x) || N(0, I)))
    + tv_factor * TV(profile / sigma)  smoothness of the unconvolved profile
    + spectral_factor * B(profile / sigma)  the power the PSF removes, pulled to zero
    + l1_factor * sum|structure / sigma|  sparsity: the sky around a galaxy is dark
    + log_smooth_factor * R(profile / sigma)  smooth wings: roughness of the log profile
    + modulation_l2 * sum w m**2      a multiplicative structure stays 1 where unconstrained
    + w(step) * |h_in - h_out|**2     bottleneck l2, decaying to zero

(a chromatic model's terms summed over its bands, each band's profile
:func:`~galsim_deep.physics.forward_model.band_profiles` of its components), with
``log p(x | z)`` from :func:`~galsim_deep.physics.forward_model.pixel_log_likelihood`
(Eq. 4) or :func:`~galsim_deep.physics.forward_model.fourier_log_likelihood` (Eq. 5)
of ``convolve_psf(decoder(z), psf)``.  The total variation is measured in
units of the stamp's noise standard deviation, so ``tv_factor`` is relative to
the chi-square; so is the L1 norm (a Laplace prior on the unconvolved profile,
which pulls the faint light the noise cannot constrain towards zero; 0 by
default).  With a smooth bulge + disk in the decoder (``smooth_profile:
bulge_disk``) the L1 norm is that of the *structure* image only: the prior
prices light that the smooth profile does not explain; and before step
``structure_from_step`` the structure image is left out (the galaxies are
fitted by the bulge + disk alone, so the smooth profile learns first).
Free bits are applied to each stamp's KL divergence.  ``R`` is
:func:`log_roughness`: a galaxy's surface brightness falls smoothly in its
wings, also where the noise hides it, so the squared neighbour differences of
``log(profile / sigma + log_smooth_floor)`` price patches and holes of the
faint light that neither the likelihood nor the priors above see (0 by
default).  ``B`` is :func:`~galsim_deep.physics.forward_model.power_beyond_psf` with
the stamp's own PSF: an isotropic Gaussian prior that prices each Fourier mode of the
profile by the fraction of its power the PSF removes, so the decoder gains nothing by
drawing structure the training stamps cannot show (0 by default; the total variation,
by contrast, prices gradients along the pixel axes and favours flat patches with sharp,
axis-aligned edges).
"""
import tensorflow as tf

from galsim_deep.physics import forward_model as physics

__all__ = ["linear_decay", "kl_standard_normal", "free_bits_kl", "log_roughness",
           "modulation_weight", "observation_terms", "flow_vae_loss"]


def linear_decay(initial, step, decay_steps):
    """``initial * max(0, 1 - step / decay_steps)``: a strength that decays to zero.

    Parameters
    ----------
    initial : float
        Value at step 0.
    step : int or tf.Tensor
        Training step.
    decay_steps : int
        Step at which the value reaches zero (0: always zero).

    Returns
    -------
    tf.Tensor
        float32 scalar.
    """
    step = tf.cast(step, tf.float32)
    if decay_steps <= 0:
        return tf.constant(0.0)
    return initial * tf.maximum(0.0, 1.0 - step / float(decay_steps))


def kl_standard_normal(mean, stddev):
    """KL divergence of ``N(mean, diag(stddev**2))`` from ``N(0, I)``, nats, ``[B]``."""
    return tf.reduce_sum(0.5 * (tf.square(mean) + tf.square(stddev) - 1.0)
                         - tf.math.log(stddev), axis=-1)


def free_bits_kl(kl, free_bits):
    """``max(free_bits, kl)``: no pressure on a posterior until it carries ``free_bits`` nats."""
    return tf.maximum(tf.cast(free_bits, tf.float32), kl)


def log_roughness(image, floor):
    """Roughness of the logarithm of images: squared differences of neighbours' logs.

    Parameters
    ----------
    image : tf.Tensor
        float32 ``[B, S, S]`` >= 0, a profile in units of the noise standard
        deviation.
    floor : float
        Added before the logarithm (same units): light far below it counts as
        sky, so the empty sky costs nothing.

    Returns
    -------
    tf.Tensor
        float32 ``[B]``, ``sum (w[i+1, j] - w[i, j])**2 + sum (w[i, j+1] -
        w[i, j])**2`` with ``w = log(image + floor)``: 0 for a flat image,
        about ``k**2`` per pixel for an exponential profile ``exp(-k r)``
        (``r`` in pixels) far above the floor; a one-pixel hole in light far
        above the floor costs about ``4 log(image / floor)**2``.
    """
    log_image = tf.math.log(tf.maximum(tf.convert_to_tensor(image, tf.float32), 0.0) + floor)
    dy = log_image[:, 1:, :] - log_image[:, :-1, :]
    dx = log_image[:, :, 1:] - log_image[:, :, :-1]
    return tf.reduce_sum(tf.square(dy), axis=[1, 2]) + tf.reduce_sum(tf.square(dx), axis=[1, 2])


def modulation_weight(out, sigma, config):
    """Per-pixel weight ``w`` of the modulation prior ``modulation_l2 * sum w m**2``.

    ``modulation_weighting: uniform`` (default): 1 everywhere.  ``below_noise``:
    ``w = 1 / (1 + (s / sigma)**2)`` for the smooth light ``s`` (the bulge + disk,
    before its modulation) and the stamp's noise ``sigma``: about 1 where the smooth
    light is below the noise, where the likelihood cannot see a modulation, and
    falling as ``(sigma / s)**2`` inside the galaxy, where it can.

    Parameters
    ----------
    out : dict
        The decoder's outputs (``profile``, ``structure``: a multiplicative
        decoder's ``profile - smooth``).
    sigma : tf.Tensor
        float32 ``[B, 1, 1]``, the noise standard deviation in the profile's units.
    config : dict
        The ``vae`` section.

    Returns
    -------
    tf.Tensor
        float32 ``[B, S, S]`` (or a scalar 1).
    """
    if config.get("modulation_weighting", "uniform") == "uniform":
        return tf.constant(1.0)
    smooth = out["profile"] - out["structure"]
    return 1.0 / (1.0 + tf.square(smooth / sigma))


def observation_terms(profile, stamp, psf, noise_variance, config, noise_power=None):
    """The forward model of every stamp: ``log p(stamp | profile)`` through its PSF and noise.

    The unconvolved ``profile`` is convolved with the stamp's own PSF
    (:func:`~galsim_deep.physics.forward_model.convolve_psf`) and compared with the
    stamp under its own Gaussian noise: the pixel likelihood (Lanusse et al. 2020, Eq. 4)
    or the Fourier one with the noise power spectrum (Eq. 5).

    Parameters
    ----------
    profile : tf.Tensor
        float32 ``[B, S, S]``, unconvolved light profiles, flux per pixel.
    stamp, psf : tf.Tensor
        float32 ``[B, S, S]``: observed stamps (flux per pixel) and their PSFs (unit sum).
    noise_variance : tf.Tensor
        float32 ``[B]``, (flux per pixel)**2.
    config : dict
        ``likelihood`` ('pixel' | 'fourier') and ``convolution`` ('zero' | 'circular').
    noise_power : tf.Tensor, optional
        float32 ``[B, S, S//2+1]``, for the Fourier likelihood.

    Returns
    -------
    dict of tf.Tensor
        ``log_likelihood`` [B] (nats), ``reduced_chi2`` [B] (mean squared residual in
        units of the pixel noise variance, a diagnostic: about 1 for a good fit) and
        ``convolved`` [B, S, S].
    """
    convolved = physics.convolve_psf(profile, psf, mode=config["convolution"])
    if config["likelihood"] == "fourier":
        log_like = physics.fourier_log_likelihood(stamp, convolved, noise_power)
    else:
        log_like = physics.pixel_log_likelihood(stamp, convolved, noise_variance)
    sigma = tf.sqrt(noise_variance)[:, None, None]
    reduced_chi2 = tf.reduce_mean(tf.square((stamp - convolved) / sigma), axis=[1, 2])
    return {"log_likelihood": log_like, "reduced_chi2": reduced_chi2, "convolved": convolved}


def flow_vae_loss(model, batch, eps, step, config, seed):
    """Per-stamp loss terms of one batch.

    Parameters
    ----------
    model : FlowVAE
        The autoencoder.
    batch : dict
        ``stamp`` [B, S, S], ``psf`` [B, S, S], ``noise_variance`` [B] and,
        for the Fourier likelihood, ``noise_power`` [B, S, S//2+1]; for a
        chromatic model the same with a band axis after the first
        (``[B, nb, S, S]``, ``[B, nb]``) and ``ratios`` [B, T, nb]
        (:func:`~galsim_deep.physics.forward_model.template_ratios` at each galaxy's
        redshift), ``redshift`` [B] and ``colours`` [B, nb - 1] for an SED head
        that reads them: the likelihood and the priors then sum over the bands
        (``reduced_chi2`` averages them).
    eps : tf.Tensor
        float32 ``[B, L]`` standard-normal draws for the reparametrisation.
    step : tf.Tensor
        Training step (drives the decays).
    config : dict
        The recipe's ``vae`` section: ``likelihood`` ('pixel' | 'fourier'),
        ``free_bits``, ``tv_factor``, ``spectral_factor``, ``l1_factor``,
        ``log_smooth_factor``,
        ``log_smooth_floor``, ``modulation_l2``, ``transverse_fraction``,
        ``transverse_decay_steps``, ``bottleneck_l2``, ``bottleneck_decay_steps``,
        ``convolution`` ('zero' | 'circular').
    seed : tf.Tensor
        int32 ``[2]`` stateless seed of the transverse masks.

    Returns
    -------
    dict of tf.Tensor
        ``loss`` [B] (what is minimised), ``neg_log_likelihood``, ``kl``,
        ``tv``, ``spectral``, ``l1`` (in noise units), ``log_smooth`` (:func:`log_roughness`),
        ``modulation`` (``sum m^2`` of a multiplicative structure, else 0),
        ``bottleneck_l2`` [B], ``reduced_chi2`` [B] (mean squared pixel
        residual over the noise variance, a diagnostic: about 1 for a good fit),
        the scalars ``transverse_fraction`` and ``bottleneck_weight``, and
        ``profile`` [B, S, S].
    """
    fraction = linear_decay(config["transverse_fraction"], step,
                            config["transverse_decay_steps"])
    weight = linear_decay(config["bottleneck_l2"], step, config["bottleneck_decay_steps"])
    # With a smooth bulge + disk, the structure image joins at structure_from_step.
    structure = tf.cast(tf.cast(step, tf.float32) >= float(config.get("structure_from_step", 0)),
                        tf.float32)
    out = model.autoencode(batch["stamp"], batch["psf"], eps, fraction, seed,
                           structure_weight=structure, redshift=batch.get("redshift"),
                           colours=batch.get("colours"))
    profile, structure_image = out["profile"], out["structure"]
    stamp, psf, variance = batch["stamp"], batch["psf"], batch["noise_variance"]
    power = batch.get("noise_power")
    n_bands = None
    if "ratios" in batch:
        # A chromatic model: every band's profile is fitted to its stamp, the terms of a
        # galaxy summed over its bands.
        bands, _ = physics.band_profiles(out["components"], out["sed_weights"],
                                         batch["ratios"])
        n_bands = tf.shape(bands)[1]

        def flat(x):
            return tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))

        profile = structure_image = flat(bands)
        stamp, psf, variance = flat(stamp), flat(psf), tf.reshape(variance, [-1])
        power = None if power is None else flat(power)

    def per_galaxy(x):
        return x if n_bands is None else tf.reduce_sum(tf.reshape(x, [-1, n_bands]), axis=1)

    observed = observation_terms(profile, stamp, psf, variance, config, power)
    log_like = per_galaxy(observed["log_likelihood"])
    kl = kl_standard_normal(out["mean"], out["stddev"])
    sigma = tf.sqrt(variance)[:, None, None]
    reduced_chi2 = per_galaxy(observed["reduced_chi2"])
    if n_bands is not None:
        reduced_chi2 = reduced_chi2 / tf.cast(n_bands, tf.float32)
    tv = per_galaxy(physics.total_variation(profile / sigma))
    spectral = (per_galaxy(physics.power_beyond_psf(profile / sigma, psf))
                if config.get("spectral_factor", 0.0) else tf.zeros_like(kl))
    l1 = per_galaxy(tf.reduce_sum(tf.abs(structure_image / sigma), axis=[1, 2]))
    log_smooth = per_galaxy(log_roughness(profile / sigma, config.get("log_smooth_floor", 1e-3)))
    # A multiplicative structure's log-modulation: where the noise hides the light, the prior
    # keeps it at 0, so the light there is the smooth profile's own.
    modulation = (tf.reduce_sum(modulation_weight(out, sigma, config)
                                * tf.square(out["modulation"]), axis=[1, 2])
                  if "modulation" in out else tf.zeros_like(kl))
    loss = (-log_like + free_bits_kl(kl, config["free_bits"]) + config["tv_factor"] * tv
            + config.get("spectral_factor", 0.0) * spectral
            + config.get("l1_factor", 0.0) * l1
            + config.get("log_smooth_factor", 0.0) * log_smooth + weight * out["bottleneck_l2"]
            + config.get("modulation_l2", 0.0) * modulation)
    return {"loss": loss, "neg_log_likelihood": -log_like, "reduced_chi2": reduced_chi2,
            "kl": kl, "tv": tv, "spectral": spectral, "l1": l1, "log_smooth": log_smooth,
            "modulation": modulation,
            "bottleneck_l2": out["bottleneck_l2"], "transverse_fraction": fraction,
            "bottleneck_weight": weight, "profile": out["profile"]}
