"""The HDF5 stamp-dataset format: attributes, fields, units and physical consistency."""
import json

import h5py
import numpy as np
import pytest

from galsim_deep.data import format as fmt
from galsim_deep.data.augment import full_power


def _fft_convolve(image, psf):
    """Circular FFT convolution with a PSF centred on pixel (S//2, S//2)."""
    return np.fft.irfft2(np.fft.rfft2(image) * np.fft.rfft2(np.fft.ifftshift(psf)), s=image.shape)


def test_root_attributes(mock_dataset_path):
    with h5py.File(mock_dataset_path, "r") as f:
        attrs = f.attrs
        for key in fmt.REQUIRED_ATTRS:
            assert key in attrs, key
        assert attrs["format"] == fmt.FORMAT_NAME
        assert attrs["format_version"] == fmt.FORMAT_VERSION
        assert attrs["source"] == "mock-cosmos"
        assert attrs["pixel_scale"] == pytest.approx(0.03)
        assert attrs["stamp_size"] == 32
        assert attrs["n_examples"] == 24
        assert attrs["seed"] == 1
        assert list(attrs["condition_names"]) == ["mag_auto", "flux_radius", "zphot"]
        assert list(attrs["class_names"]) == ["spheroid", "disk", "clumpy", "spiral",
                                               "disturbed", "pair"]
        selection = json.loads(attrs["selection"])
        assert selection["max_flux_radius_pixels_0.03"] == pytest.approx(8.0)
        assert 0 < selection["acceptance"] < 1
        flux = json.loads(attrs["flux_convention"])
        assert flux["zero_point"] == pytest.approx(25.94)
        assert flux["collecting_area_m2"] == pytest.approx(np.pi * 1.2 ** 2 * (1 - 0.33 ** 2))
        assert flux["exptime_s"] == 1.0
        # No build time: the same command on the same versions writes the same bytes.
        assert "created" not in attrs


def test_fields_shapes_dtypes_and_chunking(mock_dataset_path):
    with h5py.File(mock_dataset_path, "r") as f:
        for name in ("stamp", "psf", "noise_variance", "noise_power", "parametric", "ident",
                     "split", "truth", "label", "psf_id"):
            ds = f[name]
            assert ds.shape == fmt.field_shape(name, 24, 32), name
            assert ds.dtype == np.dtype(fmt.FIELDS[name][0]), name
            assert ds.compression == "gzip", name
            assert "description" in ds.attrs
        assert f["stamp"].chunks == (1, 32, 32)
        assert f["noise_power"].shape == (24, 32, 17)
        assert list(f["split"].attrs["names"]) == ["train", "test"]
        assert list(f["parametric"].attrs["columns"]) == list(fmt.PARAMETRIC_COLUMNS)
        for name, (unit, _) in fmt.CONDITIONS.items():
            ds = f[f"conditions/{name}"]
            assert ds.shape == (24,) and ds.dtype == np.float32
            assert ds.attrs["unit"] == unit
        assert f["conditions/mag_auto"].attrs["unit"] == "mag (AB)"
        assert set(np.unique(f["split"][...])) <= {0, 1}
        assert f["split"][...].sum() == round(0.1 * 24)


def test_psf_unit_sum_and_centred(mock_dataset_path):
    with h5py.File(mock_dataset_path, "r") as f:
        psf = f["psf"][...].astype(float)
    s = psf.shape[-1]
    np.testing.assert_allclose(psf.sum(axis=(1, 2)), 1.0, atol=1e-5)
    y, x = np.mgrid[:s, :s]
    for p in psf:
        peak = np.unravel_index(np.argmax(p), p.shape)
        assert abs(peak[0] - s // 2) <= 1 and abs(peak[1] - s // 2) <= 1
        cy, cx = (p * y).sum(), (p * x).sum()
        assert abs(cy - s // 2) < 0.2 and abs(cx - s // 2) < 0.2


def test_noise_power_normalisation(mock_dataset_path):
    with h5py.File(mock_dataset_path, "r") as f:
        power = f["noise_power"][...].astype(float)
        variance = f["noise_variance"][...].astype(float)
    # Parseval: the mean of E|rfft2(n)|^2 / S^2 over the full plane is the pixel variance.
    np.testing.assert_allclose(full_power(power, 32).mean(axis=(1, 2)), variance, rtol=1e-4)
    assert np.all(power > 0)
    # COSMOS noise is correlated: much more power at low than at high frequency.
    assert np.all(power[:, 0, 0] > 3 * power[:, 16, 16])


def test_truth_convolved_with_psf_matches_stamp_within_noise(mock_dataset_path):
    with h5py.File(mock_dataset_path, "r") as f:
        stamp = f["stamp"][...].astype(float)
        truth = f["truth"][...].astype(float)
        psf = f["psf"][...].astype(float)
        sigma = np.sqrt(f["noise_variance"][...].astype(float))
        flux = f["parametric"][:, 0].astype(float)
    s = stamp.shape[-1]
    outside_core = np.ones((s, s), bool)
    outside_core[s // 2 - 3:s // 2 + 3, s // 2 - 3:s // 2 + 3] = False
    rms = []
    for i in range(len(stamp)):
        resid = (stamp[i] - _fft_convolve(truth[i], psf[i])) / sigma[i]
        rms.append(resid[outside_core].std())
        # The galaxy is centred on the stamp's true centre in both images.
        assert truth[i].sum() > 0.5 * flux[i]
    rms = np.array(rms)
    # Outside the cusps of the bulges (point-sampled truth), the residual is the noise.
    assert np.median(rms) < 1.15
    assert rms.max() < 2.5


def test_truth_is_centred_on_true_centre(mock_dataset_path):
    with h5py.File(mock_dataset_path, "r") as f:
        truth = f["truth"][...].astype(float)
        label = f["label"][...]
    s = truth.shape[-1]
    y, x = np.mgrid[:s, :s]
    # Smooth, symmetric classes (spheroid, disk) have their centroid at (S-1)/2.
    for t in truth[np.isin(label, [0, 1])]:
        cy, cx = (t * y).sum() / t.sum(), (t * x).sum() / t.sum()
        assert abs(cy - (s - 1) / 2) < 0.05 and abs(cx - (s - 1) / 2) < 0.05


def test_flux_zero_point_matches_galsim_cosmos_catalog():
    from galsim_deep.data.cosmos_example import load_example_catalog

    cat = load_example_catalog("none")
    assert fmt.flux_from_mag(fmt.ZERO_POINT) == pytest.approx(1.0)
    assert fmt.mag_from_flux(fmt.flux_from_mag(21.3)) == pytest.approx(21.3)
    # GalSim's parametric fluxes (counts/s) agree with mag_auto through zero point 25.94
    # to within the fits' typical magnitude differences.
    dmag = fmt.mag_from_flux(np.asarray(cat["sersic_flux"])) - np.asarray(cat["mag_auto"])
    assert abs(np.median(dmag)) < 0.1


def test_sersic_from_parametric():
    import galsim

    gal = fmt.sersic_from_parametric([12.0, 0.4, 1.7, 0.6, 0.3])
    assert gal.flux == pytest.approx(12.0)
    image = gal.drawImage(nx=128, ny=128, scale=0.03)
    moments = image.FindAdaptiveMom()
    # Axis ratio ~0.6 and position angle 0.3 rad survive.
    assert moments.observed_shape.beta.rad == pytest.approx(0.3, abs=0.02)
    assert moments.observed_shape.q == pytest.approx(0.6, abs=0.03)
    round_gal = fmt.sersic_from_parametric([1.0, 0.2, 4.0, 1.0, 0.0])
    assert isinstance(round_gal, galsim.Sersic)
    assert round_gal.half_light_radius == pytest.approx(0.2)
    assert round_gal.n == pytest.approx(4.0)
    with pytest.raises(ValueError, match="5 values"):
        fmt.sersic_from_parametric([1.0, 0.2, 4.0])
    with pytest.raises(ValueError, match="non-finite"):
        fmt.sersic_from_parametric([1.0, np.nan, 4.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="axis ratio"):
        fmt.sersic_from_parametric([1.0, 0.2, 4.0, 1.5, 0.0])


def test_parametric_rows_draw(mock_dataset_path):
    with h5py.File(mock_dataset_path, "r") as f:
        rows = f["parametric"][...]
        mag = f["conditions/mag_auto"][...]
    np.testing.assert_allclose(rows[:, 0], fmt.flux_from_mag(mag), rtol=1e-5)
    assert np.all((rows[:, 2] >= 0.3) & (rows[:, 2] <= 6.2))
    assert np.all((rows[:, 3] > 0) & (rows[:, 3] <= 1))
    for row in rows[:3]:
        assert fmt.sersic_from_parametric(row).flux == pytest.approx(row[0], rel=1e-5)


def test_correlated_noise_power_matches_realisations():
    from galsim_deep.data.noise import cosmos_noise, draw_noise, noise_power

    cn = cosmos_noise()
    s = 32
    expected = noise_power(cn, s, 0.03)
    measured = np.mean([np.abs(np.fft.rfft2(draw_noise(cn, s, 0.03, seed))) ** 2 / s ** 2
                        for seed in range(1, 301)], axis=0)
    # Averaged over frequency bands the measured power is the stored one (300 draws).
    ratio = measured.reshape(8, 4, 17).mean(axis=1) / expected.reshape(8, 4, 17).mean(axis=1)
    assert np.all(np.abs(ratio - 1) < 0.15)
    assert draw_noise(cn, s, 0.03, 7).var() == pytest.approx(1.0, rel=0.35)
    np.testing.assert_array_equal(draw_noise(cn, s, 0.03, 7), draw_noise(cn, s, 0.03, 7))
    with pytest.raises(ValueError, match="positive"):
        draw_noise(cn, s, 0.03, 0)
