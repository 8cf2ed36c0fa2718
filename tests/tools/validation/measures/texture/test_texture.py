"""The texture measure: azimuthal power spectra of noiseless stamps."""
import json

import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.tools.validation.measures.texture.compute import (K_BANDS, azimuthal_power,
                                                                   band_power, texture_report)
from galsim_deep.tools.validation.measures.texture.markdown import markdown_texture
from galsim_deep.tools.validation.measures.texture.figures import plot_power_spectra

S = 32


def gaussian(sigma, size=S):
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    return np.exp(-(x * x + y * y) / (2 * sigma ** 2))


def test_a_gaussian_has_its_analytic_spectrum_at_unit_flux():
    sigma = 2.0
    image = 7.5 * gaussian(sigma)  # the flux is normalised away
    k, power = azimuthal_power(image[None])
    assert k[0] == 0 and k[-1] == 0.5 and len(k) == S // 2 + 1
    assert power[0, 0] == pytest.approx(1.0)
    # The continuous spectrum exp(-4 pi^2 k^2 sigma^2), averaged over the same annuli.
    f = np.fft.fftfreq(S)
    radius = np.hypot(f[:, None], f[None, :])
    analytic = np.exp(-4 * np.pi ** 2 * radius ** 2 * sigma ** 2)
    which = np.rint(radius * S).astype(int)
    expected = np.array([analytic[which == i].mean() for i in range(len(k))])
    good = expected > 1e-6
    assert good.sum() > 6
    assert np.allclose(power[0, good], expected[good], rtol=1e-3)


def test_grid_texture_shows_as_excess_power_at_high_frequency():
    rng = np.random.default_rng(0)
    truth = np.stack([gaussian(s) for s in rng.uniform(1.5, 1.6, 40)])
    blocky = truth * (1 + 0.3 * np.kron(rng.uniform(-1, 1, (40, S // 2, S // 2)),
                                         np.ones((1, 2, 2))))
    report = texture_report({"truth": truth, "generated": blocky, "same": truth.copy()})
    assert report["samples"]["truth"]["ratios"]["fine"] == {"ratio": 1.0, "error": 0.0}
    for band in K_BANDS:
        assert report["samples"]["same"]["ratios"][band]["ratio"] == pytest.approx(1.0)
    # 2x2-pixel blocks: excess power in both bands, most of it at the finest scales.
    fine, features = (report["samples"]["generated"]["ratios"][b] for b in ("fine", "features"))
    assert fine["ratio"] > 2 and 0 < fine["error"] < 0.5 * (fine["ratio"] - 1)
    assert 1 < features["ratio"] < fine["ratio"]
    json.dumps(report)  # a report section


def test_stamps_without_flux_are_left_out():
    images = np.stack([gaussian(2.0), np.zeros((S, S)), np.full((S, S), np.nan)])
    k, power = azimuthal_power(images)
    assert np.isfinite(power[0]).all() and np.isnan(power[1:]).all()
    assert np.isnan(band_power(k, power, 0.25, 0.51)[1:]).all()
    report = texture_report({"truth": images, "generated": images})
    assert report["samples"]["generated"]["n"] == 1


def test_bad_input_names_the_problem(tmp_path):
    with pytest.raises(InputError, match="square stamps"):
        azimuthal_power(np.zeros((2, 4, 5)))
    with pytest.raises(InputError, match="reference sample 'truth'"):
        texture_report({"generated": gaussian(2.0)[None]})


def test_figure_and_markdown(tmp_path):
    report = texture_report({"truth": gaussian(2.0)[None], "generated": gaussian(1.0)[None]})
    plot_power_spectra(report, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000
    text = markdown_texture(report)
    assert "| generated |" in text and "power_spectra.png" in text


def test_axis_power_ratio_finds_grid_aligned_texture_not_round_galaxies():
    """Elliptical galaxies at random angles have no preferred grid direction (population
    ratio near 1); the same galaxies times 8x8 blocks of random gains (a
    nearest-neighbour upsampling's texture: sharp horizontal and vertical edges) have
    most of their high-frequency power on the axes; a quarter turn changes nothing."""
    from galsim_deep.tools.validation.measures.texture.compute import (axis_power,
                                                                       axis_power_ratio)

    rng = np.random.default_rng(4)
    y, x = np.mgrid[:48, :48] - 23.5
    galaxies = []
    for angle in rng.uniform(0, np.pi, 400):
        u = np.cos(angle) * x + np.sin(angle) * y
        v = -np.sin(angle) * x + np.cos(angle) * y
        galaxies.append(np.exp(-np.hypot(u / 4.0, v / 2.0)))
    galaxies = np.array(galaxies)
    smooth = axis_power(galaxies)
    assert abs(axis_power_ratio(smooth) - 1) < 0.15
    blocks = np.kron(rng.uniform(0.6, 1.4, (len(galaxies), 6, 6)), np.ones((1, 8, 8)))
    assert axis_power_ratio(axis_power(galaxies * blocks)) > 2
    np.testing.assert_allclose(axis_power(np.rot90(galaxies, axes=(1, 2))), smooth,
                               rtol=1e-9)
    assert np.isnan(axis_power(np.zeros((1, 48, 48)))).all()
