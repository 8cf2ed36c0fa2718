"""Non-galaxy stamps: stars at the true centre with the right flux, noise with the dataset's
power spectrum, artefacts, determinism, and stamps made from a real dataset row."""
import numpy as np
import pytest

from galsim_deep.tools.latent.outliers import (cosmic_ray_stamp, hot_pixel_stamp,
                                         make_non_galaxy_stamps, noise_from_power, star_stamp)


def _psf(size):
    galsim = pytest.importorskip("galsim")
    from galsim_deep.data.psf import draw_psf_image

    return draw_psf_image(galsim.Gaussian(sigma=0.05), size, 0.03)[0]


@pytest.mark.parametrize("size", [32, 33])
def test_star_is_the_psf_at_the_true_centre_with_the_flux(size):
    star = star_stamp(_psf(size), 250.0, 0.03)
    y, x = np.mgrid[:size, :size]
    assert star.sum() == pytest.approx(250.0, rel=1e-3)
    centre = (size - 1) / 2
    assert (star * x).sum() / star.sum() == pytest.approx(centre, abs=1e-3)
    assert (star * y).sum() / star.sum() == pytest.approx(centre, abs=1e-3)


def test_noise_has_the_requested_power_spectrum():
    rng = np.random.default_rng(0)
    white = np.array([noise_from_power(np.full((24, 13), 4.0), rng) for _ in range(300)])
    assert white.var() == pytest.approx(4.0, rel=0.03)
    # A coloured spectrum: the measured E|rfft2|^2 / S^2 follows it.
    power = np.ones((24, 13))
    power[:, 6:] = 9.0
    fields = np.array([noise_from_power(power, rng) for _ in range(400)])
    measured = (np.abs(np.fft.rfft2(fields)) ** 2).mean(axis=0) / 24 ** 2
    assert measured[:, 1:5].mean() == pytest.approx(1.0, rel=0.05)
    assert measured[:, 7:12].mean() == pytest.approx(9.0, rel=0.05)
    with pytest.raises(ValueError, match="rfft2 layout"):
        noise_from_power(np.ones((24, 24)), rng)
    with pytest.raises(ValueError, match=">= 0"):
        noise_from_power(-np.ones((24, 13)), rng)


def test_artefacts_carry_the_flux_near_the_centre_and_are_seeded():
    rng = np.random.default_rng(3)
    for _ in range(20):
        cr = cosmic_ray_stamp(32, 100.0, rng)
        assert cr.sum() == pytest.approx(100.0)
        assert 3 <= np.count_nonzero(cr) <= 2 * 15 + 2  # a staircase along a diagonal
        hot = hot_pixel_stamp(32, 50.0, rng)
        assert hot.sum() == pytest.approx(50.0) and 1 <= np.count_nonzero(hot) <= 3
        ys, xs = np.nonzero(hot)
        assert np.all(np.abs(ys - 15) <= 7) and np.all(np.abs(xs - 15) <= 7)
    np.testing.assert_array_equal(cosmic_ray_stamp(32, 1.0, np.random.default_rng(9)),
                                  cosmic_ray_stamp(32, 1.0, np.random.default_rng(9)))


def test_stamps_from_dataset_rows(mock_dataset_path):
    from galsim_deep.data.format import flux_from_mag
    from galsim_deep.data.reader import StampDataset

    rows = [0, 3, 7]
    with StampDataset(mock_dataset_path) as ds:
        data = ds.read(rows, ["psf", "noise_power", "noise_variance", "conditions"])
        mag = data["conditions"][:, ds.condition_names.index("mag_auto")]
    stars = make_non_galaxy_stamps(mock_dataset_path, "star", rows, seed=4)
    assert stars["stamp"].shape == (3, 32, 32) and stars["stamp"].dtype == np.float32
    np.testing.assert_array_equal(stars["psf"], data["psf"])
    np.testing.assert_array_equal(stars["conditions"], data["conditions"])
    np.testing.assert_array_equal(stars["noise_power"], data["noise_power"])
    noise_sd = 5 * np.sqrt(data["noise_variance"]) * 32
    np.testing.assert_allclose(stars["stamp"].sum(axis=(1, 2)), flux_from_mag(mag),
                               atol=float(noise_sd.max()))
    noise = make_non_galaxy_stamps(mock_dataset_path, "noise", rows, seed=4)["stamp"]
    assert abs(noise.mean()) < 3 * np.sqrt(data["noise_variance"].max() / noise.size) * 10
    # A stamp depends on (seed, kind, row) only.
    again = make_non_galaxy_stamps(mock_dataset_path, "cosmic_ray", [7, 0], seed=4)["stamp"]
    first = make_non_galaxy_stamps(mock_dataset_path, "cosmic_ray", rows, seed=4)["stamp"]
    np.testing.assert_array_equal(again[0], first[2])
    assert not np.array_equal(
        make_non_galaxy_stamps(mock_dataset_path, "cosmic_ray", [0], seed=5)["stamp"][0],
        first[0])
    with pytest.raises(ValueError, match="kind must be one of"):
        make_non_galaxy_stamps(mock_dataset_path, "satellite", rows)
