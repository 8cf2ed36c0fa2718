"""Stamps at f x 0.03": the HST PSF and COSMOS noise drawn at 0.03" and binned f x f."""
import json

import h5py
import numpy as np
import pytest

from galsim_deep.data.binning import bin_pixels, binning_factor, draw_binned, fine_offset
from galsim_deep.data.noise import (binned_power, cosmos_noise, draw_noise, noise_power,
                                        pixel_variance)
from galsim_deep.data.psf import HSTPSFSet, draw_psf_image


def _centroid(image):
    y, x = np.mgrid[: image.shape[0], : image.shape[1]]
    return (image * x).sum() / image.sum(), (image * y).sum() / image.sum()


def test_bin_pixels_and_offsets():
    a = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(bin_pixels(a, 2), [[10, 18], [42, 50]])
    assert bin_pixels(a, 1) is a
    with pytest.raises(ValueError, match="multiple of 3"):
        bin_pixels(a, 3)
    assert fine_offset(32, 1) == 0.5 and fine_offset(33, 1) == 0.0
    assert fine_offset(32, 2) == 1.0 and fine_offset(33, 2) == 0.0
    assert binning_factor(0.03, 0.03) == 1 and binning_factor(0.06, 0.03) == 2
    assert binning_factor(0.09, 0.03) == 3


@pytest.mark.parametrize("size", [16, 17])
def test_binned_psf_is_the_coarse_pixel_effective_psf(size):
    """Binning the 0.03" effective PSF (optics x 0.03" pixel) 2 x 2 gives the 0.06" one
    (optics x 0.06" pixel), centred on pixel (S//2, S//2): exact with real-space drawing."""
    import galsim

    optics = galsim.Gaussian(sigma=0.05)
    fine = galsim.Convolve(optics, galsim.Pixel(0.03), real_space=True)
    coarse = galsim.Convolve(optics, galsim.Pixel(0.06), real_space=True)
    binned, captured = draw_psf_image(fine, size, 0.06, binning=2)
    direct, _ = draw_psf_image(coarse, size, 0.06)
    np.testing.assert_allclose(binned, direct, rtol=0, atol=1e-12)
    assert binned.sum() == pytest.approx(1.0, abs=1e-12) and 0.99 < captured < 1.0 + 1e-9
    cx, cy = _centroid(binned)
    assert cx == pytest.approx(size // 2, abs=1e-9) and cy == pytest.approx(size // 2, abs=1e-9)
    # An offset of a quarter of a coarse pixel would be seen.
    shifted, _ = draw_psf_image(coarse.shift(0.015, 0.0), size, 0.06)
    assert np.abs(shifted - binned).max() > 1e-3


def test_binned_stamp_is_centred_on_the_true_centre():
    import galsim

    gal = galsim.Gaussian(sigma=0.1)
    fine = galsim.Convolve(gal, galsim.Pixel(0.03), real_space=True)
    coarse = galsim.Convolve(gal, galsim.Pixel(0.06), real_space=True)
    for size in (16, 17):
        np.testing.assert_allclose(draw_binned(fine, size, 0.06, 2),
                                   draw_binned(coarse, size, 0.06, 1), atol=1e-12)
        cx, cy = _centroid(draw_binned(fine, size, 0.06, 2))
        assert cx == pytest.approx((size - 1) / 2, abs=1e-6)


def test_hst_psf_set_binned_centred_unit_sum():
    hst = HSTPSFSet(32, 0.06)
    assert hst.binning == 2 and hst.profile_scale == 0.03
    assert "binned 2 x 2" in hst.description
    for i in (0, 41, 99):
        im = hst.image(i)
        assert im.shape == (32, 32) and im.sum() == pytest.approx(1.0, abs=1e-12)
        cx, cy = _centroid(im)
        assert abs(cx - 16) < 0.02 and abs(cy - 16) < 0.02
        assert np.unravel_index(im.argmax(), im.shape) == (16, 16)


def test_binning_by_one_is_the_old_path():
    """f = 1 draws exactly what the code did before binning existed."""
    import galsim

    hst = HSTPSFSet(32, 0.03)
    assert hst.binning == 1
    psf = hst.profile(5)
    old = psf.drawImage(nx=32, ny=32, scale=0.03, method="no_pixel", offset=(0.5, 0.5),
                        dtype=np.float64).array
    np.testing.assert_array_equal(hst.image(5), old / old.sum())
    np.testing.assert_array_equal(draw_psf_image(psf, 32, 0.03, binning=1)[0], old / old.sum())
    unit = cosmos_noise()
    cf = galsim.Image(24, 24, scale=0.03, dtype=float)
    unit.drawImage(cf)
    np.testing.assert_array_equal(noise_power(unit, 24, 0.03, binning=1),
                                  np.abs(np.fft.rfft2(cf.array)))
    gal = galsim.Convolve(galsim.Exponential(half_light_radius=0.2), psf)
    np.testing.assert_array_equal(
        draw_binned(gal, 32, 0.03, 1),
        gal.drawImage(nx=32, ny=32, scale=0.03, method="no_pixel", dtype=np.float64).array)


@pytest.mark.slow
def test_binned_noise_power_matches_the_empirical_power():
    """noise_power(binning=2) = the power of many 2 x 2-binned COSMOS noise fields."""
    s, f, n_draws = 8, 2, 1500
    unit = cosmos_noise()
    expected = noise_power(unit, s, 0.06, binning=f)
    empirical = np.zeros_like(expected)
    for k in range(n_draws):
        binned = bin_pixels(draw_noise(unit, f * s, 0.03, k + 1), f)
        empirical += np.abs(np.fft.rfft2(binned)) ** 2 / s ** 2
    ratio = empirical / n_draws / expected
    # Each frequency is an average of n_draws exponential variables (chi^2 with 2 dof, or 1
    # for the real frequencies): relative error <= sqrt(2 / n_draws) = 3.7%.
    assert abs(ratio.mean() - 1) < 0.015
    assert np.abs(ratio - 1).max() < 6 * np.sqrt(2 / n_draws)
    # The unbinned spectrum on the coarse grid is far off (the binned noise is ~9 x stronger).
    assert noise_power(unit, s, 0.06).mean() < 0.5 * expected.mean()
    assert pixel_variance(expected) == pytest.approx(np.mean(
        [bin_pixels(draw_noise(unit, f * s, 0.03, k + 1), f).var() for k in range(300)]),
        rel=0.1)


def test_binned_white_noise():
    np.testing.assert_allclose(binned_power(np.ones((32, 32)), 2), 4.0, rtol=1e-12)
    np.testing.assert_allclose(binned_power(np.ones((33, 33)), 3), 9.0, rtol=1e-12)
    assert pixel_variance(np.full((16, 9), 2.5)) == pytest.approx(2.5)
    assert pixel_variance(np.full((15, 8), 2.5)) == pytest.approx(2.5)


def test_psf_hst_rejects_non_integer_binning():
    from galsim_deep.data.mock_cosmos import MockCosmosSource

    with pytest.raises(ValueError, match=r"whole multiple of 0.03.*0.03 or 0.06.*psf='optical'"):
        MockCosmosSource(32, 0.05, 0)
    with pytest.raises(ValueError, match=r"0.06 or 0.09"):
        HSTPSFSet(32, 0.075)
    with pytest.raises(ValueError, match="whole multiple"):
        MockCosmosSource(32, 0.01, 0)
    assert MockCosmosSource(32, 0.05, 0, psf="optical").binning == 1


def test_mock_build_at_twice_the_hst_pixel(tmp_path):
    from galsim_deep.data.build import build_dataset
    from galsim_deep.data.example_data import load_example_catalog
    from galsim_deep.data.mock_cosmos import sample_conditions
    from galsim_deep.data.reader import StampDataset

    out = build_dataset("mock-cosmos", 6, tmp_path / "b.h5", stamp_size=32, pixel_scale=0.06,
                        seed=4, processes=1, progress=False, population="cosmos-25.2")
    with StampDataset(out) as ds:
        a = ds.arrays("all")
        attrs = ds.attrs
        assert ds.pixel_scale == pytest.approx(0.06)
    assert attrs["selection"]["pixel_binning"] == 2
    assert json.loads(h5py.File(out, "r").attrs["build_options"])["population"] == "cosmos-25.2"
    assert "binned 2 x 2" in attrs["psf_description"] and "binned" in attrs["noise_description"]
    np.testing.assert_allclose(a["psf"].sum(axis=(1, 2)), 1.0, rtol=1e-5)
    for psf in a["psf"]:
        cx, cy = _centroid(psf)
        assert abs(cx - 16) < 0.05 and abs(cy - 16) < 0.05
    # The stored pixel variance is the catalog's variance per 0.03" pixel times that of the
    # binned unit noise, whose spectrum is stored.
    variances = set(np.round(np.asarray(load_example_catalog()["NOISE_VARIANCE"]), 12))
    unit = noise_power(cosmos_noise(), 32, 0.06, binning=2)
    factor = pixel_variance(unit)
    assert 4.0 < factor < 16.0
    for v, power in zip(a["noise_variance"], a["noise_power"]):
        assert round(float(v) / factor, 12) in variances or any(
            abs(float(v) / factor - w) < 1e-6 * w for w in variances)
        np.testing.assert_allclose(power, float(v) / factor * unit, rtol=1e-5)
    assert np.all(a["conditions"][:, 0] <= 25.2) and np.all(a["conditions"][:, 1] <= 32.0)
    t = sample_conditions(6, 4, stamp_size=32, pixel_scale=0.06, population="cosmos-25.2")
    np.testing.assert_allclose(a["conditions"], np.stack([t[c] for c in t.colnames], 1),
                               rtol=1e-6)
