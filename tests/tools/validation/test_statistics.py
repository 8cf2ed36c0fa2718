"""Summary numbers on synthetic arrays with known answers."""
import json

import numpy as np
import pytest

from galsim_deep.tools.validation import statistics as sm


def test_robust_scatter_of_a_gaussian_is_its_sigma():
    x = np.random.default_rng(0).normal(1.0, 0.3, 200000)
    x[:100] = 1e6  # outliers barely move it
    assert sm.robust_scatter(x) == pytest.approx(0.3, rel=0.01)
    assert np.isnan(sm.robust_scatter([1.0, np.nan]))


def test_mean_difference_paired_and_independent():
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, 4000)
    md = sm.mean_difference(x + 0.5, x, n_boot=300, seed=2)
    # Paired: a constant shift is known exactly and has no bootstrap error.
    assert md["difference"] == pytest.approx(0.5, abs=1e-12)
    assert md["error"] < 1e-10
    assert md["error_x"] == pytest.approx(1.0 / np.sqrt(4000), rel=0.15)
    y = rng.normal(0.0, 1.0, 4000)
    md = sm.mean_difference(x, y, n_boot=300, seed=2)
    assert md["error"] == pytest.approx(np.sqrt(2.0 / 4000), rel=0.15)
    assert abs(md["difference"]) < 4 * md["error"]
    # Relative difference, NaN ignored, reproducible with the seed.
    z = np.where(np.arange(4000) % 10 == 0, np.nan, 2.0)
    md = sm.mean_difference(1.1 * z, z, n_boot=50, seed=3)
    assert md["relative_difference"] == pytest.approx(0.1)
    assert md["n_x"] == md["n_y"] == 3600
    again = sm.mean_difference(x, y, n_boot=50, seed=4)
    assert sm.mean_difference(x, y, n_boot=50, seed=4) == again
    with pytest.raises(ValueError, match="same galaxies"):
        sm.mean_difference(x, y[:10])


def test_distances_known_values():
    x = np.random.default_rng(5).normal(0.0, 1.0, 3000)
    d = sm.distances(x, x.copy())
    assert d["wasserstein"] == 0.0 and d["ks_statistic"] == 0.0 and d["ks_pvalue"] == 1.0
    d = sm.distances(x + 0.25, x)
    assert d["wasserstein"] == pytest.approx(0.25, rel=1e-9)
    assert d["ks_pvalue"] < 1e-6
    d = sm.distances(np.array([np.nan, 1.0]), np.array([np.nan, np.nan]))
    assert d["wasserstein"] is None and d["n_x"] == 1 and d["n_y"] == 0


def test_binned_statistics_recovers_trend_and_scatter():
    rng = np.random.default_rng(6)
    c = rng.uniform(20.0, 25.0, 60000)
    r = 0.1 * (c - 22.5) + rng.normal(0.0, 0.2, c.size)
    b = sm.binned_statistics(c, r, n_bins=5)
    assert len(b["center"]) == 5 and sum(b["count"]) == c.size
    np.testing.assert_allclose(b["edges"], np.linspace(20, 25, 6), atol=0.05)
    np.testing.assert_allclose(b["median"], 0.1 * (np.array(b["center"]) - 22.5), atol=0.01)
    # Inside a bin of width 1, the trend adds 0.1 / sqrt(12) in quadrature.
    np.testing.assert_allclose(b["scatter"], np.hypot(0.2, 0.1 / np.sqrt(12)), rtol=0.05)
    small = sm.binned_statistics([1.0, 2.0, np.nan], [0.0, 1.0, 5.0], n_bins=6)
    assert len(small["count"]) == 1 and small["count"] == [2]


def test_size_and_magnitude_residuals():
    np.testing.assert_allclose(sm.size_residual([1.1, 2.0], [1.0, 2.5]), [0.1, -0.2])
    res = sm.magnitude_residual([10.0, 1.0, -1.0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(res[:2], [-2.5, 0.0])
    assert np.isnan(res[2])


def test_summarize_structure_and_values():
    rng = np.random.default_rng(7)
    n = 500
    real = {"sigma_arcsec": rng.uniform(0.1, 0.5, n), "flux": rng.uniform(1, 10, n),
            "gini": rng.normal(0.5, 0.05, n)}
    gen = {"sigma_arcsec": real["sigma_arcsec"] * 1.1, "flux": real["flux"] * 10 ** (-0.4 * 0.3),
           "gini": real["gini"].copy()}
    gen["gini"][:50] = np.nan
    par = {k: v.copy() for k, v in real.items()}
    cond = {"mag_auto": rng.uniform(20, 25, n)}
    s = sm.summarize({"real": real, "parametric": par, "generated": gen}, cond,
                     ["sigma_arcsec", "flux", "gini"], n_boot=100)
    json.dumps(s, allow_nan=False)  # JSON-clean
    assert s["n_galaxies"] == n and s["samples"] == ["real", "parametric", "generated"]
    md = s["mean_differences"]["generated"]["sigma_arcsec"]
    assert md["relative_difference"] == pytest.approx(0.1)
    assert s["distances"]["parametric"]["gini"]["wasserstein"] == 0.0
    size = s["residuals"]["generated"]["size"]
    assert size["median"] == pytest.approx(0.1) and size["scatter"] == pytest.approx(0, abs=1e-9)
    mag = s["residuals"]["generated"]["magnitude"]
    assert mag["median"] == pytest.approx(0.3)
    assert sum(mag["bins"]["mag_auto"]["count"]) == n
    assert s["failure_fractions"]["generated"]["gini"] == pytest.approx(0.1)
    assert s["failure_fractions"]["real"]["any"] == 0.0
    with pytest.raises(KeyError, match="reference"):
        sm.summarize({"a": real}, cond, ["gini"])
    with pytest.raises(ValueError, match="same galaxies"):
        sm.summarize({"real": real, "generated": {k: v[:10] for k, v in gen.items()}}, cond,
                     ["gini"])
