"""The hierarchical VAE in physical units: :class:`HierarchicalVAE`.

The model of Andrianomena & Tang (section 3.1, after Child 2021's VDVAE) with the
Flow-VAE's conventions (:class:`~galsim_deep.training.flow_vae.autoencoder.FlowVAE`):

* the encoder reads the stamp divided by ``flux_scale`` and the PSF divided by its peak
  (two channels);
* the decoder's image times ``flux_scale`` is the unconvolved light profile, flux per
  pixel, >= 0, centred like the training galaxies;
* latents ``z_0 .. z_K`` at several resolutions with (Eq. 3.3)
  ``p(z) = p(z_0) prod_k p(z_k | z_<k)`` and
  ``q(z | x) = q(z_0 | x) prod_k q(z_k | z_<k, x)``, diagonal Gaussians, ``p(z_0) =
  N(0, I)``.

The *top latent* ``z_0`` (the coarsest, flattened: ``latent_size`` numbers) is the
galaxy's code: :meth:`HierarchicalVAE.encode` gives its posterior, the latent flow models
it given the catalog conditions, and :meth:`HierarchicalVAE.decode` draws the lower
latents from their priors given it, from ``normals`` (``lower_size`` standard normals per
galaxy, zeros: each prior's mean).
"""
import math

import tensorflow as tf

from galsim_deep.training.flow_vae.autoencoder import stamp_and_psf_channels
from galsim_deep.training.flow_vae.losses import observation_terms

from .networks import BottomUpEncoder, TopDownDecoder, latent_count

__all__ = ["HierarchicalVAE"]


class HierarchicalVAE(tf.Module):
    """A hierarchical (VDVAE) VAE for PSF-convolved galaxy stamps.

    Parameters
    ----------
    stamp_size : int
        ``S``, pixels; a multiple of ``2**(n - 1)`` for ``n`` stages.
    encoder_blocks : list of int
        Residual blocks of each encoder stage, finest first.
    decoder_blocks : list of int
        Top-down blocks of each decoder stage, coarsest first (as many stages).
    latent_channels : list of int
        Latent channels of each decoder stage's blocks, coarsest first (0: none; the
        first > 0: the top latent has ``(S / 2**(n-1))**2 * latent_channels[0]``
        numbers).
    width, middle : int
        Channels of the networks' states and of the residual blocks' middles.
    seed : int
        Seeds the initialisers.
    """

    def __init__(self, stamp_size, encoder_blocks, decoder_blocks, latent_channels, width=32,
                 middle=8, seed=0, name="hierarchical_vae"):
        super().__init__(name=name)
        self.stamp_size = int(stamp_size)
        self.n_bands, self.n_components = 1, 0
        with self.name_scope:
            self.flux_scale = tf.Variable(1.0, trainable=False, name="flux_scale")
            self.encoder = BottomUpEncoder(list(encoder_blocks), width, middle, seed=seed,
                                           name="encoder")
            self.decoder = TopDownDecoder(stamp_size, list(decoder_blocks),
                                          list(latent_channels), width, middle,
                                          seed=seed + 100000, name="decoder")
        self.latent_shapes = tuple(tuple(shape) for shape in self.decoder.latent_shapes)
        #: Numbers of the top latent (the code the latent flow models).
        self.latent_size = latent_count(self.latent_shapes[:1])
        #: Standard normals of the lower latents per galaxy (``decode``'s ``normals``).
        self.lower_size = latent_count(self.latent_shapes[1:])
        s = self.stamp_size
        self.autoencode(tf.zeros([1, s, s]), tf.zeros([1, s, s]) + 1.0 / s ** 2)

    # ------------------------------------------------------------ layouts
    def split(self, flat, shapes):
        """Cut ``flat`` ``[B, sum of sizes]`` into ``[B, r, r, c]`` per shape (row-major)."""
        sizes = [math.prod(shape) for shape in shapes]
        parts = tf.split(flat, sizes, axis=1) if len(sizes) > 1 else [flat]
        return [tf.reshape(p, [-1, *shape]) for p, shape in zip(parts, shapes)]

    def network_input(self, stamp, psf):
        """``[B, S, S, 2]``: ``stamp / flux_scale`` and ``psf / max(psf)``
        (:func:`~galsim_deep.training.flow_vae.autoencoder.stamp_and_psf_channels`)."""
        return stamp_and_psf_channels(stamp, psf, self.flux_scale)

    # ------------------------------------------------------------ the model
    def encode(self, stamp, psf):
        """Posterior ``q(z_0 | stamp, psf)`` of the top latent.

        Parameters
        ----------
        stamp, psf : tf.Tensor
            float32 ``[B, S, S]``: observed stamps (flux per pixel) and their PSFs (unit
            sum, centred on pixel ``(S//2, S//2)``).

        Returns
        -------
        mean, stddev : tf.Tensor
            float32 ``[B, latent_size]`` (``[r0, r0, c0]`` flattened row-major).
        """
        acts = self.encoder(self.network_input(stamp, psf))
        top = self.decoder.stages[0][0]
        h = tf.tile(self.decoder.start, [tf.shape(acts[-1])[0], 1, 1, 1])
        mean, std = top.posterior_of(h, acts[-1])
        return (tf.reshape(mean, [-1, self.latent_size]),
                tf.reshape(std, [-1, self.latent_size]))

    def encode_latents(self, stamp, psf):
        """Posterior means of every latent, the top's first: ``z_k`` the mean of ``q(z_k |
        x, z_<k)`` with every ``z_<k`` at its own posterior mean (the top-down pass of
        :meth:`autoencode` without draws).

        Parameters
        ----------
        stamp, psf : tf.Tensor
            float32 ``[B, S, S]``.

        Returns
        -------
        tf.Tensor
            float32 ``[B, latent_size + lower_size]``, block after block top-down, each
            ``[r, r, c]`` row-major (the layout of ``decode``'s ``normals`` after the top
            code); its first ``latent_size`` columns are :meth:`encode`'s mean.
        """
        acts = self.encoder(self.network_input(stamp, psf))
        _, infos = self.decoder(tf.shape(acts[0])[0], acts=acts,
                                eps=[None] * len(self.latent_shapes))
        return tf.concat([tf.reshape(info["mean_q"], [tf.shape(acts[0])[0], -1])
                          for info in infos], axis=1)

    def decode(self, z, normals=None):
        """Unconvolved light profiles of top codes.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[B, latent_size]``, top latents.
        normals : tf.Tensor, optional
            float32 ``[B, lower_size]``: the lower latents ``z_k = mean_p + std_p *
            normal`` of their priors, block after block top-down, each ``[r, r, c]``
            row-major; None: the priors' means.

        Returns
        -------
        tf.Tensor
            float32 ``[B, S, S]`` >= 0, flux per pixel.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        eps = self.split(z, self.latent_shapes[:1])
        if normals is None:
            eps += [None] * (len(self.latent_shapes) - 1)
        elif self.lower_size:
            eps += self.split(tf.convert_to_tensor(normals, tf.float32), self.latent_shapes[1:])
        image, _ = self.decoder(tf.shape(z)[0], eps=eps)
        return image * self.flux_scale

    def autoencode(self, stamp, psf, eps=None):
        """Encode, draw every latent from its posterior and decode, as in training.

        Parameters
        ----------
        stamp, psf : tf.Tensor
            float32 ``[B, S, S]``.
        eps : tf.Tensor, optional
            float32 ``[B, latent_size + lower_size]`` standard normals of every latent
            (the top first, then as ``decode``'s ``normals``); None: the posteriors'
            means.

        Returns
        -------
        dict
            ``profile`` [B, S, S] (flux per pixel, unconvolved), ``kl`` [B, K] (nats, of
            each latent block ``KL(q(z_k | x, z_<k) || p(z_k | z_<k))``, the top's
            first), ``mean`` and ``stddev`` [B, latent_size] (the top latent's posterior),
            ``z_top`` [B, latent_size] (the top code drawn from it, the mean without
            ``eps``).
        """
        acts = self.encoder(self.network_input(stamp, psf))
        parts = (self.split(eps, self.latent_shapes) if eps is not None
                 else [None] * len(self.latent_shapes))
        image, infos = self.decoder(tf.shape(acts[0])[0], acts=acts, eps=parts)
        return {"profile": image * self.flux_scale,
                "kl": tf.stack([info["kl"] for info in infos], axis=1),
                "mean": tf.reshape(infos[0]["mean_q"], [-1, self.latent_size]),
                "stddev": tf.reshape(infos[0]["std_q"], [-1, self.latent_size]),
                "z_top": tf.reshape(infos[0]["z"], [-1, self.latent_size])}

    def elbo(self, stamp, psf, noise, seed=0, samples=1, convolution="zero"):
        """Evidence lower bound of each galaxy, nats (Eq. 3.1 with the hierarchy's KL).

        ``ELBO = E_q log p(stamp | z) - sum_k KL(q(z_k | x, z_<k) || p(z_k | z_<k))``,
        with ``log p(stamp | z)`` the Gaussian pixel likelihood of the profile convolved
        with the stamp's PSF under the stamp's noise, the expectation a mean over
        ``samples`` posterior draws (seeded) and no free bits: a lower bound of ``log
        p(stamp)`` (the density of the stamp's pixels, flux per pixel).

        Parameters
        ----------
        stamp, psf : array_like
            float32 ``[B, S, S]``: stamps (flux per pixel) and their PSFs (unit sum).
        noise : array_like
            float32 ``[B]``, each stamp's pixel noise variance, (flux per pixel)**2.
        seed : int
            Seed of the posterior draws (stateless: the same seed, the same ELBO).
        samples : int
            Posterior draws averaged.
        convolution : {'zero', 'circular'}
            Of the PSF (:func:`~galsim_deep.physics.forward_model.convolve_psf`).

        Returns
        -------
        tf.Tensor
            float32 ``[B]``.
        """
        stamp = tf.convert_to_tensor(stamp, tf.float32)
        n = self.latent_size + self.lower_size
        total = 0.0
        for i in range(int(samples)):
            eps = tf.random.stateless_normal([tf.shape(stamp)[0], n], seed=[int(seed), i])
            total += self.elbo_of_draw(stamp, psf, noise, eps, convolution)
        return total / float(samples)

    def elbo_of_draw(self, stamp, psf, noise, eps, convolution="zero"):
        """One posterior draw's ELBO term per galaxy, nats: ``log p(stamp | z) - sum_k KL``
        with ``z`` drawn from the posteriors by ``eps`` (float32 ``[B, latent_size +
        lower_size]`` standard normals, as :meth:`autoencode`'s); :meth:`elbo` averages
        it over seeded draws, the module's ``elbo`` signature is it."""
        stamp = tf.convert_to_tensor(stamp, tf.float32)
        psf = tf.convert_to_tensor(psf, tf.float32)
        noise = tf.convert_to_tensor(noise, tf.float32)
        out = self.autoencode(stamp, psf, eps)
        like = observation_terms(out["profile"], stamp, psf, noise,
                                 {"likelihood": "pixel", "convolution": convolution})
        return like["log_likelihood"] - tf.reduce_sum(out["kl"], axis=1)

    def log_prior_top(self, z):
        """``log N(z; 0, I)`` of top codes ``[B, latent_size]``, nats ``[B]``."""
        size = tf.cast(tf.shape(z)[1], tf.float32)
        return -0.5 * tf.reduce_sum(tf.square(z), axis=1) - 0.5 * size * math.log(2 * math.pi)
