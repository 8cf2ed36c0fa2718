"""The colours measure: colours, colour gradients and per-band shapes of chromatic galaxies."""
import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.physics import bands as B
from galsim_deep.tools.validation.measures.colours.compute import (catalog_colours,
                                                                   centre_outskirts_colours,
                                                                   colour_section, colour_slope,
                                                                   colours, half_light_radii,
                                                                   held_out_section,
                                                                   matched_filter_fluxes,
                                                                   template_fluxes)


def _gaussians(sigmas, size=48, scale=0.05, fluxes=None):
    y, x = np.indices((size, size)) - (size - 1) / 2.0
    out = []
    for k, s in enumerate(sigmas):
        g = np.exp(-0.5 * (x ** 2 + y ** 2) * scale ** 2 / s ** 2)
        out.append(g / g.sum() * (1.0 if fluxes is None else fluxes[k]))
    return np.array(out)


def test_half_light_radius_of_gaussians_is_their_analytic_one():
    sigmas = np.array([0.1, 0.2, 0.3])
    radii = half_light_radii(_gaussians(sigmas), 0.05)
    np.testing.assert_allclose(radii, np.sqrt(2 * np.log(2)) * sigmas, rtol=0.015)
    assert np.isnan(half_light_radii(np.zeros((1, 8, 8)), 0.1)[0])


def test_colours_follow_the_zero_points_and_the_fluxes():
    images = np.stack([_gaussians([0.2, 0.2], fluxes=[1.0, 2.0]),
                       _gaussians([0.2, 0.2], fluxes=[10 ** -0.4, 1.0])], axis=0)  # [N=2, B=2]
    c = colours(images, 0, [25.94, 26.50])
    np.testing.assert_allclose(c[:, 0], 0.0)
    np.testing.assert_allclose(c[0, 1], 0.56 - 2.5 * np.log10(2.0), atol=1e-9)
    np.testing.assert_allclose(c[1, 1], 0.56 - 1.0, atol=1e-9)


def test_colour_section_of_a_perfect_model_and_of_a_gradient():
    rng = np.random.default_rng(0)
    n = 40
    ref = rng.uniform(0.1, 0.25, n)
    blue = ref * rng.uniform(1.05, 1.3, n)             # larger in the blue: a colour gradient
    truth = np.stack([np.array([_gaussians([a])[0], _gaussians([b], fluxes=[0.8])[0]])
                      for a, b in zip(ref, blue)])
    catalog = np.zeros((n, 2))
    catalog[:, 1] = colours(truth, 0, [25.94, 26.50])[:, 1] + rng.normal(0, 0.01, n)
    perfect = colour_section(truth, truth, catalog, catalog, ["F814W", "F606W"],
                             [25.94, 26.50], 0.05, n_boot=100)
    entry = perfect["per_band"]["F606W"]
    assert entry["colour"]["generated"]["median"] == pytest.approx(
        entry["colour"]["truth"]["median"])
    assert entry["colour"]["twin"]["median"] == 0.0
    # Galaxies more than 0.01 mag off the catalog: here, where the 0.01 mag noise put them.
    off = np.abs(colours(truth, 0, [25.94, 26.50])[:, 1] - catalog[:, 1]) > 0.01
    assert entry["colour"]["off_by_0.01"] == off.sum() and 0 < off.sum() < n
    assert entry["hlr_ratio"]["wasserstein_generated"] == 0.0
    assert entry["hlr_ratio"]["mean"]["difference"] == pytest.approx(0.0)
    # The perfect model's colour slope is the truth's (here every galaxy has the same
    # colour, the catalog's spread is its 0.01 mag noise: slope 0 for both).
    slope = entry["colour_slope"]["generated"]
    assert slope == entry["colour_slope"]["truth"]
    assert slope["slope"] == pytest.approx(0.0, abs=1e-6)
    # A single-SED Sérsic has ratio 1: its distance is the mean gradient.
    ratio = half_light_radii(truth, 0.05)
    np.testing.assert_allclose(entry["hlr_ratio"]["wasserstein_sersic"],
                               np.mean(np.abs(ratio[:, 1] / ratio[:, 0] - 1)), rtol=1e-6)
    assert entry["hlr_ratio"]["mean"]["mean_y"] > 1.05
    # A model that has no gradient misses the truth's by the same amount.
    flat = np.stack([np.array([_gaussians([a])[0], _gaussians([a], fluxes=[0.8])[0]])
                     for a in ref])
    none = colour_section(flat, truth, catalog, None, ["F814W", "F606W"], [25.94, 26.50],
                          0.05, n_boot=100)["per_band"]["F606W"]["hlr_ratio"]
    assert none["wasserstein_generated"] == pytest.approx(
        entry["hlr_ratio"]["wasserstein_sersic"], rel=0.02)
    assert none["mean"]["difference"] < -0.05
    # The perfect model is closer than the Sérsic by the Sérsic's whole distance, well beyond
    # its error; the flat model is no closer than the Sérsic (the same ratios, 1).
    margin = entry["hlr_ratio"]["margin"]
    assert margin["difference"] == pytest.approx(entry["hlr_ratio"]["wasserstein_sersic"])
    assert margin["difference"] > 5 * margin["error"] > 0
    assert abs(none["margin"]["difference"]) < 0.02 * margin["difference"] + 1e-3
    # Larger in the blue band: a bluer outskirts, a redder centre (F606W - F814W larger
    # inside); the flat model and a Sérsic have none.
    centre = entry["centre_outskirts"]
    assert centre["mean"]["mean_y"] > 0.1 and centre["wasserstein_generated"] == 0.0
    flat_centre = colour_section(flat, truth, catalog, None, ["F814W", "F606W"],
                                 [25.94, 26.50], 0.05, n_boot=100)["per_band"]["F606W"]
    np.testing.assert_allclose(flat_centre["centre_outskirts"]["mean"]["mean_x"], 0.0,
                               atol=1e-9)
    assert flat_centre["centre_outskirts"]["wasserstein_generated"] == pytest.approx(
        centre["wasserstein_sersic"])


def test_centre_outskirts_colour_of_a_red_core():
    core = _gaussians([0.1], fluxes=[1.0])[0]
    disk = _gaussians([0.4], fluxes=[1.0])[0]
    # F814W: core + disk; F606W: a fainter core (red) on the same disk.
    images = np.array([[core + disk, 0.5 * core + disk]])
    got = centre_outskirts_colours(images, np.array([3.0]), [25.0, 25.0])
    assert got[0, 0] == 0.0 and got[0, 1] > 0.3


def test_isotropy_per_band_of_rotated_galaxies():
    import galsim

    rng = np.random.default_rng(1)
    n = 60
    stamps = []
    for _ in range(n):
        gal = galsim.Gaussian(sigma=0.2).shear(g1=0.3, g2=0.0)
        rotated = gal.rotate(float(rng.uniform(0, 2 * np.pi)) * galsim.radians)
        image = rotated.drawImage(nx=32, ny=32, scale=0.05, method="no_pixel").array
        stamps.append([image, 0.5 * image])
    stamps = np.array(stamps)
    out = colour_section(stamps, stamps, np.zeros((n, 2)), None, ["F814W", "F606W"],
                         [25.94, 26.5], 0.05, n_boot=100, rotated=stamps)["isotropy"]
    for band in ("F814W", "F606W"):
        for g in ("g1", "g2"):
            entry = out[band][g]
            # |g| = 0.3 at random angles: the mean is 0 within a few errors of 0.3 / sqrt(2 n).
            assert abs(entry["mean_x"]) < 4 * entry["error_x"] and 0.01 < entry["error_x"] < 0.05


def test_template_fluxes_are_the_components_templates_at_their_redshift():
    flux = np.array([[2.0, 1.0, 0.0], [0.5, 0.0, 3.0]])
    sed = np.array([[0, 3, -1], [1, -1, 2]])
    z = np.array([0.4, 1.3])
    got = template_fluxes(flux, sed, z, ["F814W", "LSST_g"])
    np.testing.assert_allclose(got[:, 0], [3.0, 3.5], rtol=1e-6)        # F814W: the fluxes
    expected = [2.0 * B.flux_ratios("CWW_E_ext", 0.4, ["LSST_g"])[0]
                + 1.0 * B.flux_ratios("CWW_Im_ext", 0.4, ["LSST_g"])[0],
                0.5 * B.flux_ratios("CWW_Sbc_ext", 1.3, ["LSST_g"])[0]
                + 3.0 * B.flux_ratios("CWW_Scd_ext", 1.3, ["LSST_g"])[0]]
    # Each template integrated exactly at the galaxy's redshift, as the mock made them
    # (physics.bands.exact_band_fluxes), not the models' table interpolated in redshift.
    np.testing.assert_allclose(got[:, 1], expected, rtol=1e-14)
    with pytest.raises(InputError, match="unknown band 'LSST_w'; use one of F435W"):
        template_fluxes(flux, sed, z, ["F814W", "LSST_w"])
    with pytest.raises(InputError, match="Roman_K213 .* outside the SED templates"):
        template_fluxes(flux, sed, np.array([0.05, 1.3]), ["F814W", "Roman_K213"])


def test_held_out_section_of_a_perfect_and_a_biased_model():
    rng = np.random.default_rng(1)
    truth = rng.uniform(1.0, 3.0, (200, 3))
    zps = [25.94, 26.0, 27.0]
    redder = truth * np.array([1.0, 10 ** -0.04, 1.0])       # 0.1 mag redder in band 1
    out = held_out_section({"catalog": truth, "model": redder}, truth, truth[::-1],
                           ["LSST_g", "LSST_z"], zps, n_boot=50)
    g = out["per_band"]["LSST_g"]
    assert g["generated"]["catalog"]["median_abs"]["median"] == pytest.approx(0.0, abs=1e-12)
    assert g["generated"]["model"]["bias"]["difference"] == pytest.approx(0.1, abs=1e-9)
    assert out["per_band"]["LSST_z"]["generated"]["model"]["median_abs"]["median"] == \
        pytest.approx(0.0, abs=1e-12)
    assert g["twin"]["median_abs"]["median"] > 0.05
    assert held_out_section({"model": truth}, truth, None, ["LSST_g", "LSST_z"],
                            zps)["per_band"]["LSST_g"]["twin"] is None


def test_matched_filter_fluxes_of_noiseless_and_noisy_stamps():
    truth = _gaussians([0.1, 0.2, 0.15], fluxes=[2.0, 1.0, 0.5])[:, None]      # [3, 1, S, S]
    psf = _gaussians([0.08])[0]                                               # unit sum
    s = truth.shape[-1]
    observed = np.fft.irfft2(np.fft.rfft2(truth) * np.fft.rfft2(np.fft.ifftshift(psf)),
                             s=(s, s))
    # A noiseless stamp gives the true flux.
    got = matched_filter_fluxes(observed, truth, np.broadcast_to(psf, truth.shape))
    np.testing.assert_allclose(got[:, 0], [2.0, 1.0, 0.5], rtol=1e-6)
    # With noise: unbiased, with the scatter of sigma / sqrt(sum(P^2)), P the unit-flux template.
    rng = np.random.default_rng(4)
    sigma = 2e-3
    noisy = observed[:1] + rng.normal(0.0, sigma, (2000, 1, s, s))
    flux = matched_filter_fluxes(noisy, np.repeat(truth[:1], 2000, 0),
                                 np.broadcast_to(psf, noisy.shape))[:, 0]
    expected = sigma / np.sqrt(((observed[0, 0] / 2.0) ** 2).sum())
    assert flux.mean() == pytest.approx(2.0, abs=4 * expected / np.sqrt(2000))
    assert flux.std() == pytest.approx(expected, rel=0.08)


def test_colour_slope_tells_a_model_that_ignores_the_catalog_from_noise():
    rng = np.random.default_rng(2)
    catalog = rng.normal(0.8, 0.4, 4000)
    # Noisy colours that follow the catalog: slope 1 within its error, which is the
    # regression's sigma / (sd(x) sqrt(n)).
    noisy = catalog + rng.normal(0.0, 0.2, catalog.size)
    got = colour_slope(noisy, catalog, n_boot=200)
    assert got["slope"] == pytest.approx(1.0, abs=4 * got["error"])
    assert got["error"] == pytest.approx(0.2 / (0.4 * np.sqrt(catalog.size)), rel=0.2)
    # Colours pulled a quarter of the way from the mean: slope 0.25, though their median
    # |colour - catalog| (0.2) is no worse than the noisy ones' (0.13).
    shrunk = 0.8 + 0.25 * (catalog - 0.8) + rng.normal(0.0, 0.05, catalog.size)
    assert colour_slope(shrunk, catalog, n_boot=200)["slope"] == pytest.approx(0.25, abs=0.01)
    # NaN rows are dropped; no spread in the catalog colour gives no slope.
    noisy[:10] = np.nan
    assert colour_slope(noisy, catalog, n_boot=20)["n"] == catalog.size - 10
    assert colour_slope(catalog, np.ones_like(catalog))["slope"] is None


def test_catalog_colours_are_band_magnitudes_minus_mag_auto_by_column_name():
    names = ["mag_auto", "flux_radius", "zphot", "mag_f606w", "mag_lsst_g"]
    table = np.array([[22.0, 5.0, 0.5, 22.4, 23.1],
                      [24.5, 3.0, 1.2, 24.3, 25.0]], np.float32)
    got = catalog_colours(table, names, ["F814W", "F606W", "LSST_g"])
    assert got.dtype == np.float64 and got.shape == (2, 3)
    np.testing.assert_allclose(got, [[0.0, 0.4, 1.1], [0.0, -0.2, 0.5]], atol=1e-5)
    with pytest.raises(ValueError, match="mag_f435w"):  # a band without its column
        catalog_colours(table, names, ["F814W", "F435W"])
