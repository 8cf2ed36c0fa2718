"""AnaCal shear bias on analytic galaxies whose shear is known (AnaCal installed only)."""
import galsim
import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.tools.validation.measures.shear.compute import shear_psf

pytest.importorskip("anacal")

from galsim_deep.tools.validation.measures.anacal import compute as ac  # noqa: E402

N = 96


def _exponentials(mags, seed=2):
    """Exponential galaxies of the given magnitudes (flux in units of AnaCal's zero point)."""
    rng = np.random.default_rng(seed)
    return [galsim.Exponential(half_light_radius=rng.uniform(0.25, 0.5),
                               flux=10 ** (-0.4 * (m - ac.MAG_ZERO))).shear(
        g=rng.uniform(0.0, 0.4), beta=rng.uniform(0, np.pi) * galsim.radians) for m in mags]


@pytest.fixture(scope="module")
def magnitudes():
    return np.random.default_rng(1).uniform(21.0, 23.5, N)


@pytest.fixture(scope="module")
def measured(magnitudes):
    """Both layouts, the truth twice (``same``: the paired difference with itself)."""
    galaxies = _exponentials(magnitudes)
    return ac.anacal_shear({"real": galaxies, "same": list(galaxies)}, magnitudes,
                           zero_point=ac.MAG_ZERO, n_noise=2, n_boot=200, seed=3,
                           mag_edges="22.0,22.8")


def test_on_pixel_centres_the_shear_is_recovered_to_within_its_error(magnitudes):
    """Isolated galaxies on pixel centres: AnaCal's selection weight does not move with the
    shear, so the estimator is precise, and recovers g = +-0.02 within its error, noiseless
    (m, c vanish) and at the LSST depth."""
    psf = shear_psf("lsst-10yr-i").profile()
    galaxies = {"real": _exponentials(magnitudes[:64])}
    for depth in (40.0, ac.DEFAULT_DEPTH):
        sigma = ac.noise_sigma(ac.psf_image(psf, 0.2), depth)
        sums, info = ac.anacal_sums(galaxies, magnitudes[:64], "isolated", psf, 0.2, sigma,
                                    n_noise=1, jitter=False)
        r = ac.anacal_bias(sums["real"], n_boot=200)["all"]
        assert info["n_units"] == 64 and r["detected"] >= 4 * 64
        assert r["g_plus_error"] < 2e-3 and r["m_error"] < 0.03
        assert abs(r["g_plus"] - ac.SHEAR) < 3 * r["g_plus_error"] + 2e-5
        assert abs(r["g_minus"] + ac.SHEAR) < 3 * r["g_minus_error"] + 2e-5
        assert abs(r["m"]) < 3 * r["m_error"] + 1e-3
        if depth == 40.0:  # no noise: exact but for the estimator's own small bias
            assert abs(r["m"]) < 1e-3 and abs(r["c1"]) < 1e-5 and abs(r["c2"]) < 1e-5
            assert r["r_sel"] == 0.0


def test_at_random_sub_pixel_offsets_the_responses_are_taken_about_each_galaxy(magnitudes):
    """Noiseless isolated galaxies at random sub-pixel offsets: AnaCal's derivatives are
    for a shear about the detection's pixel, the field's about each galaxy's centre.  Moved
    to the centre (``detection_terms(catalog, centres)``) they recover the shear galaxy by
    galaxy, so 64 galaxies give m to about 1e-3; AnaCal's own derivatives scatter by the
    selection step times the offset, tens of times more (their mean is still right)."""
    psf = shear_psf("lsst-10yr-i").profile()
    sigma = ac.noise_sigma(ac.psf_image(psf, 0.2), 40.0)
    galaxies = {"real": _exponentials(magnitudes[:64])}
    sums, _ = ac.anacal_sums(galaxies, magnitudes[:64], "isolated", psf, 0.2, sigma,
                             n_noise=1, jitter=True, seed=4)
    r = ac.anacal_bias(sums["real"], n_boot=200)["all"]
    assert r["m_error"] < 3e-3 and abs(r["m"]) < 3 * r["m_error"], (r["m"], r["m_error"])
    catalog = {k: np.array([v]) for k, v in {
        "wsel": 0.5, "fpfs_e1": 0.1, "fpfs_e2": -0.2, "fpfs_de1_dg1": 1.0,
        "fpfs_de2_dg2": 0.9, "dwsel_dg1": -3.0, "dwsel_dg2": 2.0, "x1_det": 1.0,
        "x2_det": 2.0, "fpfs_de1_dj1": 0.3, "fpfs_de1_dj2": -0.1, "fpfs_de2_dj1": 0.2,
        "fpfs_de2_dj2": 0.4, "dwsel_dj1": 5.0, "dwsel_dj2": -7.0}.items()}
    raw = ac.detection_terms(catalog)[0]
    moved = ac.detection_terms(catalog, np.array([[1.02, 1.97]]))[0]  # dx 0.02, dy -0.03
    dw1 = -3.0 - 5.0 * 0.02 + (-7.0) * (-0.03)
    de1 = 1.0 - 0.3 * 0.02 + (-0.1) * (-0.03)
    assert moved[2] == pytest.approx(dw1 * 0.1) and moved[1] == pytest.approx(de1 * 0.5 + dw1 * 0.1)
    dw2 = 2.0 - 5.0 * (-0.03) - (-7.0) * 0.02
    de2 = 0.9 - 0.2 * (-0.03) - 0.4 * 0.02
    assert moved[4] == pytest.approx(de2 * 0.5 + dw2 * (-0.2))
    assert np.array_equal(np.delete(moved, [1, 2, 4, 8]), np.delete(raw, [1, 2, 4, 8]))
    # w = 0.5 is on the selection step: its e1, r1 and count are the step's too
    assert np.array_equal(moved[7:], moved[[0, 1, 6]])
    catalog["wsel"] = np.array([1.0])
    assert np.array_equal(ac.detection_terms(catalog)[0, 7:], np.zeros(3))


@pytest.mark.slow
def test_m_of_the_truth_is_zero_within_its_error_in_both_layouts(measured):
    """Galaxies at random sub-pixel positions and in blends: the selection's response is
    large galaxy by galaxy, so a small run is imprecise, but consistent with m = 0."""
    assert measured["n_galaxies"] == N and measured["n_dropped"] == 0
    for name, config in measured["configurations"].items():
        r = config["samples"]["real"]["all"]
        assert r["m_error"] < 0.3, name
        assert abs(r["m"]) < 3 * r["m_error"], (name, r["m"], r["m_error"])
        assert abs(r["g_plus"] - ac.SHEAR) < 3 * r["g_plus_error"], name
        assert abs(r["c1"]) < 3 * r["c1_error"] + 1e-4, name
        assert r["r_sel"] is not None and r["response"] > 0
        assert sum(config["n_galaxies"]) == N and len(config["samples"]["real"]["bins"]) == 3
    assert measured["configurations"]["isolated"]["n_units"] == N
    blends = measured["configurations"]["blends"]
    assert blends["unit"] == "field" and blends["n_units"] == blends["n_fields"] >= 1


@pytest.mark.slow
def test_a_sample_against_itself_differs_by_exactly_zero(measured):
    for config in measured["configurations"].values():
        d = config["differences"]["same_minus_real"]
        for entry in [d["all"], *d["bins"]]:
            if entry["dm"] is not None:
                assert entry["dm"] == 0.0 and entry["dm_error"] == 0.0
                assert entry["dc1"] == 0.0 and entry["dr_sel"] == 0.0
        assert config["samples"]["same"] == config["samples"]["real"]


def test_noise_sigma_makes_the_stated_depth_and_the_density_the_science_book_counts():
    psf = ac.psf_image(shear_psf("lsst-10yr-i").profile(), 0.2)
    sigma = ac.noise_sigma(psf, 25.0)
    flux = 10 ** (-0.4 * (25.0 - ac.MAG_ZERO))
    # a point source at the depth, weighted by the PSF: S/N 5
    assert flux * np.sum(psf ** 2) / (sigma * np.sqrt(np.sum(psf ** 2))) == pytest.approx(5.0)
    assert ac.noise_sigma(psf, 26.0) == pytest.approx(sigma / 10 ** 0.4)
    assert ac.science_book_density(25.0) == pytest.approx(46.0)


@pytest.mark.parametrize("change, message", [
    ({"psf": "hst"}, "psf must be one of"),
    ({"flux": "mine"}, "flux must be"),
    ({"configurations": "isolated,crowded"}, "configurations must be among"),
    ({"configurations": ""}, "configurations must be among"),
    ({"mag_edges": "24,23"}, "increasing"),
    ({"mag_edges": "a,b"}, "comma-separated numbers"),
    ({"magnitudes": [22.0] * 3}, "one profile per magnitude"),
    ({"n": 1}, "at least 2 galaxies"),
    ({"shear": 0.5}, "shear must be in"),
    ({"n_noise": 0}, "n_noise must be"),
])
def test_bad_input_is_named(change, message):
    change = dict(change)
    n = change.pop("n", 4)
    mags = change.pop("magnitudes", [22.0] * n)
    with pytest.raises(InputError, match=message):
        ac.anacal_shear({"real": _exponentials([22.0] * n)}, mags, ac.MAG_ZERO, n_boot=10,
                        **{"configurations": "isolated", **change})


class _PicklingPool:
    """A stand-in for the report's worker pool: every task and function goes through pickle,
    as to a spawned worker, and runs here."""

    def map(self, fn, tasks):
        import pickle

        fn = pickle.loads(pickle.dumps(fn))
        return [pickle.loads(pickle.dumps(fn(pickle.loads(pickle.dumps(t))))) for t in tasks]


def test_fields_run_in_a_worker_pool_as_in_this_process(magnitudes):
    psf = shear_psf("lsst-10yr-i").profile()
    galaxies = {"real": _exponentials(magnitudes[:12])}
    sigma = ac.noise_sigma(ac.psf_image(psf, 0.2), ac.DEFAULT_DEPTH)
    here, info = ac.anacal_sums(galaxies, magnitudes[:12], "blends", psf, 0.2, sigma, n_noise=1,
                                density=4.0)
    pooled, _ = ac.anacal_sums(galaxies, magnitudes[:12], "blends", psf, 0.2, sigma, n_noise=1,
                               density=4.0, pool=_PicklingPool())
    assert info["n_fields"] == 3 and (here["real"] == pooled["real"]).all()
