"""Numerical tests of the forward model: PSF convolution, likelihoods, total variation."""
import numpy as np
import pytest
import scipy.signal
import scipy.stats

tf = pytest.importorskip("tensorflow")

from galsim_deep.physics import forward_model as physics  # noqa: E402


def _gaussian(s, cx, cy, sigma):
    y, x = np.mgrid[:s, :s]
    img = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma ** 2))
    return img / img.sum()


@pytest.mark.parametrize("s", [16, 15])
def test_zero_padded_convolution_matches_scipy(s):
    rng = np.random.default_rng(0)
    image = rng.random((2, s, s)).astype(np.float32)
    psf = rng.random((2, s, s)).astype(np.float32)
    psf /= psf.sum(axis=(1, 2), keepdims=True)
    got = physics.convolve_psf(image, psf).numpy()
    c = s // 2
    for i in range(2):
        full = scipy.signal.fftconvolve(image[i].astype(float), psf[i].astype(float), mode="full")
        np.testing.assert_allclose(got[i], full[c:c + s, c:c + s], atol=1e-5)


def test_circular_convolution_matches_explicit_sum():
    s = 8
    rng = np.random.default_rng(1)
    image = rng.random((1, s, s)).astype(np.float32)
    psf = rng.random((1, s, s)).astype(np.float32)
    psf /= psf.sum()
    c = s // 2
    expected = np.zeros((s, s))
    for i in range(s):
        for j in range(s):
            for k in range(s):
                for m in range(s):
                    expected[i, j] += image[0, k, m] * psf[0, (i - k + c) % s, (j - m + c) % s]
    got = physics.convolve_psf(image, psf, mode="circular").numpy()[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_convolution_matches_galsim_and_keeps_the_true_centre():
    galsim = pytest.importorskip("galsim")
    s, scale = 32, 0.03
    # Compact enough that the light outside the stamp is negligible.
    gal = galsim.Gaussian(sigma=0.1, flux=10.0).shear(e1=0.3, e2=-0.2)
    psf_prof = galsim.Gaussian(fwhm=0.1)
    image = gal.drawImage(nx=s, ny=s, scale=scale, method="no_pixel").array
    # Effective PSF (with the pixel) centred on pixel (S//2, S//2): offset by half a pixel
    # from the true centre of an even stamp.
    psf = psf_prof.drawImage(nx=s, ny=s, scale=scale, offset=(0.5, 0.5)).array
    psf /= psf.sum()
    got = physics.convolve_psf(image[None].astype(np.float32), psf[None].astype(np.float32))
    got = got.numpy()[0]
    expected = galsim.Convolve(gal, psf_prof).drawImage(nx=s, ny=s, scale=scale).array
    # Same flux within the stamp, same light distribution to <1% of the peak.
    assert abs(got.sum() - expected.sum()) < 1e-3 * expected.sum()
    assert np.max(np.abs(got - expected)) < 1e-2 * expected.max()
    y, x = np.mgrid[:s, :s]
    for img in (got, expected):
        assert abs((img * x).sum() / img.sum() - (s - 1) / 2) < 1e-3
        assert abs((img * y).sum() / img.sum() - (s - 1) / 2) < 1e-3


@pytest.mark.parametrize("s", [16, 17])
def test_symmetric_profile_stays_centred(s):
    image = _gaussian(s, (s - 1) / 2, (s - 1) / 2, 1.5)[None].astype(np.float32)
    psf = _gaussian(s, s // 2, s // 2, 1.0)[None].astype(np.float32)
    out = physics.convolve_psf(image, psf).numpy()[0]
    y, x = np.mgrid[:s, :s]
    assert abs((out * x).sum() / out.sum() - (s - 1) / 2) < 1e-4
    assert abs((out * y).sum() / out.sum() - (s - 1) / 2) < 1e-4
    assert abs(out.sum() - 1.0) < 1e-3  # flux kept (unit-sum PSF, little light off the stamp)


def test_convolution_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="same size"):
        physics.convolve_psf(np.zeros((1, 8, 8), np.float32), np.zeros((1, 16, 16), np.float32))
    with pytest.raises(ValueError, match="circular"):
        physics.convolve_psf(np.zeros((1, 8, 8), np.float32), np.zeros((1, 8, 8), np.float32),
                             mode="reflect")


def test_pixel_likelihood_is_the_gaussian_log_density():
    rng = np.random.default_rng(2)
    obs = rng.normal(size=(3, 6, 6)).astype(np.float32)
    model = rng.normal(size=(3, 6, 6)).astype(np.float32)
    var = np.array([0.5, 1.0, 2.0], np.float32)
    got = physics.pixel_log_likelihood(obs, model, var).numpy()
    for i in range(3):
        expected = scipy.stats.norm.logpdf(obs[i], model[i], np.sqrt(var[i])).sum()
        assert got[i] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("s", [8, 9])
def test_fourier_likelihood_equals_pixel_likelihood_for_white_noise(s):
    rng = np.random.default_rng(3)
    obs = rng.normal(size=(2, s, s)).astype(np.float32)
    model = rng.normal(size=(2, s, s)).astype(np.float32)
    var = np.array([0.3, 2.0], np.float32)
    power = np.broadcast_to(var[:, None, None], (2, s, s // 2 + 1)).astype(np.float32)
    pix = physics.pixel_log_likelihood(obs, model, var).numpy()
    fou = physics.fourier_log_likelihood(obs, model, power).numpy()
    np.testing.assert_allclose(fou, pix, rtol=1e-5)


def test_fourier_likelihood_is_the_exact_density_of_stationary_noise():
    # Correlated noise: circulant covariance whose eigenvalues are the power spectrum.
    s = 6
    kx = np.fft.fftfreq(s)[None, :]
    ky = np.fft.fftfreq(s)[:, None]
    power_full = 0.5 + 2.0 * np.exp(-(kx ** 2 + ky ** 2) / 0.05)  # symmetric in k
    cov_fn = np.real(np.fft.ifft2(power_full))  # C(d), with E|fft2(n)|^2 / S^2 = P
    idx = np.arange(s * s)
    iy, ix = idx // s, idx % s
    cov = cov_fn[(iy[:, None] - iy[None, :]) % s, (ix[:, None] - ix[None, :]) % s]
    rng = np.random.default_rng(4)
    resid = rng.multivariate_normal(np.zeros(s * s), cov)
    expected = scipy.stats.multivariate_normal(np.zeros(s * s), cov).logpdf(resid)
    power = power_full[:, : s // 2 + 1][None].astype(np.float32)
    got = physics.fourier_log_likelihood(resid.reshape(1, s, s).astype(np.float32),
                                         np.zeros((1, s, s), np.float32), power).numpy()[0]
    assert got == pytest.approx(expected, rel=1e-4)


def test_noise_power_convention_of_white_noise():
    # noise_power = E|rfft2(noise)|^2 / S^2 is sigma^2 for white noise of variance sigma^2.
    s, sigma = 16, 1.7
    rng = np.random.default_rng(5)
    noise = rng.normal(0, sigma, size=(4000, s, s))
    power = (np.abs(np.fft.rfft2(noise)) ** 2).mean(axis=0) / s ** 2
    assert np.allclose(power, sigma ** 2, rtol=0.1)


def test_fourier_likelihood_checks_the_layout():
    with pytest.raises(ValueError, match="rfft2 layout"):
        physics.fourier_log_likelihood(np.zeros((1, 8, 8), np.float32),
                                       np.zeros((1, 8, 8), np.float32),
                                       np.ones((1, 8, 8), np.float32))


def test_rfft2_weights_count_every_mode_once():
    for s in (8, 9):
        w = physics.rfft2_weights(s).numpy()
        assert w.sum() * s == s * s  # s rows of the rfft2 layout cover the s x s modes


def test_total_variation():
    img = np.zeros((2, 4, 4), np.float32)
    img[0, 1, 1] = 2.0  # a single bright pixel: 4 edges of height 2
    img[1] = np.arange(4, dtype=np.float32)[None, :]  # a ramp: 3 steps of 1 in 4 rows
    np.testing.assert_allclose(physics.total_variation(img).numpy(), [8.0, 12.0])


def _gaussian_psf(size, sigma):
    y, x = np.mgrid[:size, :size] - size // 2
    psf = np.exp(-0.5 * (x * x + y * y) / sigma ** 2)
    return (psf / psf.sum()).astype(np.float32)


def test_power_beyond_psf_is_parseval_weighted_by_what_the_psf_removes():
    """Three cases with a closed form: a point PSF removes nothing (0); a PSF much wider
    than the stamp removes every mode but the mean (the image's power less its mean's,
    Parseval); a point image has unit power in every mode, so it costs sum_k (1 -
    |T(k)|^2) / S^2, with T the analytic transfer of the Gaussian.  And turning the image
    by a quarter turn or transposing it leaves the measure unchanged."""
    rng = np.random.default_rng(3)
    s = 16
    image = rng.normal(size=(1, s, s)).astype(np.float32)
    delta = np.zeros((1, s, s), np.float32)
    delta[0, s // 2, s // 2] = 1.0
    np.testing.assert_allclose(physics.power_beyond_psf(image, delta).numpy(), [0.0],
                               atol=1e-4)
    wide = _gaussian_psf(s, 40.0)[None]
    expected = (image ** 2).sum() - image.sum() ** 2 / s ** 2
    np.testing.assert_allclose(physics.power_beyond_psf(image, wide).numpy(), [expected],
                               rtol=2e-3)
    sigma = 1.5
    k = 2 * np.pi * np.fft.fftfreq(s)
    transfer2 = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) * sigma ** 2)
    got = physics.power_beyond_psf(delta, _gaussian_psf(s, sigma)[None]).numpy()
    np.testing.assert_allclose(got, [(1 - transfer2).sum() / s ** 2], rtol=1e-3)
    turned = np.stack([image[0], np.rot90(image[0]), image[0].T])
    psfs = np.repeat(_gaussian_psf(s, sigma)[None], 3, axis=0)
    values = physics.power_beyond_psf(turned, psfs).numpy()
    np.testing.assert_allclose(values, values[0], rtol=1e-5)


def test_the_graphs_band_fluxes_are_the_one_numpy_rule_on_random_bands():
    """forward_model.template_ratios + band_profiles (TensorFlow, for the training's
    gradients) equal physics.bands.band_fluxes and engine.colour.band_arrays (numpy, the one
    band-flux rule) to float32 precision, on random bands, redshifts and SED weights."""
    from galsim_deep.engine.colour import band_arrays
    from galsim_deep.physics import bands as B

    rng = np.random.default_rng(56)
    n, k, t = 12, 3, len(B.SED_TEMPLATES)
    for _ in range(4):
        bands = [str(b) for b in rng.choice(list(B.BANDS), size=4, replace=False)]
        table = B.flux_ratio_table(bands)
        covered = ~np.isnan(table).any(axis=(0, 1))             # [Z]: every band, template
        steps = np.flatnonzero(covered[:-1] & covered[1:])
        z = B.REDSHIFT_GRID[rng.choice(steps, n)] + rng.uniform(0, B.REDSHIFT_STEP, n)
        z[:2] = B.REDSHIFT_GRID[steps[0]], B.REDSHIFT_GRID[steps[-1] + 1]  # the ends
        z = z.astype(np.float32)                                 # the graph's precision
        weights = rng.dirichlet(np.full(t, 0.5), size=(n, k)).astype(np.float32)
        components = rng.random((n, k, 6, 6)).astype(np.float32)
        want = B.band_fluxes(weights, z, bands)                  # float64, [N, K, B]
        profiles, fluxes = physics.band_profiles(components, weights,
                                                 physics.template_ratios(table, z))
        np.testing.assert_allclose(fluxes.numpy(), want, rtol=2e-6, err_msg=str(bands))
        np.testing.assert_allclose(profiles.numpy(),
                                   band_arrays(components, weights, z, bands),
                                   rtol=2e-6, atol=1e-7, err_msg=str(bands))
