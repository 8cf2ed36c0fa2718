"""The physical forward model of a stamp, inside the TensorFlow graph.

A generative model outputs the *unconvolved* light profile of a galaxy; the
observed stamp is that profile convolved with the stamp's PSF plus noise
(Lanusse et al. 2020, section 2.2).  This module holds the pieces that
connect the two, each a pure function of tensors so that gradients flow
through them; training (the likelihood of the Flow-VAE, the observed fakes of
MPCC) and validation (observed-space residuals) use the same ones:

* :func:`convolve_psf` - FFT convolution with the stamp's effective PSF;
* :func:`pixel_log_likelihood` - Gaussian noise, diagonal in pixel space
  (Lanusse et al. 2020, Eq. 4);
* :func:`fourier_log_likelihood` - stationary Gaussian noise, diagonal in
  Fourier space with the stored noise power spectrum (Eq. 5);
* :func:`total_variation` - the smoothness penalty on the unconvolved profile;
* :func:`colored_noise` and :func:`observe` - draw noise with a stored power
  spectrum, and observe a profile as a survey would (PSF, then noise);
* :func:`template_ratios` and :func:`band_profiles` - a chromatic galaxy in
  each band: its component images times their SEDs' flux in the band, the
  TensorFlow copy (for the training's gradients) of the one band-flux rule,
  :func:`galsim_deep.physics.bands.band_fluxes`, tested equal to it to float32
  precision on random bands, redshifts and weights.

Conventions (``docs/architecture.rst``): pixel values are flux per pixel;
a PSF image has unit sum and is centred on pixel ``(S//2, S//2)``, which
``ifftshift`` moves to ``(0, 0)``; ``noise_power`` has the ``rfft2`` layout
``[S, S//2 + 1]`` and equals ``sigma**2`` everywhere for white noise of pixel
variance ``sigma**2``.
"""
import math

import tensorflow as tf
from ..core.errors import InputError
from .bands import REDSHIFT_STEP

__all__ = ["convolve_psf", "pixel_log_likelihood", "fourier_log_likelihood",
           "total_variation", "power_beyond_psf", "rfft2_weights", "colored_noise", "observe",
           "template_ratios", "band_profiles"]


def _centred_kernel(psf, size):
    """Put a PSF centred on pixel (S//2, S//2) into a ``size`` grid with its centre at (0, 0)."""
    s = psf.shape[-1]
    before = size // 2 - s // 2
    after = size - s - before
    padded = tf.pad(psf, [[0, 0], [before, after], [before, after]])
    # Centre now at (size//2, size//2): ifftshift (a roll by -size//2) takes it to (0, 0).
    return tf.roll(padded, shift=[-(size // 2), -(size // 2)], axis=[1, 2])


def convolve_psf(image, psf, mode="zero"):
    """Convolve images with their PSFs by FFT.

    Parameters
    ----------
    image : tf.Tensor
        float32 ``[B, S, S]``, flux per pixel (unconvolved profile).
    psf : tf.Tensor
        float32 ``[B, S, S]``, the effective PSF of each stamp at the stamp's
        pixel scale, unit sum, centred on pixel ``(S//2, S//2)``.
    mode : {'zero', 'circular'}
        ``'zero'`` (default): linear convolution, the image is zero-padded to
        ``2 S`` so no light wraps around the stamp edges; the result equals
        ``scipy.signal.fftconvolve(image, psf, mode='full')[c:c+S, c:c+S]``
        with ``c = S//2``.  ``'circular'``: periodic convolution on the
        ``S x S`` grid (4x cheaper; light leaving one edge re-enters at the
        opposite edge).

    Returns
    -------
    tf.Tensor
        float32 ``[B, S, S]``, the convolved images, flux per pixel, not
        shifted: a profile centred on the stamp's true centre stays there.
    """
    image = tf.convert_to_tensor(image, tf.float32)
    psf = tf.convert_to_tensor(psf, tf.float32)
    s = image.shape[-1]
    if image.shape[-2] != s or psf.shape[-1] != s or psf.shape[-2] != s:
        raise InputError(f"convolve_psf needs square images and PSFs of the same size, "
                         f"got image {image.shape} and psf {psf.shape}; resample the PSF "
                         f"to the stamp's pixel scale and size first")
    if mode == "zero":
        size = 2 * s
        padded = tf.pad(image, [[0, 0], [0, size - s], [0, size - s]])
    elif mode == "circular":
        size = s
        padded = image
    else:
        raise InputError(f"unknown convolution mode {mode!r}; use 'zero' or 'circular'")
    kernel = _centred_kernel(psf, size)
    out = tf.signal.irfft2d(tf.signal.rfft2d(padded) * tf.signal.rfft2d(kernel),
                            fft_length=[size, size])
    return out[:, :s, :s]


def pixel_log_likelihood(observed, model, noise_variance):
    """Gaussian log-likelihood with independent pixels (Lanusse et al. 2020, Eq. 4).

    ``log p = -1/2 sum((observed - model)**2 / sigma**2) - S**2/2 log(2 pi sigma**2)``.

    Parameters
    ----------
    observed, model : tf.Tensor
        float32 ``[B, S, S]``, flux per pixel; ``model`` is the PSF-convolved
        model image.
    noise_variance : tf.Tensor
        float32 ``[B]``, the pixel noise variance of each stamp, (flux per
        pixel)**2.

    Returns
    -------
    tf.Tensor
        float32 ``[B]``, log-likelihood in nats.
    """
    observed = tf.convert_to_tensor(observed, tf.float32)
    model = tf.convert_to_tensor(model, tf.float32)
    var = tf.convert_to_tensor(noise_variance, tf.float32)[:, None, None]
    n_pix = tf.cast(tf.reduce_prod(tf.shape(observed)[1:]), tf.float32)
    chi2 = tf.reduce_sum(tf.square(observed - model) / var, axis=[1, 2])
    return -0.5 * chi2 - 0.5 * n_pix * tf.math.log(2 * math.pi * var[:, 0, 0])


def rfft2_weights(stamp_size):
    """How many modes of the full 2-d FFT each ``rfft2`` column stands for.

    Parameters
    ----------
    stamp_size : int
        ``S``, in pixels.

    Returns
    -------
    tf.Tensor
        float32 ``[S//2 + 1]``: 1 for column 0 (and column ``S/2`` when ``S``
        is even), 2 for the others, whose Hermitian mirror images the ``rfft2``
        layout leaves out.  Summing ``weights * f`` over an ``rfft2`` array
        equals summing ``f`` over the full FFT grid when ``f`` is symmetric.
    """
    n = stamp_size // 2 + 1
    w = [2.0] * n
    w[0] = 1.0
    if stamp_size % 2 == 0:
        w[-1] = 1.0
    return tf.constant(w, tf.float32)


def fourier_log_likelihood(observed, model, noise_power, min_power_fraction=1e-6):
    """Gaussian log-likelihood for stationary noise, diagonal in Fourier space (Eq. 5).

    For noise with a circulant covariance whose eigenvalues are the noise
    power spectrum ``P_k``, the exact log-density of a residual ``r`` is
    ``-1/2 sum_k |R_k|**2 / (S**2 P_k) - 1/2 sum_k log(2 pi P_k)``, summed over
    the full Fourier grid, with ``R = fft2(r)``.  For white noise
    (``P_k == sigma**2``) it equals :func:`pixel_log_likelihood` exactly
    (Parseval).

    Parameters
    ----------
    observed, model : tf.Tensor
        float32 ``[B, S, S]``, flux per pixel.
    noise_power : tf.Tensor
        float32 ``[B, S, S//2 + 1]``, ``rfft2`` layout, normalised so that
        ``noise_power = E|rfft2(noise)|**2 / S**2``.
    min_power_fraction : float
        Powers below this fraction of each stamp's mean power are raised to it,
        so modes without measured noise do not give infinite weights.

    Returns
    -------
    tf.Tensor
        float32 ``[B]``, log-likelihood in nats.
    """
    observed = tf.convert_to_tensor(observed, tf.float32)
    model = tf.convert_to_tensor(model, tf.float32)
    power = tf.convert_to_tensor(noise_power, tf.float32)
    s = observed.shape[-1]
    if power.shape[-2:] != (s, s // 2 + 1):
        raise InputError(f"noise_power must have the rfft2 layout [S, S//2+1] = "
                         f"[{s}, {s // 2 + 1}], got {power.shape}; store it as "
                         f"|rfft2(noise)|**2 / S**2")
    floor = min_power_fraction * tf.reduce_mean(power, axis=[1, 2], keepdims=True)
    power = tf.maximum(power, floor)
    residual = tf.signal.rfft2d(observed - model)
    weights = rfft2_weights(s)
    chi2 = tf.reduce_sum(weights * tf.square(tf.abs(residual)) / (s * s * power), axis=[1, 2])
    log_det = tf.reduce_sum(weights * tf.math.log(2 * math.pi * power), axis=[1, 2])
    return -0.5 * chi2 - 0.5 * log_det


def total_variation(image):
    """Anisotropic total variation of images: the sum of absolute differences of neighbours.

    Parameters
    ----------
    image : tf.Tensor
        float32 ``[B, S, S]``.

    Returns
    -------
    tf.Tensor
        float32 ``[B]``, ``sum |x[i+1, j] - x[i, j]| + sum |x[i, j+1] - x[i, j]|``,
        in the units of ``image``.
    """
    image = tf.convert_to_tensor(image, tf.float32)
    dy = tf.abs(image[:, 1:, :] - image[:, :-1, :])
    dx = tf.abs(image[:, :, 1:] - image[:, :, :-1])
    return tf.reduce_sum(dy, axis=[1, 2]) + tf.reduce_sum(dx, axis=[1, 2])


def power_beyond_psf(image, psf):
    """The power of images in the modes their PSFs remove: an isotropic smoothness measure.

    ``sum_k (1 - |T(k)|^2) |I(k)|^2 / S^2`` over the ``S x S`` FFT grid, with ``I`` the
    image's transform and ``T`` the PSF's transfer function (normalised to 1 at k = 0).
    By Parseval it is the image's ``sum I^2`` restricted, mode by mode, to the fraction
    of each mode's power the PSF takes away: 0 for a PSF that passes everything, and for
    a PSF much wider than the image, the power of everything but the mean.  As a
    Gaussian prior on the unconvolved profile it adds to each mode the precision the PSF
    takes from the likelihood, so a mode the data cannot see is pulled to zero and one
    they see is left to them; unlike a total variation it has no preferred direction on
    the pixel grid and no preference for flat patches with sharp edges.

    Parameters
    ----------
    image : tf.Tensor
        float32 ``[B, S, S]``, in any unit (the result is in its square).
    psf : tf.Tensor
        float32 ``[B, S, S]``, each stamp's PSF (its centring does not matter: only
        ``|T|`` enters).

    Returns
    -------
    tf.Tensor
        float32 ``[B]``.
    """
    image = tf.convert_to_tensor(image, tf.float32)
    psf = tf.convert_to_tensor(psf, tf.float32)
    s = image.shape[-1]
    transfer = tf.abs(tf.signal.rfft2d(psf))
    transfer = transfer / tf.maximum(transfer[:, :1, :1], 1e-30)
    lost = 1.0 - tf.minimum(tf.square(transfer), 1.0)
    power = tf.square(tf.abs(tf.signal.rfft2d(image)))
    return tf.reduce_sum(rfft2_weights(s) * lost * power, axis=[1, 2]) / float(s * s)


def colored_noise(noise_power, seed):
    """Gaussian noise fields with given power spectra.

    A white field ``w`` of unit variance has ``E|rfft2(w)|**2 = S**2``, so
    ``irfft2(rfft2(w) * sqrt(noise_power))`` has exactly the power spectrum
    ``noise_power`` (circularly on the stamp), and white noise of variance
    ``sigma**2`` (``noise_power == sigma**2``) is ``sigma * w``.

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
        raise InputError(f"noise_power must have the rfft2 layout [B, S, S//2+1], got "
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
        Convolution mode of :func:`convolve_psf`.

    Returns
    -------
    tf.Tensor
        float32 ``[B, S, S]``, flux per pixel.
    """
    image = convolve_psf(profile, psf, mode=mode)
    if noise_power is not None:
        return image + colored_noise(noise_power, seed)
    if noise_variance is None:
        raise InputError("observe needs noise_power or noise_variance (the training stamps' "
                         "noise); pass one of them")
    var = tf.convert_to_tensor(noise_variance, tf.float32)
    white = tf.random.stateless_normal(tf.shape(image), seed=seed)
    return image + tf.sqrt(var)[:, None, None] * white


def template_ratios(table, redshift, dz=REDSHIFT_STEP):
    """A table of the templates' flux ratios, linearly interpolated at each galaxy's redshift.

    Parameters
    ----------
    table : tf.Tensor
        float32 ``[T, B, Z]``: :func:`galsim_deep.physics.bands.flux_ratio_table`, the
        flux of template ``t`` in band ``b`` over its flux in the reference
        band at redshifts ``0, dz, 2 dz, ...``.
    redshift : tf.Tensor
        float32 ``[N]``, clipped to the table's range.
    dz : float
        The table's redshift step.

    Returns
    -------
    tf.Tensor
        float32 ``[N, T, B]``.
    """
    table = tf.convert_to_tensor(table, tf.float32)
    n_z = tf.shape(table)[-1]
    x = tf.clip_by_value(tf.convert_to_tensor(redshift, tf.float32) / dz, 0.0,
                         tf.cast(n_z - 1, tf.float32))
    i = tf.minimum(tf.cast(tf.floor(x), tf.int32), n_z - 2)
    w = (x - tf.cast(i, tf.float32))[:, None, None]
    lower = tf.transpose(tf.gather(table, i, axis=-1), [2, 0, 1])
    upper = tf.transpose(tf.gather(table, i + 1, axis=-1), [2, 0, 1])
    return (1.0 - w) * lower + w * upper


def band_profiles(components, sed_weights, ratios):
    """A chromatic galaxy's profile in each band.

    The SED of component ``k`` is the mixture ``sum_t w_kt SED_t`` of the
    templates, each scaled to unit flux in the reference band, so the
    component's image is its reference-band light and its flux in band ``b``
    is ``f_kb = sum_t w_kt r_tb`` times it: ``profile_b = sum_k f_kb I_k``.
    With :func:`template_ratios`, ``f_kb`` is the one band-flux rule,
    :func:`galsim_deep.physics.bands.band_fluxes`, in TensorFlow.

    Parameters
    ----------
    components : tf.Tensor
        float32 ``[N, K, S, S]``: reference-band component images.
    sed_weights : tf.Tensor
        float32 ``[N, K, T]``: template weights of each component (sum 1).
    ratios : tf.Tensor
        float32 ``[N, T, B]``: :func:`template_ratios` at the galaxies'
        redshifts.

    Returns
    -------
    profiles : tf.Tensor
        float32 ``[N, B, S, S]``.
    fluxes : tf.Tensor
        float32 ``[N, K, B]``: ``f_kb``.
    """
    fluxes = tf.einsum("nkt,ntb->nkb", sed_weights, ratios)
    return tf.einsum("nkb,nkxy->nbxy", fluxes, components), fluxes
