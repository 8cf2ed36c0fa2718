"""The mock-COSMOS source: population, morphology, PSFs, and its datasets."""
import h5py
import numpy as np
import pytest

from galsim_deep.data import morphology
from galsim_deep.data.format import flux_from_mag
from galsim_deep.data.mock_cosmos import (default_max_flux_radius, galaxy_rng, make_galaxy,
                                              make_mock_galaxy, sample_conditions)
from galsim_deep.data.population import VARIABLES, CosmosPopulation, get_population


def test_sample_conditions_table_and_selection():
    t = sample_conditions(200, seed=5)
    assert t.colnames == ["mag_auto", "flux_radius", "zphot"]
    assert len(t) == 200
    assert str(t["mag_auto"].unit) == "mag" and str(t["flux_radius"].unit) == "pix"
    assert default_max_flux_radius(64, 0.03) == pytest.approx(16.0)
    assert np.all(t["flux_radius"] <= 16.0)
    assert np.all(t["flux_radius"] >= 1.0)
    assert np.all(t["mag_auto"] <= 23.5)
    assert np.all(t["zphot"] >= 0)
    again = sample_conditions(200, seed=5)
    np.testing.assert_array_equal(np.asarray(t["mag_auto"]), np.asarray(again["mag_auto"]))
    other = sample_conditions(200, seed=6)
    assert not np.array_equal(np.asarray(t["mag_auto"]), np.asarray(other["mag_auto"]))
    # Larger stamps accept larger galaxies.
    big = sample_conditions(200, seed=5, stamp_size=128)
    assert big["flux_radius"].max() > 16.0


def test_sample_conditions_are_the_builds_conditions(mock_dataset_path):
    with h5py.File(mock_dataset_path, "r") as f:
        seed, size = int(f.attrs["seed"]), int(f.attrs["stamp_size"])
        built = np.stack([f[f"conditions/{n}"][...] for n in ("mag_auto", "flux_radius",
                                                                "zphot")], axis=1)
    t = sample_conditions(len(built), seed, stamp_size=size)
    expected = np.stack([t["mag_auto"], t["flux_radius"], t["zphot"]], axis=1)
    np.testing.assert_allclose(built, expected, rtol=1e-6)


def test_population_reproduces_catalog_moments():
    pop = get_population()
    assert pop.n_galaxies == 96
    assert pop.data.shape == (96, len(VARIABLES))
    rng = np.random.default_rng(0)
    draws = np.array([pop._draw_one(rng) for _ in range(6000)])
    mag, log_fr, z = draws[:, 0], np.log10(draws[:, 1]), draws[:, 2]
    # Variance-corrected KDE: means and spreads of the catalog (z reflected at 0).
    assert mag.mean() == pytest.approx(pop.mean[0], abs=0.05)
    assert mag.std() == pytest.approx(np.sqrt(pop.cov[0, 0]), rel=0.06)
    assert log_fr.mean() == pytest.approx(pop.mean[1], abs=0.01)
    assert log_fr.std() == pytest.approx(np.sqrt(pop.cov[1, 1]), rel=0.06)
    assert z.mean() == pytest.approx(pop.mean[2], abs=0.05)
    # The size-magnitude relation: brighter galaxies are larger.
    corr = np.corrcoef(mag, log_fr)[0, 1]
    cat_corr = pop.cov[0, 1] / np.sqrt(pop.cov[0, 0] * pop.cov[1, 1])
    assert corr < -0.3 and corr == pytest.approx(cat_corr, abs=0.08)


def test_structure_follows_conditions():
    pop = get_population()
    rng = np.random.default_rng(1)
    small = [pop.sample_structure(rng, 22.0, 5.0, 0.5)["hlr"] for _ in range(300)]
    large = [pop.sample_structure(rng, 22.0, 25.0, 0.5)["hlr"] for _ in range(300)]
    # The Sersic half-light radius tracks flux_radius (0.03" pixels) as in the catalog.
    assert np.median(small) == pytest.approx(5.0 * 0.03, rel=0.35)
    assert np.median(large) == pytest.approx(25.0 * 0.03, rel=0.35)
    s = pop.sample_structure(rng, 21.0, 10.0, 0.4)
    assert 0 <= s["bulge_to_total"] <= 1 and 0.05 <= s["q"] <= 1 and 0.3 <= s["sersic_n"] <= 6.2
    with pytest.raises(ValueError, match="finite"):
        pop.sample_structure(rng, np.nan, 10.0, 0.4)
    with pytest.raises(ValueError, match="flux_radius"):
        pop.sample_structure(rng, 21.0, -1.0, 0.4)


def test_deep_population_is_fainter_and_smaller():
    deep = CosmosPopulation(deep=True)
    base = get_population()
    assert deep.mean[0] == pytest.approx(base.mean[0] + 1.5)
    assert deep.mean[1] == pytest.approx(base.mean[1] + np.log10(0.6))
    assert deep.mag_limit == 25.0


def test_make_galaxy_flux_label_and_determinism():
    import galsim

    prof, label = make_galaxy(21.5, 12.0, 0.6, np.random.default_rng(3))
    assert isinstance(prof, galsim.GSObject)
    assert prof.flux == pytest.approx(flux_from_mag(21.5), rel=1e-9)
    assert 0 <= label < len(morphology.CLASS_NAMES)
    again, label2 = make_galaxy(21.5, 12.0, 0.6, np.random.default_rng(3))
    a = prof.drawImage(nx=48, ny=48, scale=0.03, method="no_pixel").array
    b = again.drawImage(nx=48, ny=48, scale=0.03, method="no_pixel").array
    np.testing.assert_array_equal(a, b)
    assert label == label2
    # Also accepts a GalSim deviate or an int seed.
    make_galaxy(21.5, 12.0, 0.6, galsim.BaseDeviate(5))
    make_galaxy(21.5, 12.0, 0.6, 7)
    with pytest.raises(TypeError, match="rng"):
        make_galaxy(21.5, 12.0, 0.6, "seed")
    with pytest.raises(ValueError, match="finite"):
        make_galaxy(np.inf, 12.0, 0.6, 1)


def test_classes_are_all_drawn_and_depend_on_conditions():
    labels = {"faint_small": [], "bright_large": []}
    for i in range(250):
        rng = np.random.default_rng(i)
        labels["faint_small"].append(make_mock_galaxy(23.2, 4.0, 0.5, rng).label)
        labels["bright_large"].append(make_mock_galaxy(19.8, 30.0, 0.5, rng).label)
    counts = {k: np.bincount(v, minlength=6) for k, v in labels.items()}
    assert np.all(counts["faint_small"] + counts["bright_large"] > 0)  # all six classes occur
    structured = [2, 3, 4, 5]
    # Brighter, larger galaxies are more often structured (clumpy, spiral, disturbed, pair).
    assert counts["bright_large"][structured].sum() > 1.5 * counts["faint_small"][structured].sum()


def test_class_probabilities():
    p_low = morphology.class_probabilities(0.1, 0.0, 0.5)
    p_high = morphology.class_probabilities(0.1, 1.0, 0.5)
    np.testing.assert_allclose([p_low.sum(), p_high.sum()], 1.0)
    assert p_high[2:].sum() > p_low[2:].sum()
    assert morphology.class_probabilities(0.9, 0.5, 0.5)[0] > 0.5
    # Clumpy more likely at high redshift, spiral at low redshift.
    hz, lz = (morphology.class_probabilities(0.1, 0.8, z) for z in (1.5, 0.2))
    assert hz[2] > lz[2] and hz[3] < lz[3]
    assert morphology.structure_strength(19.5, 40.0) == pytest.approx(1.0)
    assert morphology.structure_strength(23.5, 4.0) == pytest.approx(0.0)


def test_bulge_disk_radius_and_equivalent_sersic_index():
    assert morphology.bulge_disk_half_light_radius(0.0, 0.5) == pytest.approx(1.0, rel=1e-6)
    assert morphology.bulge_disk_half_light_radius(1.0, 0.5) == pytest.approx(0.5, rel=1e-6)
    assert morphology.sersic_n_equivalent(0.0, 0.5) == pytest.approx(1.0, abs=0.05)
    assert morphology.sersic_n_equivalent(1.0, 0.5) == pytest.approx(4.0, abs=0.1)
    n_mid = morphology.sersic_n_equivalent(0.4, 0.4)
    assert 1.0 < n_mid < 4.0


def test_smooth_component_half_light_radius():
    import galsim

    gal = make_mock_galaxy(21.0, 12.0, 0.5, np.random.default_rng(11))
    p = gal.params
    # The circular bulge + disk with these radii has the drawn half-light radius.
    r = p["r_disk"] * morphology.bulge_disk_half_light_radius(p["bulge_to_total"],
                                                             p["r_bulge"] / p["r_disk"])
    assert r == pytest.approx(p["hlr"], rel=1e-6)
    smooth = (galsim.DeVaucouleurs(half_light_radius=p["r_bulge"], flux=p["bulge_to_total"])
              + galsim.Exponential(half_light_radius=p["r_disk"], flux=1 - p["bulge_to_total"]))
    assert smooth.calculateHLR(scale=0.01, size=1000) == pytest.approx(p["hlr"], rel=0.03)
    assert gal.parametric[1] == pytest.approx(p["hlr"])


def test_psf_sets():
    from galsim_deep.data.psf import HSTPSFSet, OpticalPSFSet, make_psf_set

    hst = HSTPSFSet(32, 0.03)
    assert len(hst) == 100
    image = hst.image(7)
    assert image.shape == (32, 32) and image.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="optical"):
        HSTPSFSet(32, 0.05)
    optical = OpticalPSFSet(24, 0.05, seed=2, n=4)
    im = optical.image(1)
    y, x = np.mgrid[:24, :24]
    assert im.sum() == pytest.approx(1.0)
    assert abs((im * y).sum() - 12) < 0.2 and abs((im * x).sum() - 12) < 0.2
    np.testing.assert_array_equal(optical.aberrations(1), OpticalPSFSet(24, 0.05, 2).aberrations(1))
    assert not np.array_equal(optical.aberrations(1), optical.aberrations(2))
    with pytest.raises(ValueError, match="unknown PSF model"):
        make_psf_set("airy", 32, 0.03, 0)


def test_mock_build_optical_psf_white_noise(tmp_path):
    from galsim_deep.data.build import build_dataset
    from galsim_deep.data.reader import StampDataset

    out = build_dataset("mock-cosmos", 4, tmp_path / "opt.h5", stamp_size=24, pixel_scale=0.06,
                        seed=2, processes=1, progress=False, psf="optical", noise="white")
    with StampDataset(out) as ds:
        assert ds.pixel_scale == pytest.approx(0.06)
        a = ds.arrays("all")
        assert "optical" in ds.attrs["psf_description"].lower()
        assert ds.attrs["noise_description"] == "white Gaussian noise"
    np.testing.assert_allclose(a["noise_power"],
                               np.broadcast_to(a["noise_variance"][:, None, None], (4, 24, 13)),
                               rtol=1e-6)
    # Fewer pixels of 0.06": a stamp of 24 at 0.06 accepts flux_radius up to 12 px of 0.03".
    assert np.all(a["conditions"][:, 1] <= 12.0)


def test_mock_source_rejects_bad_options():
    from galsim_deep.data.mock_cosmos import MockCosmosSource

    with pytest.raises(ValueError, match="psf='optical'"):
        MockCosmosSource(32, 0.05, 0)
    with pytest.raises(ValueError, match="unknown psf"):
        MockCosmosSource(32, 0.03, 0, psf="airy")
    with pytest.raises(ValueError, match="unknown noise"):
        MockCosmosSource(32, 0.03, 0, noise="pink")
    with pytest.raises(ValueError, match="max_flux_radius"):
        MockCosmosSource(32, 0.03, 0, max_flux_radius=0.5)
    for bad in (-0.5, 7.0, float("nan"), "deep"):
        with pytest.raises(ValueError, match="extra_depth"):
            MockCosmosSource(32, 0.03, 0, extra_depth=bad)


def test_extra_depth_scales_only_the_noise():
    """The same galaxies and noise patterns, the noise 10**(-0.4 m) times smaller."""
    from galsim_deep.data.mock_cosmos import MockCosmosSource

    a, b, c = (MockCosmosSource(32, 0.06, 3, population="cosmos-25.2", extra_depth=m).make(5)
               for m in (0.0, 1.0, 2.0))
    r = 10 ** -0.4
    np.testing.assert_array_equal(a["truth"], b["truth"])
    np.testing.assert_array_equal(a["psf"], c["psf"])
    assert b["noise_variance"] == pytest.approx(a["noise_variance"] * r ** 2, rel=1e-12)
    np.testing.assert_allclose(b["noise_power"], a["noise_power"] * r ** 2, rtol=1e-6)
    # stamp = galaxy + sigma * noise: differences of depths are the noise alone, scaled.
    np.testing.assert_allclose(b["stamp"] - c["stamp"], r * (a["stamp"] - b["stamp"]),
                               atol=1e-9 * np.abs(a["stamp"]).max())
    assert np.abs(a["stamp"] - b["stamp"]).max() > 0
    src = MockCosmosSource(32, 0.06, 3, population="cosmos-25.2", extra_depth=1.0)
    assert src.options()["extra_depth"] == 1.0
    assert "1 mag deeper" in src.attrs()["noise_description"]
    assert "extra_depth" not in MockCosmosSource(32, 0.06, 3).options()  # old manifests resume


def test_a_deep_subset_makes_only_its_fraction_deeper():
    """deep_fraction: the chosen galaxies get the extra depth, the others are the plain
    build's, bit for bit; about that fraction is chosen; bad values are refused."""
    from galsim_deep.data.mock_cosmos import MockCosmosSource

    kw = dict(population="cosmos-25.2")
    plain = MockCosmosSource(32, 0.06, 3, **kw)
    deep = MockCosmosSource(32, 0.06, 3, extra_depth=2.0, **kw)
    subset = MockCosmosSource(32, 0.06, 3, extra_depth=2.0, deep_fraction=0.3, **kw)
    chosen = [subset.is_deep(i) for i in range(400)]
    assert abs(np.mean(chosen) - 0.3) < 5 * np.sqrt(0.3 * 0.7 / 400)
    picks = [i for i in range(12) if chosen[i]][:1] + [i for i in range(12) if not chosen[i]][:1]
    assert len(picks) == 2
    for i, reference in zip(picks, (deep, plain)):
        got, want = subset.make(i), reference.make(i)
        np.testing.assert_array_equal(got["stamp"], want["stamp"])
        assert got["noise_variance"] == want["noise_variance"]
    assert subset.options()["deep_fraction"] == 0.3 and "deep_fraction" not in deep.options()
    assert "a random 0.3 of the galaxies" in subset.attrs()["noise_description"]
    for bad in (0.0, 1.5, float("nan"), "half"):
        with pytest.raises(ValueError, match="deep_fraction"):
            MockCosmosSource(32, 0.06, 3, extra_depth=2.0, deep_fraction=bad)
    with pytest.raises(ValueError, match="set extra_depth"):
        MockCosmosSource(32, 0.06, 3, deep_fraction=0.5)


def test_galaxy_rng_depends_only_on_seed_and_index():
    a = galaxy_rng(3, 10).random(4)
    np.testing.assert_array_equal(a, galaxy_rng(3, 10).random(4))
    assert not np.array_equal(a, galaxy_rng(3, 11).random(4))
    assert not np.array_equal(a, galaxy_rng(4, 10).random(4))


def test_sample_shapes_gives_the_parametric_rows_shapes():
    """The catalog shapes a module's population of shapes is fitted to: each galaxy's
    single-Sersic q and beta, from its seed alone."""
    from galsim_deep.data.mock_galaxies import galaxy_rng, make_mock_galaxy, sample_shapes

    shapes = sample_shapes(12, seed=3)
    assert set(shapes) == {"mag_auto", "flux_radius", "zphot", "q", "beta"}
    assert np.all((shapes["q"] > 0) & (shapes["q"] <= 1))
    assert np.all((shapes["beta"] >= 0) & (shapes["beta"] < 180))
    again = sample_shapes(12, seed=3)
    assert all(np.array_equal(shapes[k], again[k]) for k in shapes)
    five = make_mock_galaxy(shapes["mag_auto"][5], shapes["flux_radius"][5],
                            shapes["zphot"][5], galaxy_rng(4, 5), population="cosmos-25.2")
    assert shapes["q"][5] == five.parametric[3]
