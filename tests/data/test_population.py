"""The mock populations: the original KDE unchanged, the COSMOS 25.2 population's marginals."""
import h5py
import numpy as np
import pytest

from galsim_deep.data import population as P
from galsim_deep.data.mock_cosmos import (MockCosmosSource, default_max_flux_radius,
                                              make_mock_galaxy, sample_conditions)
from galsim_deep.data.morphology import structure_strength

# sample_conditions(5, seed=5) of the original populations before 'cosmos-25.2' existed.
OLD_CONDITIONS = [[21.629334478236895, 14.648381111402182, 0.7374918611463605],
                  [20.278793062449, 7.8618793716202555, 0.3278055104505389],
                  [22.831985714429695, 14.793655904667565, 0.8765389754345086],
                  [22.123040929784697, 8.9155886327863, 0.9565405627188504],
                  [21.780264646607865, 12.043048817017846, 0.7396281414608893]]


@pytest.fixture(scope="module")
def pop():
    return P.get_population(population="cosmos-25.2")


@pytest.fixture(scope="module")
def faint_sample(pop):
    """Galaxies of the 25.2 population fainter than the real data, with their hlr."""
    rng = np.random.default_rng(7)
    mag, fr, z = pop.draw(rng, 30000)
    keep = mag > pop.mag_ref
    mag, fr, z = mag[keep][:8000], fr[keep][:8000], z[keep][:8000]
    hlr = np.array([pop.sample_structure(rng, m, f, zz)["hlr"] for m, f, zz in zip(mag, fr, z)])
    return mag, fr, z, hlr


def _bins(mag, lo, hi, width=0.5):
    edges = np.arange(lo, hi + 1e-9, width)
    return [(a, b, (mag >= a) & (mag < b)) for a, b in zip(edges[:-1], edges[1:])]


def _weighted_slope(x, y, sigma):
    w = 1.0 / np.asarray(sigma) ** 2
    x, y = np.asarray(x), np.asarray(y)
    xm = np.sum(w * x) / w.sum()
    sxx = np.sum(w * (x - xm) ** 2)
    slope = np.sum(w * (x - xm) * (y - np.sum(w * y) / w.sum())) / sxx
    return slope, 1.0 / np.sqrt(sxx)


def test_default_population_is_unchanged():
    t = sample_conditions(5, seed=5)
    np.testing.assert_allclose(np.stack([t[c] for c in t.colnames], 1), OLD_CONDITIONS,
                               rtol=1e-12)
    assert t.meta["population"] == "cosmos-example"
    assert P.get_population() is P.get_population(population="cosmos-example")
    assert P.get_population(deep=True).name == "great3-deep"
    src = MockCosmosSource(32, 0.03, 0)
    assert src.options() == {"psf": "hst", "noise": "cosmos", "deep": False,
                             "max_flux_radius": 8.0}
    assert MockCosmosSource(32, 0.03, 0, population="cosmos-25.2").options()["population"] == \
        "cosmos-25.2"


def test_constants_and_limits(pop):
    assert P.SIZE_SLOPE == pytest.approx(0.164, abs=0.001)
    assert P.Z_SLOPE == pytest.approx(0.16)
    assert 0.14 < P.GREAT3_DEEP_SIZE_SLOPE < 0.15
    # The real data's faint and bright ends, measured from the shipped catalog.
    assert pop.mag_ref == pytest.approx(22.49, abs=0.01)
    assert pop.mag_min == pytest.approx(16.92, abs=0.01)
    assert pop.mag_limit == 25.2
    mag, fr, z = pop.draw(np.random.default_rng(0), 5000)
    assert mag.min() >= pop.mag_min and mag.max() <= 25.2
    assert np.all(z >= 0)
    # A faint galaxy's flux_radius includes the PSF's.
    assert np.all(fr[mag > pop.mag_ref] >= P.PSF_FLUX_RADIUS - 1e-9)


def test_number_counts_sampler():
    c = P.NumberCounts(P.WEAVER22_I_COUNTS, 17.0, 25.2)
    u = np.linspace(0.0, 0.999, 50)
    np.testing.assert_allclose(c.cdf(c.ppf(u)), u, atol=1e-9)
    # A pure power law of slope 0.3: the inverse CDF is exact.
    pl = P.NumberCounts([(20.0, 0.0), (26.0, 1.8)], 21.0, 25.0)
    m = np.array([22.0, 24.0])
    expected = (10 ** (0.3 * (m - 21.0)) - 1) / (10 ** (0.3 * 4.0) - 1)
    np.testing.assert_allclose(pl.cdf(m), expected, rtol=1e-12)
    # Extrapolated below the table with the first bins' slope (0.44 dex/mag).
    assert c.log10_density(18.25) == pytest.approx(3.01 - 0.44, abs=1e-9)


def test_faint_number_counts_follow_the_published_counts(pop):
    """Counts per 0.5 mag from mag_ref to 25.2 agree with the COSMOS2020 table (chi^2), and
    so does the faint-end slope (same estimator on both), within the sampling error."""
    from galsim_deep.data.population_stats import _exp_slope_mle

    rng = np.random.default_rng(3)
    mag = pop.counts.ppf(rng.random(40000))
    faint = mag[mag > pop.mag_ref]
    edges = np.append(np.arange(pop.mag_ref, 25.2, 0.5), 25.2)
    observed = np.histogram(faint, edges)[0]
    p = np.diff(pop.counts.cdf(edges))
    expected = len(faint) * p / p.sum()
    chi2 = np.sum((observed - expected) ** 2 / expected)
    assert chi2 < 3 * len(observed)
    slope = _exp_slope_mle(faint, pop.mag_ref, 25.2)
    grid = np.linspace(pop.mag_ref, 25.2, 4001)
    published = _exp_slope_mle(grid, pop.mag_ref, 25.2,
                               weights=10 ** pop.counts.log10_density(grid))
    # Standard error of the MLE slope for n draws: about 1 / (ln10 sigma_m sqrt(n)).
    err = 1.0 / (np.log(10) * faint.std() * np.sqrt(len(faint)))
    assert abs(slope - published) < 4 * err
    assert 0.25 < published < 0.32  # COSMOS2020 flattens towards I = 25


def test_faint_sizes_follow_the_published_size_magnitude_slope(pop, faint_sample):
    mag, fr, z, hlr = faint_sample
    x, y, s = [], [], []
    for lo, hi, sel in _bins(mag, pop.mag_ref, 25.2 + 0.5):
        if sel.sum() > 100:
            h = hlr[sel]
            x.append(mag[sel].mean())
            y.append(np.log10(h.mean()))
            s.append(h.std() / h.mean() / np.sqrt(sel.sum()) / np.log(10))
    slope, err = _weighted_slope(x, y, s)
    assert -slope == pytest.approx(P.SIZE_SLOPE, abs=max(4 * err, 0.005))
    # Relative to its donor, every faint galaxy is scaled by k(m) exactly: hlr / k(m) does
    # not depend on m.
    ratio = hlr / pop.size_factor(mag)
    bright, faint = mag < 23.5, mag > 24.5
    assert ratio[bright].mean() == pytest.approx(ratio[faint].mean(), rel=0.05)


def test_faint_redshifts_follow_the_published_trend(pop, faint_sample):
    mag, fr, z, hlr = faint_sample
    x, y, s = [], [], []
    for lo, hi, sel in _bins(mag, pop.mag_ref, 25.2 + 0.5):
        if sel.sum() > 100:
            x.append(mag[sel].mean())
            y.append(np.median(z[sel]))
            s.append(1.2533 * z[sel].std() / np.sqrt(sel.sum()))
    slope, err = _weighted_slope(x, y, s)
    assert slope == pytest.approx(P.Z_SLOPE, abs=4 * err)
    # The median at 24.5 < I < 25 is within 0.1 of Ilbert et al. (2009).
    sel = (mag > 24.5) & (mag < 25.0)
    assert np.median(z[sel]) == pytest.approx(P.ILBERT09_MEDIAN_Z[1][2], abs=0.1)


def test_extrapolation_is_inverted_exactly(pop):
    mag = np.array([20.0, 22.49, 23.0, 24.0, 25.2])
    fr_d = np.array([12.0, 3.0, 8.0, 20.0, 5.0])
    z_d = np.array([0.3, 0.5, 0.7, 1.2, 0.1])
    fr, z = pop.extrapolate(mag, fr_d, z_d)
    assert fr[0] == 12.0 and z[0] == 0.3  # brighter than the real data: unchanged
    k = pop.size_factor(25.2)
    assert fr[-1] == pytest.approx(np.sqrt(k ** 2 * (25.0 - 2.3 ** 2) + 2.3 ** 2))
    assert z[-1] == pytest.approx(0.1 + 0.16 * (25.2 - pop.mag_ref))
    back = pop.donor_conditions(mag, fr, z)
    np.testing.assert_allclose(back[0], fr_d, rtol=1e-12)
    np.testing.assert_allclose(back[1], z_d, atol=1e-12)


def test_faint_galaxies_keep_their_donors_morphology_mix(pop):
    rng = np.random.default_rng(2)
    gal = make_mock_galaxy(24.8, 4.0, 1.1, rng, population="cosmos-25.2")
    donor = gal.params["class_conditions"]
    assert donor[0] == pop.mag_ref
    assert gal.params["strength"] == pytest.approx(structure_strength(donor[0], donor[1]))
    assert gal.params["hlr"] < 0.3
    bright = make_mock_galaxy(21.0, 12.0, 0.5, rng, population="cosmos-25.2")
    assert "class_conditions" not in bright.params


def test_acceptance_of_the_paper_geometry():
    """64 x 64 stamps at 0.06": at most 5% of the 25.2 population is lost."""
    src = MockCosmosSource(64, 0.06, 0, population="cosmos-25.2")
    assert src.max_flux_radius == pytest.approx(default_max_flux_radius(64, 0.06)) == 32.0
    selection = src.attrs()["selection"]
    assert selection["acceptance"] >= 0.95
    assert selection["mag_auto_max"] == 25.2 and selection["name"] == "cosmos-25.2"
    assert selection["pixel_binning"] == 2
    # The old geometry (64 x 64 at 0.03") would lose more than 5% of it.
    assert P.get_population(population="cosmos-25.2").acceptance(16.0) < 0.95


def test_bad_population_options():
    with pytest.raises(ValueError, match="unknown population 'cosmos-26'.*cosmos-25.2"):
        P.get_population(population="cosmos-26")
    with pytest.raises(ValueError, match="unknown population"):
        MockCosmosSource(32, 0.03, 0, population="deep")
    with pytest.raises(ValueError, match="drop deep"):
        MockCosmosSource(32, 0.03, 0, deep=True, population="cosmos-25.2")
    with pytest.raises(ValueError, match="unknown population"):
        sample_conditions(3, 0, population="faint")


def test_cli_population_figure_and_build_errors(tmp_path, capsys):
    from galsim_deep.cli import main

    png, numbers = tmp_path / "pop.png", tmp_path / "pop.json"
    assert main(["dataset", "population", "--population", "cosmos-25.2", "--n", "3000",
                 "--n-structure", "300", "--out", str(png), "--json", str(numbers)]) == 0
    printed = capsys.readouterr().out
    assert "acceptance" in printed and "faint end" in printed
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    m = __import__("json").loads(numbers.read_text())
    assert m["max_flux_radius"] == 32.0 and m["acceptance"] >= 0.95
    out = str(tmp_path / "x.h5")
    assert main(["dataset", "build", "--source", "mock-cosmos", "--n", "2", "--out", out,
                 "--pixel-scale", "0.05"]) == 1
    err = capsys.readouterr().err
    assert "whole multiple of 0.03" in err and "--psf optical" in err
    assert main(["dataset", "build", "--source", "mock-cosmos", "--n", "2", "--out", out,
                 "--deep", "--population", "cosmos-25.2"]) == 1
    assert "drop --deep" in capsys.readouterr().err
    assert main(["dataset", "build", "--source", "cosmos", "--n", "2", "--out", out,
                 "--population", "cosmos-25.2"]) == 1
    assert "--population" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["dataset", "build", "--source", "mock-cosmos", "--n", "2", "--out", out,
              "--population", "cosmos-26"])
    assert exit_.value.code == 2
    # The legacy --deep still builds the GREAT3 'deep' population, and says what it is.
    assert main(["dataset", "build", "--source", "mock-cosmos", "--n", "2", "--out", out,
                 "--stamp-size", "24", "--deep", "--processes", "1", "--quiet"]) == 0
    assert "--population great3-deep" in capsys.readouterr().err
    with h5py.File(out, "r") as f:
        assert __import__("json").loads(f.attrs["selection"])["name"] == "great3-deep"
