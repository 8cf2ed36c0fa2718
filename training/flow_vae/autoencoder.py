"""The Flow-VAE autoencoder: encoder, bottleneck and decoder in physical units.

:class:`FlowVAE` wraps the ResNet :class:`~.networks.Encoder` and
:class:`~.networks.Decoder` with the conversions between the dataset's units
(flux per pixel, PSFs of unit sum) and the networks' units:

* the stamp is divided by ``flux_scale`` (a stored number set from the
  training data, see :func:`galsim_deep.training.flux_scale.auto_flux_scale`) before the encoder;
* the PSF, the encoder's second channel, is divided by its peak value;
* the decoder's output is multiplied by ``flux_scale``, so a decoded profile
  is in the dataset's flux per pixel, unconvolved and centred like the
  training galaxies.

A *chromatic* Flow-VAE (``n_components > 0``) encodes the stamps of all
``n_bands`` bands at once (one stamp and one PSF channel per band) and
decodes ``K`` component images with their SED-template weights
(:class:`~.networks.Decoder`); its profile in each band is
:func:`galsim_deep.physics.forward_model.band_profiles`.

The latent flow of the paper's "Flow-VAE" is a separate
:class:`~galsim_deep.training.maf.ConditionalMAF`, trained afterwards on the
frozen encoder.
"""
import tensorflow as tf
import tf_keras

from .networks import Decoder, Encoder

__all__ = ["FlowVAE", "stamp_and_psf_channels"]


def stamp_and_psf_channels(stamp, psf, flux_scale):
    """An encoder's input from mono stamps and PSFs ``[B, S, S]``: ``stamp / flux_scale``
    and ``psf / max(psf)`` stacked as ``[B, S, S, 2]`` (float32)."""
    stamp = tf.convert_to_tensor(stamp, tf.float32)
    psf = tf.convert_to_tensor(psf, tf.float32)
    peak = tf.reduce_max(psf, axis=[-2, -1], keepdims=True)
    return tf.stack([stamp / flux_scale, psf / peak], axis=-1)


class FlowVAE(tf.Module):
    """A variational autoencoder for PSF-convolved galaxy stamps.

    Parameters
    ----------
    stamp_size : int
        ``S``, pixels.
    latent_size : int
        Dimension of ``z``.
    n_stages, base_depth, max_depth : int
        Network sizes (see :mod:`~galsim_deep.training.flow_vae.networks`).
    activation : str
        Activation function name.
    output_activation : {"softplus", "relu"}
        The decoder's last activation (:class:`Decoder`).
    smooth_profile : {"none", "bulge_disk"}
        An analytic bulge + disk under the decoder's image (:class:`Decoder`).
    upsampling : {"nearest", "bilinear"}
        The decoder's interpolation between stages (:class:`Decoder`).
    structure : {"additive", "multiplicative", "none"}
        How the decoder's image joins its smooth profile, or none: the smooth profile
        alone (:class:`Decoder`).
    max_log_modulation, modulation_floor : float
        The bound of a multiplicative structure's log-modulation, and the
        fraction of the smooth light's peak where it fades (:class:`Decoder`).
    seed : int
        Seeds the initialisers.
    n_bands : int, optional
        Bands of the encoder's input (1: mono).
    n_components, n_templates : int, optional
        A chromatic decoder's components and SED templates (0: mono).
    sed_redshift : bool, optional
        A chromatic decoder's SED head also reads the redshift
        (:class:`~.sed_head.SEDHead`); :meth:`decode_components` and
        :meth:`autoencode` then take ``redshift``.
    sed_colours : bool, optional
        With ``sed_redshift``, the head also reads the catalog colour of each
        band after the reference (``n_bands - 1`` colours, ``mag_band -
        mag_auto``); :meth:`decode_components` and :meth:`autoencode` then take
        ``colours``.
    """

    def __init__(self, stamp_size, latent_size, n_stages, base_depth=16, max_depth=512,
                 activation="elu", output_activation="softplus", smooth_profile="none",
                 upsampling="nearest", seed=0, name="flow_vae", n_bands=1, n_components=0,
                 n_templates=4, structure="additive", max_log_modulation=3.0,
                 modulation_floor=0.0, sed_redshift=False, sed_colours=False):
        super().__init__(name=name)
        self.stamp_size = int(stamp_size)
        self.latent_size = int(latent_size)
        self.n_bands = int(n_bands)
        self.n_components = int(n_components)
        with self.name_scope:
            self.flux_scale = tf.Variable(1.0, trainable=False, name="flux_scale")
            self.encoder = Encoder(latent_size, n_stages, base_depth, max_depth, activation,
                                   seed=seed, n_bands=self.n_bands, name="encoder")
            self.decoder = Decoder(stamp_size, n_stages, base_depth, max_depth, activation,
                                   seed=seed + 100000, output_activation=output_activation,
                                   smooth_profile=smooth_profile, upsampling=upsampling,
                                   n_components=n_components, n_templates=n_templates,
                                   structure=structure,
                                   max_log_modulation=max_log_modulation,
                                   modulation_floor=modulation_floor,
                                   sed_redshift=sed_redshift,
                                   sed_colours=self.n_bands - 1 if sed_colours else 0,
                                   name="decoder")
        # Build the layers now so checkpoints restore into existing variables.
        s = self.stamp_size
        mean, _, _ = self.encoder(tf.zeros([1, s, s, 2 * self.n_bands]))
        self.decoder(mean, redshift=tf.zeros([1]) if self.sed_redshift else None,
                     colours=tf.zeros([1, self.n_bands - 1]) if self.sed_colours else None)

    @property
    def sed_redshift(self):
        """Whether the decoder's SED head reads the redshift (:class:`~.sed_head.SEDHead`)."""
        return self.decoder.sed_redshift

    @property
    def sed_colours(self):
        """Whether the decoder's SED head also reads the catalog colours."""
        return bool(self.decoder.sed_colours)

    def _require_sed_inputs(self, redshift, colours):
        if self.sed_redshift and redshift is None:
            raise ValueError("this model's SED head reads the redshift: pass redshift")
        if self.sed_colours and colours is None:
            raise ValueError("this model's SED head reads the catalog colours: pass colours "
                             "(mag_band - mag_auto of each band after the reference)")

    def adapt_mono_weights(self, mono, seed=0):
        """Start a chromatic model from a mono model's weights.

        Every layer the two share (same shape) is copied; the multi-band
        embedding takes the mono embedding's weights on the reference band's
        stamp and PSF channels (band 0) and zeros on the others; component 0
        takes the mono output layer, the other components small new weights
        and the mono bias; the SED layer keeps its initial (random, non-zero)
        weights.  So the model starts as the mono one in the reference band
        (its other components add a faint floor) and encodes from the
        reference band alone.

        Parameters
        ----------
        mono : FlowVAE
            A mono model of the same sizes (``n_bands=1``, ``n_components=0``),
            e.g. warm-started from a module or a run.
        seed : int
            Seed of the new components' weights.
        """
        for part in ("encoder", "decoder"):
            for src, dst in zip(getattr(mono, part).variables, getattr(self, part).variables):
                if src.shape == dst.shape:
                    dst.assign(src)
        embed = self.encoder.embed_bands
        kernel = tf.zeros_like(embed.kernel).numpy()
        kernel[:, :, 0, :] = mono.encoder.embed.kernel.numpy()[:, :, 0, :]
        kernel[:, :, self.n_bands, :] = mono.encoder.embed.kernel.numpy()[:, :, 1, :]
        embed.kernel.assign(kernel)
        embed.bias.assign(mono.encoder.embed.bias)
        out = self.decoder.components_out
        draw = 0.05 * tf_keras.initializers.GlorotUniform(seed=seed)(out.kernel.shape).numpy()
        draw[..., 0] = mono.decoder.out.kernel.numpy()[..., 0]
        out.kernel.assign(draw)
        out.bias.assign(tf.fill(out.bias.shape, float(mono.decoder.out.bias.numpy()[0])))

    def copy_weights(self, source):
        """Copy every encoder and decoder weight of a chromatic model of the same sizes but
        its SED head's (``source``'s head may read other inputs: ``sed_redshift``); this
        model's head keeps its own.

        Raises
        ------
        ValueError
            When the two differ elsewhere (other sizes or components).
        """
        def weights(model):
            head = {id(v) for layer in (model.decoder.sed_logits, model.decoder.sed_head)
                    if layer is not None for v in layer.weights}
            return [v for v in model.encoder.variables + model.decoder.variables
                    if id(v) not in head]
        src, dst = weights(source), weights(self)
        if [v.shape for v in src] != [v.shape for v in dst]:
            raise ValueError("copy_weights needs a chromatic model of the same sizes and "
                             "components")
        for s, d in zip(src, dst):
            d.assign(s)

    def network_input(self, stamp, psf):
        """Stack ``stamp / flux_scale`` and ``psf / max(psf)`` as ``[B, S, S, 2]`` (mono:
        ``[B, S, S]`` inputs), or every band's stamps then every band's PSFs as
        ``[B, S, S, 2 nb]`` (chromatic: ``[B, nb, S, S]`` inputs)."""
        stamp = tf.convert_to_tensor(stamp, tf.float32)
        psf = tf.convert_to_tensor(psf, tf.float32)
        if self.n_bands == 1 and stamp.shape.rank == 3:
            return stamp_and_psf_channels(stamp, psf, self.flux_scale)
        peak = tf.reduce_max(psf, axis=[-2, -1], keepdims=True)
        channels = tf.concat([stamp / self.flux_scale, psf / peak], axis=1)
        return tf.transpose(channels, [0, 2, 3, 1])

    def encode(self, stamp, psf):
        """Posterior ``q(z | stamp, psf)``.

        Parameters
        ----------
        stamp : tf.Tensor
            float32 ``[B, S, S]``, observed stamps, flux per pixel.
        psf : tf.Tensor
            float32 ``[B, S, S]``, their PSFs (unit sum, centred on
            ``(S//2, S//2)``).

        Returns
        -------
        mean, stddev : tf.Tensor
            float32 ``[B, L]``.
        """
        mean, stddev, _ = self.encoder(self.network_input(stamp, psf))
        return mean, stddev

    def decode(self, z):
        """Unconvolved, noise-free light profiles, float32 ``[B, S, S]`` >= 0, flux per pixel
        (a chromatic model's: in the reference band)."""
        return self.decoder(tf.convert_to_tensor(z, tf.float32))["profile"] * self.flux_scale

    def decode_components(self, z, redshift=None, colours=None):
        """A chromatic model's ``components`` ``[B, K, S, S]`` (reference-band flux per
        pixel) and ``sed_weights`` ``[B, K, T]``; ``redshift`` float32 ``[B]`` is needed
        when the SED head reads it (``sed_redshift``), ``colours`` ``[B, n_bands - 1]``
        (AB mag) when it reads those (``sed_colours``); each is ignored otherwise."""
        self._require_sed_inputs(redshift, colours)
        out = self.decoder(tf.convert_to_tensor(z, tf.float32), redshift=redshift,
                           colours=colours)
        return {"components": out["components"] * self.flux_scale,
                "sed_weights": out["sed_weights"]}

    def autoencode(self, stamp, psf, eps, transverse_fraction=0.0, seed=None,
                   structure_weight=1.0, redshift=None, colours=None):
        """Encode, draw ``z = mean + stddev * eps`` and decode, as in training.

        Parameters
        ----------
        stamp, psf : tf.Tensor
            float32 ``[B, S, S]``.
        eps : tf.Tensor
            float32 ``[B, L]`` standard-normal draws for the reparametrisation.
        transverse_fraction : float or tf.Tensor
            Fraction of decoder activations duplicated from the encoder.
        seed : tf.Tensor, optional
            int32 ``[2]`` stateless seed of the duplication masks.
        structure_weight : float or tf.Tensor
            Factor of the decoder's structure image under a smooth component.
        redshift : tf.Tensor, optional
            float32 ``[B]``, for an SED head that reads it (``sed_redshift``).
        colours : tf.Tensor, optional
            float32 ``[B, n_bands - 1]``, AB mag, for an SED head that reads them
            (``sed_colours``).

        Returns
        -------
        dict
            ``profile`` [B, S, S] (flux per pixel, unconvolved), its
            ``structure`` (the decoder's ResNet part, the whole profile without
            a smooth component), ``mean`` and
            ``stddev`` [B, L], ``bottleneck_l2`` [B]: the squared distance
            between the encoder's bottleneck input (held fixed) and the
            decoder's bottleneck output, summed over features; a chromatic
            model's also ``components`` and ``sed_weights``; a multiplicative
            structure's ``modulation`` ``m`` [B, S, S].
        """
        self._require_sed_inputs(redshift, colours)
        mean, stddev, features = self.encoder(self.network_input(stamp, psf))
        z = mean + stddev * eps
        if seed is None:
            seed = tf.constant([0, 0], tf.int32)
        out = self.decoder(z, transverse=features, fraction=transverse_fraction, seed=seed,
                           structure_weight=structure_weight, redshift=redshift,
                           colours=colours)
        l2 = tf.reduce_sum(tf.square(out["bottleneck"] - tf.stop_gradient(features[-1])),
                           axis=[1, 2, 3])
        result = {"profile": out["profile"] * self.flux_scale,
                  "structure": out["structure"] * self.flux_scale, "mean": mean,
                  "stddev": stddev, "bottleneck_l2": l2}
        if self.n_components:
            result.update(components=out["components"] * self.flux_scale,
                          sed_weights=out["sed_weights"])
        if "modulation" in out:
            result["modulation"] = out["modulation"]
        return result
