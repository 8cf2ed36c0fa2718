"""Observe generated profiles as the training stamps were observed: PSF, then noise.

Lanusse et al. (2020, section 2.2): the generator draws the *unconvolved*,
noise-free light profile; before the discriminator compares it with a real
stamp, it is convolved with the PSF of a training stamp
(:func:`~galsim_deep.training.physics.convolve_psf`) and given noise with that
stamp's noise properties, so the generator learns deconvolved, noise-free
profiles from noisy data.

Correlated noise (COSMOS) is drawn from the stamp's stored ``noise_power``
(``rfft2`` layout, ``noise_power = E|rfft2(noise)|**2 / S**2``, see
``docs/architecture.rst``): a white field ``w`` of unit variance has
``E|rfft2(w)|**2 = S**2``, so ``irfft2(rfft2(w) * sqrt(noise_power))`` has
exactly the power spectrum ``noise_power`` (circularly on the stamp), and
white noise of variance ``sigma**2`` (``noise_power == sigma**2``) is
``sigma * w``.
"""
import tensorflow as tf

from ..physics import convolve_psf

__all__ = ["colored_noise", "observe"]


def colored_noise(noise_power, seed):
    """Gaussian noise fields with given power spectra.

    Parameters
    ----------
    noise_power : tf.Tensor
        float32 ``[B, S, S//2 + 1]``, ``rfft2`` layout, normalised so that
        white noise of pixel variance ``sigma**2`` has ``sigma**2`` everywhere
        (flux per pixel squared).
    seed : tf.Tensor
        int32 ``[2]`` stateless-random seed.

    Returns
    -------
    tf.Tensor
        float32 ``[B, S, S]`` noise, flux per pixel.
    """
    power = tf.convert_to_tensor(noise_power, tf.float32)
    s = power.shape[-2]
    if power.shape[-1] != s // 2 + 1:
        raise ValueError(f"noise_power must have the rfft2 layout [B, S, S//2+1], got "
                         f"{power.shape}; store it as |rfft2(noise)|**2 / S**2")
    white = tf.random.stateless_normal([tf.shape(power)[0], s, s], seed=seed)
    amplitude = tf.complex(tf.sqrt(tf.maximum(power, 0.0)), tf.zeros_like(power))
    return tf.signal.irfft2d(tf.signal.rfft2d(white) * amplitude, fft_length=[s, s])


def observe(profile, psf, seed, noise_power=None, noise_variance=None, mode="zero"):
    """Convolve profiles with PSFs and add noise: what a survey would record.

    Parameters
    ----------
    profile : tf.Tensor
        float32 ``[B, S, S]``, unconvolved light profiles, flux per pixel.
    psf : tf.Tensor
        float32 ``[B, S, S]``, effective PSFs of training stamps (unit sum,
        centred on pixel ``(S//2, S//2)``).
    seed : tf.Tensor
        int32 ``[2]`` stateless-random seed of the noise.
    noise_power : tf.Tensor, optional
        float32 ``[B, S, S//2 + 1]``: correlated noise with these spectra.
    noise_variance : tf.Tensor, optional
        float32 ``[B]``: white noise of these pixel variances (used when
        ``noise_power`` is not given).
    mode : {'zero', 'circular'}
        Convolution mode of :func:`~galsim_deep.training.physics.convolve_psf`.

    Returns
    -------
    tf.Tensor
        float32 ``[B, S, S]``, flux per pixel.
    """
    image = convolve_psf(profile, psf, mode=mode)
    if noise_power is not None:
        return image + colored_noise(noise_power, seed)
    if noise_variance is None:
        raise ValueError("observe needs noise_power or noise_variance (the training stamps' "
                         "noise); pass one of them")
    var = tf.convert_to_tensor(noise_variance, tf.float32)
    white = tf.random.stateless_normal(tf.shape(image), seed=seed)
    return image + tf.sqrt(var)[:, None, None] * white
