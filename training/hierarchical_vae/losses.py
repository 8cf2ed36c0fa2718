"""The hierarchical VAE's training objective: the negative ELBO through the PSF and the noise.

Per stamp, the loss minimised is::

    - log p(x | z)                          the Flow-VAE's forward model
    + max(free_bits, KL_0)                   the top latent's KL, free bits
    + lower_kl_weight * sum_k>0 max(free_bits, KL_k)   the lower blocks' KL
    + tv_factor * TV(profile / sigma)        smoothness of the unconvolved profile

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
"""
import tensorflow as tf

from galsim_deep.physics.forward_model import total_variation
from galsim_deep.training.flow_vae.losses import free_bits_kl, observation_terms

__all__ = ["hierarchical_vae_loss"]


def hierarchical_vae_loss(model, batch, eps, config):
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
        ``free_bits`` (nats per latent block), ``lower_kl_weight`` (default 1),
        ``tv_factor``.

    Returns
    -------
    dict of tf.Tensor
        ``loss`` [B] (what is minimised), ``neg_log_likelihood`` [B] (nats), ``kl`` [B]
        (the sum over blocks, nats, no free bits), ``kl_top`` [B] (the top latent's),
        ``kl_blocks`` [B, K], ``tv`` [B] (noise units), ``reduced_chi2`` [B], ``profile``
        [B, S, S].
    """
    stamp, psf, variance = batch["stamp"], batch["psf"], batch["noise_variance"]
    out = model.autoencode(stamp, psf, eps)
    observed = observation_terms(out["profile"], stamp, psf, variance, config,
                                 batch.get("noise_power"))
    kl_blocks = out["kl"]
    sigma = tf.sqrt(variance)[:, None, None]
    tv = total_variation(out["profile"] / sigma)
    kl_terms = free_bits_kl(kl_blocks, config["free_bits"])
    loss = (-observed["log_likelihood"] + kl_terms[:, 0]
            + config.get("lower_kl_weight", 1.0) * tf.reduce_sum(kl_terms[:, 1:], axis=1)
            + config["tv_factor"] * tv)
    return {"loss": loss, "neg_log_likelihood": -observed["log_likelihood"],
            "kl": tf.reduce_sum(kl_blocks, axis=1), "kl_top": kl_blocks[:, 0],
            "kl_blocks": kl_blocks, "tv": tv, "reduced_chi2": observed["reduced_chi2"],
            "profile": out["profile"]}
