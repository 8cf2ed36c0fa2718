"""Latent-code fits through a trained decoder: is a reconstruction error the encoder's or the decoder's?

An autoencoder's reconstruction of a stamp (:mod:`galsim_deep.tools.validation.measures.reconstruction.compute`)
is the decoder applied to the code the encoder gives in one pass.  Its error
against the unconvolved truth has two parts: the encoder may give a code that
is not the best one (the amortisation gap), and the decoder may not be able to
draw the galaxy from *any* code.  Two fits of the 16 or so numbers of the code,
galaxy by galaxy, with the network weights fixed, tell them apart:

* **MAP code** - the code that maximises ``log p(stamp | z) + log p(z)``: the
  decoded profile convolved with the stamp's PSF against the stamp under its
  Gaussian pixel noise (the pixel likelihood of training, Lanusse et al. 2020
  Eq. 4) plus the model's prior on ``z`` (standard normal for a Flow-VAE, the
  Gaussian mixture for MPCC).  What iterative inference on the same data
  would give instead of the encoder.
* **best code for the truth** (mock data only) - the code that minimises the
  relative residual between the decoded profile and the noiseless truth
  itself: the decoder's best-code residual.  An encoder could do better with
  this decoder only where Adam from the encoder's code stops at a local
  optimum, so it is an upper bound on the decoder's best, not a floor.

Both fits start from the encoder's posterior mean, run Adam on the code and
keep, galaxy by galaxy, the best code seen, so neither is ever worse than the
encoder by its own objective.  They need gradients through the decoder, so
they run on the live model of a training checkpoint: TensorFlow does not give
gradients through the functions of a loaded SavedModel (a hub module).

This module holds the optimisation (:func:`fit_codes`) and its two
objectives (:func:`map_objective`, :func:`truth_objective`), which the
latent flow's code refinement
(:func:`~galsim_deep.training.latent_codes.refine_codes`) uses too; it imports
no validation code.  The report that runs both fits on a recipe's galaxies and
compares them with the encoder and the fitted Sérsic profile, per mock
morphology class, and for an MPCC model the clustering accuracy of each kind
of code, is a research script beside the package
(``python research/code_fits/latent_fit.py RECIPE --out R``).
"""
import numpy as np
import tensorflow as tf

from galsim_deep.physics.forward_model import convolve_psf
from galsim_deep.core.errors import InputError

__all__ = ["fit_codes", "fit_codes_along", "truth_objective", "map_objective",
           "stamp_frame_decoder"]


def fit_codes(objective, z_init, steps, learning_rate=0.03):
    """Minimise a per-galaxy objective over latent codes with Adam, keeping each galaxy's best.

    Parameters
    ----------
    objective : callable
        ``objective(z) -> tf.Tensor [B]``: the loss of each galaxy's code
        (galaxies must not interact: their sum is what Adam minimises).
    z_init : array_like [B, L]
        Starting codes (float32).
    steps : int
        Adam steps (>= 0).
    learning_rate : float
        Adam step size, in units of the code (a standard-normal prior has
        unit scale).

    Returns
    -------
    z : ndarray [B, L]
        The code with the lowest objective met during the fit, per galaxy
        (``z_init`` included).
    loss : ndarray [B]
        Its objective.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise InputError(f"steps must be an integer >= 0, got {steps!r}")
    return fit_codes_along(objective, z_init, [steps], learning_rate)[int(steps)]


def fit_codes_along(objective, z_init, snapshots, learning_rate=0.03):
    """:func:`fit_codes`, with the best codes kept at several step counts of one fit.

    Parameters
    ----------
    objective, z_init, learning_rate
        As :func:`fit_codes`.
    snapshots : sequence of int
        Step counts (>= 0) at which to keep the best codes met so far; the fit runs to
        the largest.

    Returns
    -------
    dict of int -> (ndarray [B, L], ndarray [B])
        Per step count, the best code per galaxy and its objective, as :func:`fit_codes`
        with that many steps returns them.
    """
    if not len(snapshots) or not all(isinstance(n, (int, np.integer)) and n >= 0
                                     for n in snapshots):
        raise InputError(f"steps must be integers >= 0, got {list(snapshots)!r}")
    snapshots = sorted({int(n) for n in snapshots})
    if not learning_rate > 0:
        raise InputError(f"learning_rate must be > 0, got {learning_rate!r}")
    z = tf.Variable(tf.convert_to_tensor(z_init, tf.float32))
    best_z = tf.Variable(z)
    best_loss = tf.Variable(objective(z))
    optimizer = tf.keras.optimizers.Adam(learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = objective(z)
            total = tf.reduce_sum(loss)
        # The loss of the code before the update, compared with the best so far.
        better = loss < best_loss
        best_z.assign(tf.where(better[:, None], z, best_z))
        best_loss.assign(tf.where(better, loss, best_loss))
        optimizer.apply_gradients([(tape.gradient(total, z), z)])

    def best():
        # The code after the last update has not been scored yet.
        last = objective(z)
        better = last < best_loss
        return (tf.where(better[:, None], z, best_z).numpy(),
                tf.where(better, last, best_loss).numpy())

    out, done = {}, 0
    for target in snapshots:
        for _ in range(target - done):
            step()
        done = target
        out[target] = best()
    return out


def stamp_frame_decoder(model, stamp):
    """``z -> profiles [B, S, S]`` in the frame of each of ``stamp`` ``[B, S, S]``.

    A model whose codes hold no pose (an equivariant VAE: its ``pose_of`` measures each
    stamp's pose, its ``decode`` draws the canonical galaxy) decodes through the pose
    measured on the stamp, as it trains; any other model's ``decode`` as it is.  So a code
    of a pose-free model can be fitted to its stamp like any other.
    """
    if not hasattr(model, "pose_of"):
        return model.decode
    angle = model.pose_of(tf.convert_to_tensor(stamp, tf.float32))["angle"]
    return lambda z: model.decode_posed(z, angle)


def truth_objective(decode, truth):
    """The relative residual ``sum((decode(z) - truth)^2) / sum(truth^2)`` of each galaxy.

    Parameters
    ----------
    decode : callable
        ``decode(z) -> [B, S, S]`` unconvolved profiles, flux per pixel.
    truth : array_like [B, S, S]
        Noiseless unconvolved stamps, flux per pixel.

    Returns
    -------
    callable
        ``z -> tf.Tensor [B]`` (dimensionless; the measure of
        :func:`~galsim_deep.tools.validation.measures.reconstruction.metrics.reconstruction_residuals`).
    """
    truth = tf.convert_to_tensor(truth, tf.float32)
    norm = tf.reduce_sum(tf.square(truth), axis=[1, 2])

    def objective(z):
        return tf.reduce_sum(tf.square(decode(z) - truth), axis=[1, 2]) / norm
    return objective


def map_objective(decode, stamp, psf, noise_variance, prior_log_prob, convolution="zero"):
    """The negative log posterior of each galaxy's code, up to a constant.

    ``0.5 * sum((psf * decode(z) - stamp)^2) / noise_variance - log p(z)``
    (nats), ``*`` the FFT convolution of training
    (:func:`~galsim_deep.physics.forward_model.convolve_psf`).

    Parameters
    ----------
    decode : callable
        ``decode(z) -> [B, S, S]`` unconvolved profiles, flux per pixel.
    stamp, psf : array_like [B, S, S]
        Observed stamps (flux per pixel) and their PSFs (unit sum, centred on
        pixel ``(S//2, S//2)``).
    noise_variance : array_like [B]
        Pixel noise variance of each stamp, (flux per pixel)^2.
    prior_log_prob : callable
        ``z -> tf.Tensor [B]``, ``log p(z)`` in nats (the family's ``log_prior``).
    convolution : {'zero', 'circular'}
        The recipe's convolution mode.

    Returns
    -------
    callable
        ``z -> tf.Tensor [B]``.
    """
    stamp = tf.convert_to_tensor(stamp, tf.float32)
    psf = tf.convert_to_tensor(psf, tf.float32)
    variance = tf.convert_to_tensor(noise_variance, tf.float32)

    def objective(z):
        model = convolve_psf(decode(z), psf, mode=convolution)
        chi2 = tf.reduce_sum(tf.square(model - stamp), axis=[1, 2]) / variance
        return 0.5 * chi2 - prior_log_prob(z)
    return objective
