"""The distillation loss's terms (training/distill_loss.py), against closed forms."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.core.errors import InputError  # noqa: E402
from galsim_deep.training.distill_loss import (LOSS_DEFAULTS, annulus_relative_error,  # noqa: E402
                                               loss_terms, outer_flux_error, pixel_radii,
                                               relative_error, student_loss)

S = 16


def _gaussian(sigma=2.0, flux=1.0):
    r = pixel_radii(S).astype(np.float64)
    image = np.exp(-0.5 * (r / sigma) ** 2)
    return (flux * image / image.sum()).astype(np.float32)[None]


def test_pixel_radii_are_about_the_true_centre():
    r = pixel_radii(4)
    np.testing.assert_allclose(r[1, 1], np.hypot(0.5, 0.5))
    np.testing.assert_allclose(r[0, 3], np.hypot(1.5, 1.5))
    np.testing.assert_array_equal(r, r.T)
    np.testing.assert_array_equal(r, r[::-1])


def test_outer_flux_error_counts_only_the_light_beyond_the_radius():
    target = np.ones((1, S, S), np.float32)
    beyond = pixel_radii(S) > 6.0
    inside = target.copy()
    inside[0, S // 2, S // 2] += 5.0  # the centre: inside any radius
    assert float(outer_flux_error(tf.constant(inside), tf.constant(target), 6.0)[0]) == 0.0
    outside = target.copy()
    outside[0, 0, 0] += 3.0  # a corner, beyond the radius
    assert beyond[0, 0]
    np.testing.assert_allclose(outer_flux_error(tf.constant(outside), tf.constant(target), 6.0),
                               [(3.0 / S ** 2) ** 2], rtol=1e-6)
    # a radius beyond the corners counts nothing
    assert float(outer_flux_error(tf.constant(outside), tf.constant(target), 20.0)[0]) == 0.0


def test_annulus_error_weighs_every_annulus_alike():
    target = tf.constant(_gaussian())
    n_annuli = int(np.floor(pixel_radii(S).max())) + 1
    np.testing.assert_allclose(annulus_relative_error(target, target), [0.0], atol=0)
    # twice the target: every annulus is off by its own power, so the mean is 1 (no floor)
    np.testing.assert_allclose(annulus_relative_error(2.0 * target, target, floor=0.0), [1.0],
                               rtol=1e-5)
    # one annulus doubled: 1 / n_annuli, whether it holds the core or the wings
    ring = np.floor(pixel_radii(S))
    for k in (0, 7):
        changed = np.where(ring == k, 2.0, 1.0).astype(np.float32) * target
        np.testing.assert_allclose(annulus_relative_error(changed, target, floor=0.0),
                                   [1.0 / n_annuli], rtol=1e-5)
    # where the relative L2 error sees the core only: the outer annulus's change is
    # invisible to it, not to the annulus term
    wings = np.where(ring == 7, 2.0, 1.0).astype(np.float32) * target
    assert float(relative_error(wings, target)[0]) < 1e-5  # against 1 / n_annuli above
    # the floor caps an almost dark annulus's weight at 1 / (floor * the galaxy's power)
    power = float(tf.reduce_sum(target ** 2))
    floored = annulus_relative_error(wings, target, floor=0.5)
    err = float(tf.reduce_sum(tf.square(wings - target)))
    np.testing.assert_allclose(floored, [err / (0.5 * power) / n_annuli], rtol=1e-5)


def test_student_loss_adds_its_weighted_terms():
    target = tf.constant(np.concatenate([_gaussian(), _gaussian(3.0, 2.0)]))
    student = target * 1.1 + 1e-4
    base = relative_error(student, target).numpy()
    np.testing.assert_array_equal(student_loss(student, target).numpy(), base)
    both = student_loss(student, target, outer_flux_weight=2.0, outer_radius=5.0,
                        annulus_weight=0.5, annulus_floor=1e-3).numpy()
    expected = (base + 2.0 * outer_flux_error(student, target, 5.0).numpy()
                + 0.5 * annulus_relative_error(student, target, 1e-3).numpy())
    np.testing.assert_allclose(both, expected, rtol=1e-6)


def test_loss_terms_are_checked():
    assert loss_terms(None) == LOSS_DEFAULTS
    assert loss_terms({"annulus_weight": 1})["annulus_weight"] == 1.0
    with pytest.raises(InputError, match="unknown.*'outer_weight'.*outer_flux_weight"):
        loss_terms({"outer_weight": 1.0})
    with pytest.raises(InputError, match="annulus_weight=-1"):
        loss_terms({"annulus_weight": -1.0})
    with pytest.raises(InputError, match="outer_flux_weight=nan"):
        loss_terms({"outer_flux_weight": float("nan")})
    with pytest.raises(InputError, match="outer_radius=0"):
        loss_terms({"outer_radius": 0.0})
