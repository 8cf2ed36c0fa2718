"""Shear response: m and c of galaxies whose answer is known."""
import galsim
import numpy as np
import pytest

from galsim_deep.validation import shear as sh

S, SCALE = 32, 0.03


def _gaussians(n, seed=1):
    rng = np.random.default_rng(seed)
    return [galsim.Gaussian(sigma=rng.uniform(0.06, 0.12)).shear(
        e=rng.uniform(0.0, 0.6), beta=rng.uniform(0, np.pi) * galsim.radians) for _ in range(n)]


@pytest.fixture(scope="module")
def gaussian_measurements():
    return sh.shear_measurements(_gaussians(40), S, SCALE)


def test_gaussians_have_no_shear_bias(gaussian_measurements):
    """REGAUSS is exact for Gaussian galaxies and PSF: m = 0, c = 0 (the PSF is anisotropic)."""
    r = sh.shear_bias(gaussian_measurements)
    assert r["n"] == 40 and r["failed"] == 0.0
    assert abs(r["m"]) < 1e-3 and r["m_error"] < 1e-3
    assert abs(r["c1"]) < 2e-5 and abs(r["c2"]) < 2e-5
    assert 0.85 < r["R"] < 1.0


def test_shear_bias_recovers_a_known_calibration_error(gaussian_measurements):
    e = gaussian_measurements
    # Told that the applied shear was 5% larger than it was: m = 1/1.05 - 1.
    r = sh.shear_bias(e, shear=sh.SHEAR * 1.05)
    assert r["m"] == pytest.approx(1 / 1.05 - 1, abs=1.5e-3)
    # An additive distortion of 0.004 on component 1 of every sheared galaxy: c1 = 0.002 / R.
    shifted = e.copy()
    shifted[:, :, 1:, 0] += 0.004
    r0, r1 = sh.shear_bias(e), sh.shear_bias(shifted)
    assert r1["c1"] - r0["c1"] == pytest.approx(0.002 / r0["R"], rel=0.02)
    assert r1["c2"] == pytest.approx(r0["c2"], abs=1e-9)


def test_non_gaussian_profiles_are_biased_and_failures_are_left_out():
    rng = np.random.default_rng(2)
    devs = [galsim.DeVaucouleurs(half_light_radius=rng.uniform(0.15, 0.3)).shear(
        e=rng.uniform(0, 0.5), beta=rng.uniform(0, np.pi) * galsim.radians) for _ in range(12)]
    e = sh.shear_measurements(devs + [None], S, SCALE)
    r = sh.shear_bias(e, n_boot=100)
    assert r["n"] == 12 and r["failed"] == pytest.approx(1 / 13)
    assert abs(r["m"]) > 3 * r["m_error"]  # REGAUSS's model bias on de Vaucouleurs profiles
    with pytest.raises(ValueError, match="rotations"):
        sh.shear_bias(np.zeros((3, 2, 4, 2)))


def test_markdown():
    r = sh.shear_bias(sh.shear_measurements(_gaussians(5), S, SCALE), n_boot=50)
    text = "\n".join(sh.markdown_shear({"shear": 0.02, "psf_fwhm": 0.1, "psf_shear": [0.03, 0.03],
                                        "n": 5, "samples": {"generated": r, "real": r},
                                        "generated_minus_real": {"m": 0.0, "m_error": 0.001}}))
    assert "| generated | 5 |" in text and "REGAUSS" in text
