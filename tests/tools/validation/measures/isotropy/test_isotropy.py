"""Isotropy: mean ellipticities of populations whose answer is known."""
import galsim
import numpy as np
import pytest

from galsim_deep.engine import galaxy_draws, object_seeds
from galsim_deep.tools.validation.measures.isotropy import compute as iso
from galsim_deep.tools.validation.measures.isotropy.figures import plot_isotropy
from galsim_deep.tools.validation.measures.isotropy.markdown import markdown_isotropy

S, SCALE = 32, 0.03


def _population(n, seed=0):
    """Elliptical Gaussians, all with e1 = 0.3 (a preferred direction)."""
    rng = np.random.default_rng(seed)
    sigmas = rng.uniform(0.06, 0.12, n)
    return [galsim.Gaussian(sigma=s).shear(e1=0.3, e2=0.0) for s in sigmas]


def test_rotated_copies_are_isotropic_and_the_originals_are_not():
    gals = _population(300)
    angles = galaxy_draws(object_seeds(11, len(gals)), 1)[1]
    rotated = [g.rotate(t * galsim.radians) for g, t in zip(gals, angles)]
    conds = {"mag_auto": np.linspace(20, 24, len(gals))}
    rot = iso.isotropy_summary(iso.profile_shapes(rotated, S, SCALE), conds)
    raw = iso.isotropy_summary(iso.profile_shapes(gals, S, SCALE), conds)
    for comp in iso.COMPONENTS:
        v = rot["overall"][comp]
        assert abs(v["mean"]) <= 3 * v["error"], comp
    assert rot["passed"]
    # The unrotated population keeps its direction: e1 about 0.3, diluted a little by the PSF.
    assert raw["overall"]["e1"]["mean"] == pytest.approx(0.3 * 0.9, rel=0.1)
    assert not raw["passed"] and not raw["overall"]["e1"]["passed"]
    assert raw["overall"]["e2"]["passed"]
    assert set(rot["bins"]) == {"mag_auto"} and len(rot["bins"]["mag_auto"]["count"]) == 4


def test_a_sheared_isotropic_population_has_the_shear_as_mean():
    g1, g2 = 0.01, -0.02
    rng = np.random.default_rng(3)
    gals = [galsim.Gaussian(sigma=s).shear(g1=g1, g2=g2) for s in rng.uniform(0.08, 0.12, 100)]
    # A PSF 20 times smaller than the galaxies: the observed shear is the galaxies' own.
    shapes = iso.profile_shapes(gals, S, SCALE, psf_fwhm=0.01)
    summary = iso.isotropy_summary(shapes, {})
    assert summary["overall"]["g1"]["mean"] == pytest.approx(g1, rel=0.02)
    assert summary["overall"]["g2"]["mean"] == pytest.approx(g2, rel=0.02)
    assert not summary["overall"]["g2"]["passed"]
    # Round galaxies, no shear: passes (|mean| below 2e-3 whatever the error).
    round_ = iso.isotropy_summary(iso.profile_shapes(
        [galsim.Gaussian(sigma=0.1)] * 5, S, SCALE), {})
    assert round_["passed"] and abs(round_["overall"]["e1"]["mean"]) < 1e-6


def test_mean_with_error_verdict():
    x = np.random.default_rng(0).normal(0.01, 0.1, 10000)
    v = iso.mean_with_error(x)
    assert v["error"] == pytest.approx(0.001, rel=0.05)
    assert not v["passed"] and v["significance"] > 5  # 10 sigma from zero
    assert iso.mean_with_error(x - 0.01 + 0.0015)["passed"]  # below 2e-3: passes
    assert iso.mean_with_error([np.nan, 1.0])["passed"] is None


def test_shapes_in_worker_processes_match(tmp_path):
    from galsim_deep.core.parallel import worker_pool

    gals = _population(20, seed=4) + [None]
    here = iso.profile_shapes(gals, S, SCALE, chunk_size=4)
    with worker_pool(2) as pool:
        there = iso.profile_shapes(gals, S, SCALE, chunk_size=4, pool=pool)
    for k in iso.COMPONENTS:
        np.testing.assert_array_equal(here[k], there[k])
    assert np.isnan(here["e1"][-1])


def test_model_shapes_of_round_gaussians(gaussian_module_path):
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(gaussian_module_path)
    conds = {"mag_auto": np.full(40, 22.0), "flux_radius": np.full(40, 5.0),
             "zphot": np.full(40, 0.5)}
    shapes = iso.model_shapes(model, conds, seed=1)
    for key in ("rotated", "unrotated"):
        assert np.all(np.abs(shapes[key]["e1"]) < 2e-3)
        assert np.all(np.isfinite(shapes[key]["sigma"]))
    # A round galaxy does not change when rotated (the exact rotation of the pixel grid).
    np.testing.assert_allclose(shapes["rotated"]["sigma"], shapes["unrotated"]["sigma"],
                               rtol=2e-3)


def _drawn(profile, size=32, scale=SCALE):
    return profile.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array


def test_generated_galaxies_are_what_model_sample_gives(tiny_module_path):
    """The measure's galaxies come from the sampling engine: rotated, the profiles
    model.sample gives for the same seed, pixel for pixel when drawn; unrotated, those of
    rotate=False; whatever the batch and chunk sizes."""
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(tiny_module_path)
    n = 11
    conds = {"mag_auto": np.linspace(21, 24, n), "flux_radius": np.linspace(3, 8, n),
             "zphot": np.linspace(0.2, 1.5, n)}
    chunks = list(iso.model_galaxies(model, conds, seed=5, batch_size=4, chunk_size=3))
    assert [len(r) for r, _ in chunks] == [3, 1, 3, 1, 3]  # chunks within each batch
    rotated = [p for r, _ in chunks for p in r]
    unrotated = [p for _, u in chunks for p in u]
    rng = iso.isotropy_seed(5)
    for mine, theirs in ((rotated, model.sample(conds, rng=rng)),
                         (unrotated, model.sample(conds, rng=rng, rotate=False))):
        assert len(mine) == len(theirs) == n
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(_drawn(a), _drawn(b))
    # The same network draws, turned: the same flux, other pixels.
    for a, b in zip(rotated, unrotated):
        assert not np.array_equal(_drawn(a), _drawn(b))
        assert a.flux == pytest.approx(b.flux, rel=1e-3)
    again = [p for r, _ in iso.model_galaxies(model, conds, seed=5) for p in r]
    for a, b in zip(rotated, again):
        np.testing.assert_array_equal(_drawn(a), _drawn(b))
    assert iso.isotropy_seed(0) != iso.isotropy_seed(1) and iso.isotropy_seed(0) >= 1


def test_model_shapes_are_the_shapes_of_the_engine_galaxies(tiny_module_path):
    """model_shapes measures model_galaxies' profiles, here and in worker processes."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.core.parallel import worker_pool

    model = GenerativeGalaxyModel(tiny_module_path)
    n = 20
    conds = {"mag_auto": np.linspace(21, 24, n), "flux_radius": np.linspace(3, 8, n),
             "zphot": np.linspace(0.2, 1.5, n)}
    shapes = iso.model_shapes(model, conds, seed=2, batch_size=8)
    pairs = list(iso.model_galaxies(model, conds, seed=2))
    for k, key in enumerate(("rotated", "unrotated")):
        expected = iso.profile_shapes([p for pair in pairs for p in pair[k]], model.stamp_size,
                                      model.pixel_scale)
        for comp in iso.COMPONENTS + ("sigma",):
            np.testing.assert_array_equal(shapes[key][comp], expected[comp])
    with worker_pool(2) as pool:
        there = iso.model_shapes(model, conds, seed=2, batch_size=8, pool=pool)
    for key in ("rotated", "unrotated"):
        for comp in iso.COMPONENTS:
            np.testing.assert_array_equal(shapes[key][comp], there[key][comp])


def test_plot_and_markdown(tmp_path):
    gals = _population(40)
    summary = iso.isotropy_summary(iso.profile_shapes(gals, S, SCALE),
                                   {"mag_auto": np.arange(40.0)})
    section = {"psf_fwhm": 0.1, "threshold": iso.THRESHOLD, "n_model": 40,
               "conditions_from": "train", "reference_note": "test",
               "samples": {"generated (rotated)": summary, "real": summary}}
    path = plot_isotropy(section["samples"], tmp_path / "iso.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    text = "\n".join(markdown_isotropy(section))
    assert "| generated (rotated) | 40 |" in text and "**no**" in text
