"""Per-galaxy statistics on analytic profiles whose values are known."""
import math

import galsim
import numpy as np
import pytest
from scipy import ndimage
from scipy.optimize import brentq

from galsim_deep.tools.validation.measures.morphology import segmentation
from galsim_deep.tools.validation.measures.morphology import compute as st

STAMP = 48
SCALE = 0.1  # arcsec / pixel
NOISE = 1e-4  # flux per pixel


def _observe(profile, seed=0, noise=NOISE, size=STAMP):
    image = profile.drawImage(nx=size, ny=size, scale=SCALE, method="no_pixel").array
    return image + np.random.default_rng(seed).normal(0.0, noise, image.shape)


def _measure(profile, seed=0):
    return st.measure_stamp(_observe(profile, seed), SCALE, NOISE ** 2)


@pytest.fixture(scope="module")
def gaussian():
    return _measure(galsim.Gaussian(sigma=0.3, flux=1.0))


def test_round_gaussian_moments(gaussian):
    # HSM adaptive moments of a round Gaussian: g = 0 and sigma = its sigma.
    assert gaussian["flags"] == 0
    assert gaussian["g"] < 0.01
    assert abs(gaussian["g1"]) < 0.01 and abs(gaussian["g2"]) < 0.01
    assert gaussian["sigma"] == pytest.approx(3.0, rel=0.01)  # 0.3 arcsec / 0.1
    assert gaussian["sigma_arcsec"] == pytest.approx(0.3, rel=0.01)
    assert gaussian["flux"] == pytest.approx(1.0, abs=0.02)
    assert gaussian["hsm_flux"] == pytest.approx(1.0, rel=0.02)


def test_elliptical_gaussian_has_its_shear():
    r = _measure(galsim.Gaussian(sigma=0.3).shear(g1=0.3, g2=-0.1))
    assert r["g1"] == pytest.approx(0.3, abs=0.01)
    assert r["g2"] == pytest.approx(-0.1, abs=0.01)
    assert r["g"] == pytest.approx(math.hypot(0.3, 0.1), abs=0.01)
    # A shear preserves area, so det(Q)^(1/4) is unchanged.
    assert r["sigma"] == pytest.approx(3.0, rel=0.01)


def test_psf_convolved_gaussian_sizes_add_in_quadrature():
    gal, psf = galsim.Gaussian(sigma=0.3), galsim.Gaussian(sigma=0.2)
    r = _measure(galsim.Convolve(gal, psf))
    assert r["sigma_arcsec"] == pytest.approx(math.hypot(0.3, 0.2), rel=0.01)


def test_gini_and_m20_of_a_gaussian_match_the_analytic_values(gaussian):
    # statmorph measures both inside the Petrosian radius (eta = 0.2); for a
    # Gaussian I ~ exp(-x), x = r^2 / (2 sigma^2), pixel area uniform in x.
    x_p = brentq(lambda x: x * np.exp(-x) / (1 - np.exp(-x)) - 0.2, 0.5, 10.0)
    v = np.sort(np.exp(-np.linspace(0.0, x_p, 100001)))
    i = np.arange(1, v.size + 1)
    gini = np.sum((2 * i - v.size - 1) * v) / ((v.size - 1) * v.sum())
    assert gaussian["gini"] == pytest.approx(gini, abs=0.02)
    # M20: second moment of the brightest 20% of the flux over the total.
    total_flux = 1 - np.exp(-x_p)
    x20 = -np.log(1 - 0.2 * total_flux)
    m_tot = 1 - (1 + x_p) * np.exp(-x_p)
    m_20 = 1 - (1 + x20) * np.exp(-x20)
    assert gaussian["m20"] == pytest.approx(np.log10(m_20 / m_tot), abs=0.05)


def test_gini_and_m20_order_flat_to_concentrated(gaussian):
    flat = _measure(galsim.TopHat(radius=1.5))
    dev = _measure(galsim.DeVaucouleurs(half_light_radius=0.5))
    # A uniform disc has Gini 0 and (20% of the pixels) M20 = log10(0.2).
    assert flat["gini"] < 0.15
    assert flat["m20"] == pytest.approx(np.log10(0.2), abs=0.1)
    assert flat["gini"] < gaussian["gini"] < dev["gini"]
    assert dev["m20"] < gaussian["m20"] < flat["m20"]


def test_multimode_intensity_deviation_of_double_and_single_gaussians(gaussian):
    double = _measure(galsim.Gaussian(sigma=0.2, flux=0.5).shift(-0.3, 0)
                      + galsim.Gaussian(sigma=0.2, flux=0.5).shift(0.3, 0))
    # Two equal clumps: A2/A1 = 1 and flux ratio I = 1; the brightest peak is
    # half the separation from the centroid.
    assert double["multimode"] > 0.8
    assert double["intensity"] > 0.8
    assert double["deviation"] > 0.3
    assert gaussian["multimode"] == 0.0
    assert gaussian["intensity"] == 0.0
    assert 0.0 <= gaussian["deviation"] < 0.2
    unequal = _measure(galsim.Gaussian(sigma=0.2, flux=0.7).shift(-0.4, 0)
                       + galsim.Gaussian(sigma=0.2, flux=0.3).shift(0.4, 0))
    assert 0.0 < unequal["intensity"] < double["intensity"]


def test_smoothed_noise_sigma_matches_simulated_noise():
    n = 64
    kernel = segmentation.gaussian_kernel(1.0)
    rng = np.random.default_rng(1)
    white = rng.normal(0.0, 2.0, (200, n, n))
    smooth = np.array([ndimage.convolve(w, kernel, mode="wrap") for w in white])
    expected = st.smoothed_noise_sigma(4.0, kernel, n)
    assert smooth.std() == pytest.approx(expected, rel=0.02)
    # The same white noise given as a power spectrum, and correlated noise.
    assert st.smoothed_noise_sigma(np.full((n, n // 2 + 1), 4.0), kernel, n) == \
        pytest.approx(expected, rel=1e-10)
    corr = np.array([ndimage.convolve(w, kernel, mode="wrap") for w in white])
    power = np.mean(np.abs(np.fft.rfft2(corr)) ** 2, axis=0) / n ** 2
    smooth2 = np.array([ndimage.convolve(c, kernel, mode="wrap") for c in corr])
    assert smooth2.std() == pytest.approx(st.smoothed_noise_sigma(power, kernel, n), rel=0.03)
    with pytest.raises(ValueError, match="rfft2 layout"):
        st.smoothed_noise_sigma(np.ones((n, n)), kernel, n)


def test_central_segment_ignores_neighbours():
    # A neighbour in the corner is masked: the central galaxy's moments are unchanged.
    alone = _measure(galsim.Gaussian(sigma=0.2))
    crowded = _measure(galsim.Gaussian(sigma=0.2) + galsim.Gaussian(sigma=0.15).shift(1.6, 1.6))
    assert crowded["sigma"] == pytest.approx(alone["sigma"], rel=0.01)
    assert crowded["g"] < 0.02
    assert crowded["gini"] == pytest.approx(alone["gini"], abs=0.02)


def test_failures_are_flagged_not_raised():
    bad = _observe(galsim.Gaussian(sigma=0.3))
    bad[3, 4] = np.nan
    r = st.measure_stamp(bad, SCALE, NOISE ** 2)
    assert r["flags"] == st.FLAG_BAD_INPUT
    assert all(np.isnan(r[name]) for name in st.STATISTICS)

    noise_only = np.random.default_rng(3).normal(0.0, NOISE, (STAMP, STAMP))
    r = st.measure_stamp(noise_only, SCALE, NOISE ** 2)
    assert r["flags"] & (st.FLAG_NO_SEGMENT | st.FLAG_MORPH_FAILED)
    assert all(np.isnan(r[name]) for name in st.MORPHOLOGY_STATISTICS)

    r = st.measure_stamp(np.zeros((4, 4)), SCALE, 1.0)
    assert r["flags"] == st.FLAG_BAD_INPUT


@pytest.mark.slow
def test_measure_stamps_parallel_matches_serial_and_is_reproducible():
    profiles = [galsim.Gaussian(sigma=s) for s in (0.15, 0.2, 0.25, 0.3)]
    stamps = np.array([_observe(p, seed=i) for i, p in enumerate(profiles)])
    serial = st.measure_stamps(stamps, SCALE, NOISE ** 2, processes=1, progress=False)
    parallel = st.measure_stamps(stamps, SCALE, np.full(4, NOISE ** 2), processes=2,
                                 chunk_size=2, progress=False)
    for name in st.STATISTICS + ("flags", "statmorph_flag"):
        np.testing.assert_array_equal(serial[name], parallel[name])
    np.testing.assert_allclose(serial["sigma_arcsec"], [0.15, 0.2, 0.25, 0.3], rtol=0.02)
    with pytest.raises(ValueError, match="shape"):
        st.measure_stamps(stamps[0], SCALE, NOISE ** 2)
    with pytest.raises(ValueError, match="pixel_scale"):
        st.measure_stamps(stamps, -1.0, NOISE ** 2)
