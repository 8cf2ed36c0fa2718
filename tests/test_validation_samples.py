"""Drawing the parametric and generated samples with matched PSF and noise."""
import galsim
import numpy as np
import pytest

from galsim_deep.validation import samples as sp


def _centroid(image):
    y, x = np.mgrid[:image.shape[0], :image.shape[1]]
    return (x * image).sum() / image.sum(), (y * image).sum() / image.sum()


def test_noise_field_has_the_requested_power_spectrum():
    n = 32
    # White noise of variance 4 and a correlated power spectrum (Gaussian-smoothed noise).
    white = np.array([sp.noise_field(4.0, [1, i], n) for i in range(400)])
    assert white.var() == pytest.approx(4.0, rel=0.02)
    ky = np.fft.fftfreq(n)[:, None]
    kx = np.fft.rfftfreq(n)[None, :]
    power = 2.0 * np.exp(-(kx ** 2 + ky ** 2) / (2 * 0.1 ** 2))
    corr = np.array([sp.noise_field(power, [2, i]) for i in range(400)])
    measured = np.mean(np.abs(np.fft.rfft2(corr)) ** 2, axis=0) / n ** 2
    assert np.mean(measured) == pytest.approx(np.mean(power), rel=0.03)
    low = power > 0.5
    np.testing.assert_allclose(measured[low] / power[low], 1.0, atol=0.25)
    # The pixel variance is the mean of the power over the full Fourier grid.
    full_mean = np.fft.irfft2(power, s=(n, n))[0, 0]
    assert corr.var() == pytest.approx(full_mean, rel=0.05)
    np.testing.assert_array_equal(sp.noise_field(power, [3, 0]), sp.noise_field(power, [3, 0]))
    with pytest.raises(ValueError, match="rfft2"):
        sp.noise_field(np.ones((n, n)), 0)


@pytest.mark.parametrize("size", [32, 33])
def test_psf_profile_keeps_the_galaxy_at_the_true_centre(size):
    scale = 0.03
    # An effective PSF image centred on pixel (S//2, S//2) as the dataset stores it.
    offset = (size // 2 - (size - 1) / 2.0)
    psf_img = galsim.Gaussian(sigma=0.06).drawImage(
        nx=size, ny=size, scale=scale, method="no_pixel", offset=(offset, offset)).array
    cx, cy = _centroid(psf_img)
    assert cx == pytest.approx(size // 2, abs=1e-3) and cy == pytest.approx(size // 2, abs=1e-3)
    psf = sp.psf_profile(psf_img, scale)
    assert psf.flux == pytest.approx(1.0)
    gal = galsim.Gaussian(sigma=0.1, flux=3.0)
    obs = sp.observe(gal, psf, size, scale, 0.0, 0)
    cx, cy = _centroid(obs)
    true_center = (size - 1) / 2.0
    assert cx == pytest.approx(true_center, abs=0.02)
    assert cy == pytest.approx(true_center, abs=0.02)
    assert obs.sum() == pytest.approx(3.0, rel=0.01)
    with pytest.raises(ValueError, match="PSF"):
        sp.psf_profile(np.zeros((size, size)), scale)


def test_observe_is_seeded_and_adds_the_noise():
    psf = sp.psf_profile(galsim.Gaussian(sigma=0.1).drawImage(nx=32, ny=32, scale=0.05).array,
                         0.05)
    gal = galsim.Exponential(half_light_radius=0.2)
    a = sp.observe(gal, psf, 32, 0.05, 1e-4, [5, 1])
    b = sp.observe(gal, psf, 32, 0.05, 1e-4, [5, 1])
    c = sp.observe(gal, psf, 32, 0.05, 1e-4, [5, 2])
    np.testing.assert_array_equal(a, b)
    assert np.std(a - c) == pytest.approx(np.sqrt(2e-4), rel=0.1)


def test_select_galaxies():
    idx = sp.select_galaxies(100, 10, seed=3)
    assert len(idx) == 10 and len(set(idx)) == 10 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(idx, sp.select_galaxies(100, 10, seed=3))
    assert not np.array_equal(idx, sp.select_galaxies(100, 10, seed=4))
    np.testing.assert_array_equal(sp.select_galaxies(5, 10, seed=0), np.arange(5))
    np.testing.assert_array_equal(sp.select_galaxies(5, None, seed=0), np.arange(5))


@pytest.mark.parametrize("row", [[20.0, 0.3, 1.0, 0.6, 0.4], [300.0, 0.8, 4.0, 0.52, 1.51]])
def test_parametric_profile_matches_the_dataset_sersic_inside_the_stamp(row):
    from galsim_deep.datasets.format import sersic_from_parametric

    psf = galsim.Gaussian(fwhm=0.1)
    size, scale = 48, 0.03
    ours = galsim.Convolve(sp.parametric_profile(row, size, scale, sersic_prec=0.0), psf)
    ref = galsim.Convolve(sersic_from_parametric(row), psf)
    a = ours.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array
    b = ref.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array
    np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4 * b.max())
    with pytest.raises(ValueError, match="parametric row"):
        sp.parametric_profile([1.0, -0.1, 1.0, 0.5, 0.0], size, scale)
    with pytest.raises(ValueError, match="parametric row"):
        sp.parametric_profile([1.0, np.nan, 1.0, 0.5, 0.0], size, scale)
