"""The dark-hole measure: enclosed dark regions are holes, open gaps are not."""
import numpy as np
import pytest

from galsim_deep.tools.validation.measures.texture.holes import (dark_holes, half_light_level,
                                                                  hole_share)

Y, X = np.mgrid[-32:32, -32:32] + 0.5
R, PHI = np.hypot(X, Y), np.arctan2(Y, X)


def exponential(scale=5.0):
    return np.exp(-R / scale)


def test_half_light_level_holds_half_the_light():
    image = exponential()
    level = half_light_level(image)
    # the pixels at the level itself (a ring of them) tip the sum just past half
    assert 0.5 <= image[image >= level].sum() / image.sum() < 0.53
    assert half_light_level(np.zeros((4, 4))) == np.inf


def test_a_smooth_galaxy_has_no_hole():
    assert not dark_holes(exponential()).any()


def test_a_dark_spot_inside_the_body_is_a_hole():
    image = exponential(8.0)
    image[np.hypot(X - 6, Y) < 3] = 0.0  # a dark spot 6 pixels right of the centre
    holes = dark_holes(image)
    assert holes[32, 38]
    assert not holes[32, 26]  # ... and only there


def test_a_shallow_dip_is_not_a_hole():
    image = exponential(8.0)
    image[np.hypot(X - 6, Y) < 3] *= 0.8
    assert not dark_holes(image).any()


def test_a_halo_outline_with_a_dark_interior_is_a_hole():
    """2.1.0's defect: a faint elliptical rim around a dark interior, a bright core aside."""
    rim = 0.05 * np.exp(-((np.hypot(X / 1.4, Y) - 18) / 2.0) ** 2)
    core = np.exp(-np.hypot(X + 8, Y) / 2.0)
    holes = dark_holes(rim + core)
    assert holes.any() and holes[32, 44]  # inside the rim, on the side away from the core


def test_a_spirals_open_arms_are_not_holes():
    """Two logarithmic arms and a bulge: the gaps between the arms open outwards."""
    arms = np.exp(-R / 8.0) * (1 + np.cos(2 * (PHI - np.log(R + 1e-9) / 0.3))) ** 3
    image = arms + 2 * np.exp(-R / 1.5)
    assert not dark_holes(image).any()


def test_knots_on_a_faint_disc_are_not_holes():
    rng = np.random.default_rng(0)
    image = 0.02 * exponential(8.0)
    for x, y in rng.uniform(-14, 14, (12, 2)):
        image = image + np.exp(-((X - x) ** 2 + (Y - y) ** 2) / 2.0)
    assert not dark_holes(image).any()


def test_hole_share_counts_images_and_gives_an_error_at_zero():
    ring = np.exp(-((R - 8) / 2.5) ** 2)
    scores = hole_share(np.stack([ring, exponential(), exponential(), exponential()]))
    assert scores["share"] == 0.25 and scores["n"] == 4
    assert scores["flags"].tolist() == [True, False, False, False]
    none = hole_share(np.stack([exponential()] * 4))
    assert none["share"] == 0.0 and none["error"] > 0
