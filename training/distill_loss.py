"""The distillation loss: a student decoder's profiles against its teacher's, per galaxy.

The relative L2 error (:func:`relative_error`) weighs each galaxy alike but is ruled by
its bright core, where most of the power is; the outer light can drift (a student that
put 1.5 times its teacher's light beyond 28 pixels still passed it).  Two terms, each
off at weight 0, make the outer light count: the error of the share of the flux beyond
a radius (:func:`outer_flux_error`), and the relative L2 error of each 1-pixel annulus,
averaged over the annuli (:func:`annulus_relative_error`).  :func:`student_loss` adds
them up; :mod:`galsim_deep.training.distill` trains with it.
"""
import numpy as np
import tensorflow as tf

from galsim_deep.core.errors import InputError

__all__ = ["LOSS_DEFAULTS", "loss_terms", "pixel_radii", "relative_error", "outer_flux_error",
           "annulus_relative_error", "student_loss"]

#: The loss's terms beside the relative L2 error, off by default (:func:`student_loss`):
#: weights, the radius (pixels from the stamp's true centre) beyond which the outer flux
#: is counted, and the floor of an annulus's target power (a fraction of the galaxy's).
LOSS_DEFAULTS = {"outer_flux_weight": 0.0, "outer_radius": 28.0, "annulus_weight": 0.0,
                 "annulus_floor": 1e-4}


def loss_terms(loss):
    """:data:`LOSS_DEFAULTS` updated by ``loss`` (a dict, or None), as floats.

    Raises
    ------
    InputError
        For an unknown term, a weight or floor below 0 or not finite, or a radius <= 0.
    """
    unknown = sorted(set(loss or {}) - set(LOSS_DEFAULTS))
    if unknown:
        raise InputError(f"unknown distillation loss term(s) {unknown}; the terms are "
                         f"{sorted(LOSS_DEFAULTS)}")
    terms = {k: float(v) for k, v in dict(LOSS_DEFAULTS, **(loss or {})).items()}
    bad = [f"{k}={v:g}" for k, v in terms.items() if not (np.isfinite(v) and v >= 0)]
    if bad or not terms["outer_radius"] > 0:
        raise InputError(f"the distillation loss's weights and floor must be finite and "
                         f">= 0 and its outer_radius > 0 (pixels), got "
                         f"{', '.join(bad) or 'outer_radius=%g' % terms['outer_radius']}")
    return terms


def relative_error(student, target):
    """Per galaxy ``sum (student - target)**2 / sum target**2``, float32 ``[B]``."""
    err = tf.reduce_sum(tf.square(student - target), axis=[1, 2])
    return err / tf.maximum(tf.reduce_sum(tf.square(target), axis=[1, 2]), 1e-30)


def pixel_radii(stamp_size):
    """float32 ``[S, S]``: each pixel centre's distance (pixels) from the stamp's true
    centre, ``(S - 1) / 2`` (as the validation's light measures count it)."""
    c = (stamp_size - 1) / 2.0
    y, x = np.mgrid[:stamp_size, :stamp_size]
    return np.hypot(x - c, y - c).astype(np.float32)


def outer_flux_error(student, target, radius):
    """Per galaxy ``((F_out(student) - F_out(target)) / F(target))**2``, float32 ``[B]``.

    ``F_out`` is the flux at pixel-centre radii above ``radius`` (pixels from the stamp's
    true centre), ``F`` the teacher's whole flux: the square of the outer light's error as
    a share of the galaxy's light.
    """
    beyond = tf.constant(pixel_radii(int(target.shape[-1])) > radius, tf.float32)
    diff = tf.reduce_sum((student - target) * beyond, axis=[1, 2])
    return tf.square(diff / tf.maximum(tf.reduce_sum(target, axis=[1, 2]), 1e-30))


def annulus_relative_error(student, target, floor=LOSS_DEFAULTS["annulus_floor"]):
    """Per galaxy, the relative L2 error of each 1-pixel annulus averaged over the annuli,
    float32 ``[B]``.

    Annulus ``k`` holds the pixels whose centres lie ``k <= r < k + 1`` pixels from the
    stamp's true centre (the corners' annuli too); its error is
    ``sum_k (student - target)**2 / max(sum_k target**2, floor * sum target**2)``.  Every
    annulus counts as much as the core, up to the floor, which keeps an annulus of almost
    no light from ruling the loss.
    """
    size = int(target.shape[-1])
    ring = np.floor(pixel_radii(size)).astype(np.int64).ravel()
    member = tf.constant(np.eye(ring.max() + 1, dtype=np.float32)[ring])  # [S*S, K]
    flat = lambda image: tf.reshape(image, [-1, size * size])  # noqa: E731
    err = flat(tf.square(student - target)) @ member
    power = flat(tf.square(target)) @ member
    total = tf.reduce_sum(power, axis=1, keepdims=True)
    return tf.reduce_mean(err / tf.maximum(power, tf.maximum(floor * total, 1e-30)), axis=1)


def student_loss(student, target, outer_flux_weight=LOSS_DEFAULTS["outer_flux_weight"],
                 outer_radius=LOSS_DEFAULTS["outer_radius"],
                 annulus_weight=LOSS_DEFAULTS["annulus_weight"],
                 annulus_floor=LOSS_DEFAULTS["annulus_floor"]):
    """The distillation loss per galaxy, float32 ``[B]``: :func:`relative_error`, plus
    ``outer_flux_weight`` times :func:`outer_flux_error` and ``annulus_weight`` times
    :func:`annulus_relative_error` (each term left out of the graph at weight 0).

    Parameters
    ----------
    student, target : tf.Tensor [B, S, S]
        Profiles (network units).
    outer_flux_weight, annulus_weight : float
        The terms' weights (>= 0).
    outer_radius : float
        Pixels from the stamp's true centre.
    annulus_floor : float
        See :func:`annulus_relative_error`.
    """
    loss = relative_error(student, target)
    if outer_flux_weight:
        loss += outer_flux_weight * outer_flux_error(student, target, outer_radius)
    if annulus_weight:
        loss += annulus_weight * annulus_relative_error(student, target, annulus_floor)
    return loss
