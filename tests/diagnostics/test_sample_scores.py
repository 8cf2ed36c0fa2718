"""The sample scores' measures of images against their truths that the release table adds:
the shape lines (paired ratios with bootstrap errors, the like-for-like shapes of stamps
observed in a survey view) and the light far from the centre."""
import galsim
import numpy as np
import pytest

from galsim_deep.diagnostics.sample_scores import (OBSERVED_SHAPES_VIEW, observed_shape_row,
                                                   observed_shape_scores, observed_shapes,
                                                   outer_light)
from galsim_deep.tools.validation.statistics import paired_mean_ratio


def _stamps(g1, sigma=3.0, n=8, size=32):
    return np.stack([galsim.Gaussian(sigma=sigma).shear(g1=g1, g2=0.0).drawImage(
        nx=size, ny=size, scale=1.0, method="no_pixel").array for _ in range(n)])


def test_paired_ratio_skips_unmeasured_galaxies_and_has_a_bootstrap_error():
    rng = np.random.default_rng(0)
    a, b = np.array([2.0, 4.0, np.nan, 6.0]), np.array([1.0, 2.0, 5.0, np.nan])
    r = paired_mean_ratio(a, b, rng)
    assert r["n"] == 2 and r["ratio"] == pytest.approx(1.0) and r["error"] >= 0
    assert paired_mean_ratio(np.full(3, np.nan), np.ones(3), rng) == {"ratio": None, "error": None,
                                                                  "n": 0}


def test_observed_shapes_are_hsm_s_as_observed():
    g, sigma = observed_shapes(_stamps(0.3, n=2))
    assert g == pytest.approx([0.3, 0.3], abs=1e-3)
    assert sigma == pytest.approx([3.0, 3.0], rel=0.01)  # det(M)^(1/4): the round sigma
    g, _ = observed_shapes(np.zeros((1, 16, 16)))
    assert np.isnan(g[0])


def test_observed_shape_scores_compare_galaxy_by_galaxy_and_per_bin():
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    out = observed_shape_scores(_stamps(0.2), _stamps(0.4), groups, ["bright", "faint"])
    assert out["g"]["ratio"] == pytest.approx(-0.5, abs=0.01)
    assert out["g"]["bins"]["faint"]["ratio"] == pytest.approx(-0.5, abs=0.01)
    assert out["measured"] == {"sample": 1.0, "truth": 1.0}
    same = observed_shape_scores(_stamps(0.3), _stamps(0.3), groups, ["bright", "faint"])
    assert same["g"]["ratio"] == pytest.approx(0.0, abs=1e-9)
    assert same["size"]["ratio"] == pytest.approx(0.0, abs=1e-9)


def test_the_row_s_shapes_are_observed_like_the_truths(eval_path, tmp_path):
    from galsim_deep.diagnostics.sample_scores import (EvaluationGalaxies, _observed, _save,
                                                      truth_profiles)

    galaxies = EvaluationGalaxies.load(eval_path)
    assert observed_shape_row(None, galaxies, tmp_path, 0, 0) is None  # no references
    truth = truth_profiles(galaxies)[0]
    stamps, psfs, variance = _observed(galaxies, OBSERVED_SHAPES_VIEW, truth, "truth", 0)
    _save(tmp_path / f"{OBSERVED_SHAPES_VIEW}-truth.npz", stamps=stamps, psfs=psfs,
          variance=variance)
    # The truths observed again with another noise stream: level but for the noise (24
    # galaxies: a few per cent).
    again = observed_shape_row(truth, galaxies, tmp_path, 0, 0)
    assert again["view"] == OBSERVED_SHAPES_VIEW and again["measured"]["truth"] > 0.5
    assert abs(again["size"]["ratio"]) < 0.05 and abs(again["g"]["ratio"]) < 0.2
    # The Sérsic rows, observed as the references observe them, are other galaxies.
    sersic = observed_shape_row(None, galaxies, tmp_path, 0, 0)
    assert sersic["g"]["n"] > 0 and sersic["size"]["ratio"] != 0


def test_outer_light_of_known_images():
    size = 64
    y, x = np.indices((size, size)) - (size - 1) / 2.0
    flat = np.ones((1, size, size))
    far = np.hypot(x, y) > 28
    out = outer_light(flat)
    assert out["beyond_radius"]["median"] == pytest.approx(far.mean())
    assert out["border"]["median"] == pytest.approx(1 - (size - 8) ** 2 / size ** 2)
    # All the light in the middle: none far out; empty images are left out.
    middle = np.zeros((2, size, size))
    middle[0, 30:34, 30:34] = 1.0
    out = outer_light(middle)
    assert out["beyond_radius"]["median"] == 0.0 and out["border"]["p90"] == 0.0
    assert out["beyond_radius"]["median_error"] == 0.0  # one image: no spread
    # Images whose outer shares are spread evenly over [0, 1): the median's bootstrap error
    # is near its large-sample value, sqrt(1 / (4 n f(median)^2)) with the density f = 1.
    n = 400
    shares = (np.arange(n) + 0.5) / n
    spread = np.where(far, 1.0, 0.0)[None] * shares[:, None, None] / far.sum() \
        + np.where(far, 0.0, 1.0)[None] * (1 - shares)[:, None, None] / (~far).sum()
    out = outer_light(spread)
    assert out["beyond_radius"]["median"] == pytest.approx(0.5, abs=0.01)
    assert out["beyond_radius"]["median_error"] == pytest.approx(0.5 / np.sqrt(n), rel=0.3)
    assert outer_light(spread) == out  # seeded
    assert np.isnan(outer_light(np.zeros((2, size, size)))["border"]["median_error"])
