"""The hierarchical VAE's training objective: the negative ELBO through the PSF and the noise.

Per stamp, the loss minimised is::

    - log p(x | z)                          the Flow-VAE's forward model
    + max(top_free_bits, KL_0)               the top latent's KL, free bits
    + w(step) * sum_k>0 max(free_bits, KL_k)  the lower blocks' KL
    + tv_factor * TV(profile / sigma)        smoothness of the unconvolved profile
    - prior_path_weight * log p(x | z_0, lower latents at their priors' means)

with ``log p(x | z)`` the likelihood of the decoded profile convolved with the stamp's own
PSF under the stamp's own noise
(:func:`~galsim_deep.training.flow_vae.losses.observation_terms`, shared with the
Flow-VAE: Lanusse et al. 2020, Eq. 4 or 5), and ``KL_k = KL(q(z_k | x, z_<k) ||
p(z_k | z_<k))`` of each latent block, the top's against ``N(0, I)`` (Andrianomena & Tang,
Eq. 3.1 and 3.3).  With ``free_bits`` 0, ``lower_kl_weight`` 1 and ``tv_factor`` 0 the
loss is the negative ELBO.  A ``lower_kl_weight`` above 1 (a beta-VAE's weight on the lower
blocks alone) holds the lower latents' posteriors near their priors, which sampling draws
from, and makes the top latent, the code the flow conditions on the catalog, the cheaper
place for what the stamp needs.

Two keys steer the galaxy into the top latent, the code the catalog reaches: the top
latent's own free bits (``top_free_bits``, default ``free_bits``), nats it carries at no
cost, and a warm-up of the lower blocks' weight, ``w(step)`` falling linearly from
``lower_kl_warmup.start_weight`` to ``lower_kl_weight`` over ``lower_kl_warmup.steps``
(:func:`lower_kl_weight`): early in training the lower latents are dear, so the decoder
first learns to draw the galaxy from the top code, and the lower blocks then add what it
misses (a KL warm-up per block, as in Sønderby et al. 2016's, but towards the top).

A third, ``prior_path_weight``, adds the likelihood of the stamp under the image that the
top code alone draws, every lower latent at its prior's mean (:meth:`decode
<galsim_deep.training.hierarchical_vae.autoencoder.HierarchicalVAE.decode>`, the path
sampling takes): the top code must then carry the galaxy, and the priors learn to draw it
from there.  It is an auxiliary term, not part of the ELBO.
"""
import tensorflow as tf

from galsim_deep.physics.forward_model import total_variation
from galsim_deep.training.flow_vae.losses import free_bits_kl, observation_terms

__all__ = ["hierarchical_vae_loss", "lower_kl_weight"]


def lower_kl_weight(config, step):
    """The lower blocks' KL weight at a step: ``lower_kl_warmup.start_weight`` falling
    linearly to ``lower_kl_weight`` over ``lower_kl_warmup.steps``, then constant.

    Parameters
    ----------
    config : dict
        The recipe's ``hierarchical_vae`` section.
    step : int or tf.Tensor
        The training step (the optimizer's iterations).

    Returns
    -------
    tf.Tensor
        float32 scalar.
    """
    final = tf.constant(float(config.get("lower_kl_weight", 1.0)), tf.float32)
    warmup = config.get("lower_kl_warmup") or {}
    steps = int(warmup.get("steps", 0))
    if steps == 0:
        return final
    start = tf.constant(float(warmup.get("start_weight", 1.0)), tf.float32)
    left = tf.maximum(0.0, 1.0 - tf.cast(step, tf.float32) / float(steps))
    return final + (start - final) * left


def hierarchical_vae_loss(model, batch, eps, config, step=0):
    """Per-stamp loss terms of one batch.

    Parameters
    ----------
    model : HierarchicalVAE
    batch : dict
        ``stamp`` [B, S, S], ``psf`` [B, S, S] (unit sum), ``noise_variance`` [B] ((flux
        per pixel)**2) and, for the Fourier likelihood, ``noise_power`` [B, S, S//2+1].
    eps : tf.Tensor
        float32 ``[B, latent_size + lower_size]`` standard normals of every latent's
        posterior draw.
    config : dict
        The recipe's ``hierarchical_vae`` section: ``likelihood``, ``convolution``,
        ``free_bits`` (nats per latent block), ``top_free_bits`` (default
        ``free_bits``), ``lower_kl_weight`` (default 1), ``lower_kl_warmup``,
        ``prior_path_weight`` (default 0), ``tv_factor``.
    step : int or tf.Tensor
        The training step, for the lower blocks' warm-up (:func:`lower_kl_weight`).

    Returns
    -------
    dict of tf.Tensor
        ``loss`` [B] (what is minimised), ``neg_log_likelihood`` [B] (nats), ``kl`` [B]
        (the sum over blocks, nats, no free bits), ``kl_top`` [B] (the top latent's),
        ``kl_blocks`` [B, K], ``tv`` [B] (noise units), ``reduced_chi2`` [B], ``profile``
        [B, S, S], ``prior_path_chi2`` [B] (the reduced chi2 of the prior path's image; 0
        without ``prior_path_weight``).
    """
    stamp, psf, variance = batch["stamp"], batch["psf"], batch["noise_variance"]
    out = model.autoencode(stamp, psf, eps)
    observed = observation_terms(out["profile"], stamp, psf, variance, config,
                                 batch.get("noise_power"))
    kl_blocks = out["kl"]
    sigma = tf.sqrt(variance)[:, None, None]
    tv = total_variation(out["profile"] / sigma)
    top_free_bits = config.get("top_free_bits")
    top_free_bits = config["free_bits"] if top_free_bits is None else top_free_bits
    loss = (-observed["log_likelihood"] + free_bits_kl(kl_blocks[:, 0], top_free_bits)
            + lower_kl_weight(config, step)
            * tf.reduce_sum(free_bits_kl(kl_blocks[:, 1:], config["free_bits"]), axis=1)
            + config["tv_factor"] * tv)
    prior_path_chi2 = tf.zeros_like(loss)
    weight = float(config.get("prior_path_weight", 0.0))
    if weight:
        prior_path = observation_terms(model.decode(out["z_top"]), stamp, psf, variance,
                                       config, batch.get("noise_power"))
        loss -= weight * prior_path["log_likelihood"]
        prior_path_chi2 = prior_path["reduced_chi2"]
    return {"loss": loss, "neg_log_likelihood": -observed["log_likelihood"],
            "prior_path_chi2": prior_path_chi2,
            "kl": tf.reduce_sum(kl_blocks, axis=1), "kl_top": kl_blocks[:, 0],
            "kl_blocks": kl_blocks, "tv": tv, "reduced_chi2": observed["reduced_chi2"],
            "profile": out["profile"]}
