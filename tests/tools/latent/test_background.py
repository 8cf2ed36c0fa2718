"""The backgrounds an image flow's density is measured against (issue 84)."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from galsim_deep.core.errors import InputError
from galsim_deep.tools.latent.background import (BACKGROUND_SCORES, background_scores,
                                                 catalog_ratio, complexity_bits,
                                                 sky_log_prob)
from galsim_deep.tools.latent.outliers import noise_from_power


def _power(size, rng):
    """A random, smooth, positive power spectrum in the rfft2 layout (the transform of a
    real, even kernel's square: every full-grid mode and its mirror share a value)."""
    kernel = np.exp(-0.5 * (np.fft.fftfreq(size)[:, None] ** 2
                            + np.fft.fftfreq(size)[None, :] ** 2) / 0.1)
    kernel *= 1.0 + 0.3 * rng.random()
    return np.abs(np.fft.rfft2(kernel)) ** 2 / size + 0.05


@pytest.mark.parametrize("size", [5, 6])
def test_sky_log_prob_is_the_gaussian_density_of_the_circulant_covariance(size):
    """Against scipy's multivariate normal with the covariance built pixel by pixel:
    cov(x_i, x_j) = the inverse transform of the power spectrum at their separation."""
    rng = np.random.default_rng(3)
    power = _power(size, rng)
    autocorrelation = np.fft.irfft2(power, s=(size, size))
    y, x = np.divmod(np.arange(size * size), size)
    cov = autocorrelation[(y[:, None] - y[None, :]) % size, (x[:, None] - x[None, :]) % size]
    stamps = np.stack([noise_from_power(power, rng) for _ in range(3)]) + 0.2
    expected = multivariate_normal(np.zeros(size * size), cov).logpdf(stamps.reshape(3, -1))
    np.testing.assert_allclose(sky_log_prob(stamps, power), expected, rtol=1e-10)
    # one power spectrum per stamp is the same as one shared
    np.testing.assert_allclose(sky_log_prob(stamps, np.stack([power] * 3)), expected,
                               rtol=1e-10)


def test_sky_log_prob_refuses_a_power_spectrum_with_a_zero():
    power = np.ones((4, 3))
    power[1, 1] = 0.0
    with pytest.raises(InputError, match="noise_power must be finite and > 0"):
        sky_log_prob(np.zeros((1, 4, 4)), power)
    with pytest.raises(InputError, match=r"\[N, S, S\]"):
        sky_log_prob(np.zeros((4, 4)), np.ones((4, 3)))
    with pytest.raises(InputError, match="NaN"):
        sky_log_prob(np.full((1, 4, 4), np.nan), np.ones((4, 3)))


def test_complexity_bits_grow_with_structure_and_with_finer_steps():
    rng = np.random.default_rng(0)
    flat = np.zeros((1, 32, 32))
    noise = rng.normal(size=(1, 32, 32))
    variance = np.ones(1)
    assert complexity_bits(flat, variance)[0] < complexity_bits(noise, variance)[0]
    coarse, fine = (complexity_bits(noise, variance, step=s)[0] for s in (2.0, 0.25))
    assert coarse < fine
    # the quantisation is in units of each stamp's noise: scaling stamp and noise together
    # leaves the length unchanged
    assert complexity_bits(noise * 7, variance * 49)[0] == complexity_bits(noise, variance)[0]
    with pytest.raises(InputError, match="noise_variance must be"):
        complexity_bits(noise, np.zeros(1))
    with pytest.raises(InputError, match="step must be > 0"):
        complexity_bits(noise, variance, step=0)


def test_catalog_ratio_is_the_log_of_the_own_row_s_share():
    own = np.array([0.0, -3.0, 10.0])
    refs = np.array([[0.0, 0.0, 10.0], [0.0, -3.0, 10.0 - np.log(2.0)]])
    ratio = catalog_ratio(own, refs)
    # every row alike: 0; a stamp its own row explains best: up to log(K + 1)
    assert ratio[0] == pytest.approx(0.0, abs=1e-12)
    expected = -3.0 - np.log((2 * np.exp(-3.0) + 1.0) / 3.0)
    assert ratio[1] == pytest.approx(expected, rel=1e-12)
    assert ratio[2] == pytest.approx(-np.log((2.0 + 0.5) / 3.0), rel=1e-12)
    assert np.all(catalog_ratio(np.zeros(4), np.full((5, 4), -1e4)) <= np.log(6.0) + 1e-12)
    with pytest.raises(InputError, match=r"\[K >= 1, N\]"):
        catalog_ratio(own, refs[:, :2])
    with pytest.raises(InputError, match="NaN"):
        catalog_ratio(np.array([np.nan, 0, 0]), refs)


class _ShiftedGaussian:
    """A stand-in density of stamps: white Gaussian noise of unit variance about a mean
    stamp that scales with the first condition, so each score's value is known."""
    quantities = ("mag_auto", "flux_radius")

    def __init__(self, template):
        self.template = template

    def log_prob(self, stamps, conditions, range_policy="warn"):
        mean = conditions["mag_auto"][:, None, None] * self.template
        return np.sum(-0.5 * (stamps - mean) ** 2 - 0.5 * np.log(2 * np.pi), axis=(1, 2))


def test_background_scores_against_a_density_known_in_closed_form():
    rng = np.random.default_rng(1)
    size = 8
    template = np.zeros((size, size))
    template[3:5, 3:5] = 1.0
    model = _ShiftedGaussian(template)
    conditions = np.array([[4.0, 1.0], [0.0, 1.0]], np.float32)
    stamps = conditions[:, :1, None] * template + rng.normal(size=(2, size, size))
    log_prob = model.log_prob(stamps, {"mag_auto": conditions[:, 0]})
    power = np.ones((size, size // 2 + 1))
    references = np.array([[0.0, 2.0], [8.0, 2.0]], np.float32)
    scores = background_scores(model, stamps, conditions, log_prob, np.stack([power] * 2),
                               np.ones(2), references, chunk_size=1)
    assert set(scores) == set(BACKGROUND_SCORES)
    # the sky is the model under mean 0: the second stamp's ratio is 0
    np.testing.assert_allclose(scores["sky_ratio"][1], 0.0, atol=1e-9)
    assert scores["sky_ratio"][0] < 0  # the galaxy is better explained than by the sky
    refs = np.stack([model.log_prob(stamps, {"mag_auto": np.full(2, r[0])})
                     for r in references])
    # (the stamps reach the module as float32)
    np.testing.assert_allclose(scores["catalog_ratio"], -catalog_ratio(log_prob, refs),
                               rtol=1e-5)
    np.testing.assert_allclose(
        scores["complexity"], -log_prob - np.log(2) * complexity_bits(stamps, np.ones(2)))
    with pytest.raises(InputError, match=r"references must be \[K, 2\]"):
        background_scores(model, stamps, conditions, log_prob, power, np.ones(2),
                          references[:, :1])
