"""Shear response: m and c of galaxies whose answer is known."""
import pickle

import galsim
import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.tools.validation.measures.shear import compute as sh
from galsim_deep.tools.validation.measures.shear.markdown import markdown_shear

S, SCALE = 32, 0.03


def _gaussians(n, seed=1):
    rng = np.random.default_rng(seed)
    return [galsim.Gaussian(sigma=rng.uniform(0.06, 0.12)).shear(
        e=rng.uniform(0.0, 0.6), beta=rng.uniform(0, np.pi) * galsim.radians) for _ in range(n)]


@pytest.fixture(scope="module")
def gaussian_measurements():
    return sh.shear_measurements(_gaussians(40), S, SCALE)


def test_gaussians_have_no_shear_bias(gaussian_measurements):
    """REGAUSS is exact for Gaussian galaxies and PSF: m = 0, c = 0 (the PSF is anisotropic)."""
    r = sh.shear_bias(gaussian_measurements)
    assert r["n"] == 40 and r["failed"] == 0.0
    assert abs(r["m"]) < 1e-3 and r["m_error"] < 1e-3
    assert abs(r["c1"]) < 2e-5 and abs(r["c2"]) < 2e-5
    assert 0.85 < r["R"] < 1.0


def test_shear_bias_recovers_a_known_calibration_error(gaussian_measurements):
    e = gaussian_measurements
    # Told that the applied shear was 5% larger than it was: m = 1/1.05 - 1.
    r = sh.shear_bias(e, shear=sh.SHEAR * 1.05)
    assert r["m"] == pytest.approx(1 / 1.05 - 1, abs=1.5e-3)
    # An additive distortion of 0.004 on component 1 of every sheared galaxy: c1 = 0.002 / R.
    shifted = e.copy()
    shifted[:, :, 1:, 0] += 0.004
    r0, r1 = sh.shear_bias(e), sh.shear_bias(shifted)
    assert r1["c1"] - r0["c1"] == pytest.approx(0.002 / r0["R"], rel=0.02)
    assert r1["c2"] == pytest.approx(r0["c2"], abs=1e-9)


def test_non_gaussian_profiles_are_biased_and_failures_are_left_out():
    rng = np.random.default_rng(2)
    devs = [galsim.DeVaucouleurs(half_light_radius=rng.uniform(0.15, 0.3)).shear(
        e=rng.uniform(0, 0.5), beta=rng.uniform(0, np.pi) * galsim.radians) for _ in range(12)]
    e = sh.shear_measurements(devs + [None], S, SCALE)
    r = sh.shear_bias(e, n_boot=100)
    assert r["n"] == 12 and r["failed"] == pytest.approx(1 / 13)
    assert abs(r["m"]) > 3 * r["m_error"]  # REGAUSS's model bias on de Vaucouleurs profiles
    with pytest.raises(ValueError, match="rotations"):
        sh.shear_bias(np.zeros((3, 2, 4, 2)))


def test_markdown():
    r = sh.shear_bias(sh.shear_measurements(_gaussians(5), S, SCALE), n_boot=50)
    text = "\n".join(markdown_shear({"shear": 0.02, "psf_fwhm": 0.1, "psf_shear": [0.03, 0.03],
                                        "n": 5, "samples": {"generated": r, "real": r},
                                        "generated_minus_real": {"m": 0.0, "m_error": 0.001}}))
    assert "| generated | 5 |" in text and "REGAUSS" in text


def _old_measure(profiles, stamp, scale, fwhm=0.1):
    """The measure as it was before survey PSFs (a Gaussian at the galaxies' pixels), verbatim."""
    psf = galsim.Gaussian(fwhm=fwhm).shear(g1=sh.PSF_SHEAR[0], g2=sh.PSF_SHEAR[1])
    psf_image = psf.drawImage(nx=stamp, ny=stamp, scale=scale, method="no_pixel")
    out = np.full((len(profiles), len(sh.ROTATIONS), 5, 2), np.nan)
    for i, prof in enumerate(profiles):
        for r, angle in enumerate(sh.ROTATIONS):
            rotated = prof.rotate(angle * galsim.degrees) if angle else prof
            for k, (s1, s2) in enumerate(((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))):
                if k == 0 and r > 0:
                    continue
                gal = rotated.shear(g1=s1 * sh.SHEAR, g2=s2 * sh.SHEAR) if (s1 or s2) else rotated
                image = galsim.Convolve(gal, psf).drawImage(nx=stamp, ny=stamp, scale=scale,
                                                            method="no_pixel")
                res = galsim.hsm.EstimateShear(image, psf_image, shear_est="REGAUSS", strict=False)
                out[i, r, k] = res.corrected_e1, res.corrected_e2
    return out


def test_default_psf_is_the_old_measure_bit_for_bit():
    yy, xx = np.mgrid[-16:16, -16:16] + 0.3
    pixels = np.exp(-(np.hypot(xx, 1.4 * yy) / 3.0) ** 0.7)
    profiles = [galsim.Gaussian(sigma=0.1).shear(e1=0.2, e2=-0.1),
                galsim.DeVaucouleurs(half_light_radius=0.2).shear(e1=-0.1, e2=0.3),
                galsim.InterpolatedImage(galsim.Image(pixels, scale=SCALE))]
    old = _old_measure(profiles, S, SCALE)
    assert np.isfinite(old[:, 0, 0]).all()
    for kwargs in ({}, {"psf": "gaussian-0.1"}, {"psf": sh.SHEAR_PSFS["gaussian-0.1"]},
                   {"psf_fwhm": 0.1}):
        assert np.array_equal(sh.shear_measurements(profiles, S, SCALE, **kwargs), old,
                              equal_nan=True), kwargs
    # psf_fwhm alone is still a Gaussian of that FWHM at the galaxies' pixels.
    assert np.array_equal(sh.shear_measurements(profiles[:1], S, SCALE, 0.15),
                          _old_measure(profiles[:1], S, SCALE, 0.15), equal_nan=True)


def test_survey_views_and_their_stamps():
    """Stamp rule: the galaxies' field of view + 4 FWHM, in the view's pixels, even."""
    psfs = sh.SHEAR_PSFS
    assert psfs["gaussian-0.1"].view(64, 0.06) == (64, 0.06)
    # Airy (725 nm, 1.2 m, obscuration 0.3) and Gaussian 0.088": FWHM 0.145" (0.16" with
    # its 0.1" pixel)
    assert psfs["euclid-vis"].fwhm == pytest.approx(0.145, abs=0.002)
    assert psfs["euclid-vis"].view(64, 0.06) == (46, 0.1)   # (3.84 + 0.58) / 0.1 = 44.2
    assert psfs["lsst-10yr-i"].view(64, 0.06) == (34, 0.2)  # (3.84 + 2.84) / 0.2 = 33.4
    assert psfs["lsst-10yr-i"].fwhm == pytest.approx(0.71)
    assert sh.ShearPSF("x", {"type": "Gaussian", "fwhm": 0.3}, 0.2, 20).view(64, 0.06) == \
        (20, 0.2)
    assert pickle.loads(pickle.dumps(psfs["lsst-10yr-i"])) == psfs["lsst-10yr-i"]


def test_every_survey_view_with_its_own_psf_is_a_shear_view_of_the_same_psf():
    """One definition of each survey: the shear views are the survey views' PSFs and pixels
    (no noise: the shear measure draws none), and the dataset's own views are not among
    them."""
    from galsim_deep.tools.validation.measures.survey_views.views import load_views

    views = load_views()
    own = {n for n, v in views.items() if "dataset" not in (v.pixel_scale, v.psf)}
    assert own and set(sh.SHEAR_PSFS) == own | {"gaussian-0.1"}
    for name in own:
        spec, view = sh.SHEAR_PSFS[name], views[name]
        assert spec.pixel_scale == view.pixel_scale
        # the shear view draws without the pixel; the survey view's profile has it
        with_pixel = galsim.Convolve(spec.profile((0.0, 0.0)), galsim.Pixel(view.pixel_scale))
        a = with_pixel.drawImage(nx=32, ny=32, scale=0.05, method="no_pixel").array
        b = view.psf_profile().drawImage(nx=32, ny=32, scale=0.05, method="no_pixel").array
        np.testing.assert_allclose(a, b, atol=1e-12)
    with pytest.raises(InputError, match="dataset's own PSFs"):
        sh.ShearPSF.from_view(views["hst-cosmos"])


def _resolved_gaussians(n, seed=3):
    # Resolved at 0.1"/pixel: REGAUSS's moments of a Gaussian sampled at a 0.16" PSF's
    # 1.6 pixels per FWHM are biased by aliasing for galaxies of a pixel or two.
    rng = np.random.default_rng(seed)
    return [galsim.Gaussian(sigma=rng.uniform(0.3, 0.5)).shear(
        e=rng.uniform(0.0, 0.4), beta=rng.uniform(0, np.pi) * galsim.radians) for _ in range(n)]


def test_gaussians_through_a_gaussian_psf_at_survey_pixels_have_no_shear_bias():
    """A Gaussian galaxy through a Gaussian PSF at 0.1"/pixel: REGAUSS exact again, m = c = 0."""
    psf = sh.ShearPSF("gaussian-0.16-at-0.1", {"type": "Gaussian", "fwhm": 0.16}, 0.1)
    r = sh.shear_response(_resolved_gaussians(20), 64, 0.06, psf=psf, n_boot=200)
    assert r["n"] == 20 and r["failed"] == 0.0
    assert abs(r["m"]) < 1e-3 and r["m_error"] < 1e-3
    assert abs(r["c1"]) < 5e-5 and abs(r["c2"]) < 5e-5
    assert 0.9 < r["R"] < 1.0


def test_gaussians_through_lsst_in_a_process_pool():
    """A Kolmogorov PSF: finite m and c; the worker builds the PSF from its (picklable) spec."""
    from concurrent.futures import ProcessPoolExecutor

    profiles = _resolved_gaussians(12)
    with ProcessPoolExecutor(1) as pool:
        e = sh.shear_measurements(profiles, 64, 0.06, psf="lsst-10yr-i", pool=pool,
                                  chunk_size=6)
    assert e.shape == (12, len(sh.ROTATIONS), 5, 2)
    r = sh.shear_bias(e, n_boot=100)
    assert r["n"] == 12 and r["failed"] == 0.0
    assert all(np.isfinite(r[k]) and np.isfinite(r[f"{k}_error"])
               for k in ("m", "m1", "m2", "c1", "c2"))
    assert abs(r["m"]) < 0.05 and abs(r["c1"]) < 1e-3


def test_bias_difference_of_a_sample_with_itself(gaussian_measurements):
    e = gaussian_measurements
    one, d = sh.shear_bias(e, n_boot=100), sh.shear_bias_difference(e, e, n_boot=100)
    assert d["n_a"] == d["n_b"] == 40
    for k in ("m1", "m2", "m", "c1", "c2"):
        value, error = d[f"d{k}"]
        assert value == 0.0
        # Same seed: the two bootstraps are the same, their quadrature sum sqrt(2) times one.
        assert error == pytest.approx(np.sqrt(2) * one[f"{k}_error"], rel=1e-12)
    assert d["a"] == one


def test_bias_difference_sees_a_sample_sheared_more(gaussian_measurements):
    """Galaxies sheared 5% more than the analysis assumes: m_a - m_b = +0.05, beyond 3 sigma."""
    sheared_more = sh.shear_measurements(_gaussians(30, seed=7), S, SCALE, shear=sh.SHEAR * 1.05)
    d = sh.shear_bias_difference(sheared_more, gaussian_measurements, n_boot=200)
    assert d["n_a"] == 30 and d["n_b"] == 40
    dm, err = d["dm"]
    assert dm == pytest.approx(0.05, abs=2e-3) and dm > 3 * err
    assert d["dm1"][0] > 0 and d["dm2"][0] > 0
    # An additive distortion of -0.004 on component 2 of sample b: c2 of a - b = +0.002 / R.
    shifted = gaussian_measurements.copy()
    shifted[:, :, 1:, 1] -= 0.004
    dc2, err = sh.shear_bias_difference(gaussian_measurements, shifted, n_boot=200)["dc2"]
    assert dc2 > 3 * err and dc2 == pytest.approx(0.002 / d["b"]["R"], rel=0.02)


def test_unknown_psf_names_the_known_ones():
    with pytest.raises(InputError,
                       match="unknown shear PSF 'hst'.*euclid-vis.*gaussian-0.1.*lsst-10yr-i"):
        sh.shear_measurements(_gaussians(1), S, SCALE, psf="hst")
    with pytest.raises(InputError, match="not both"):
        sh.shear_response(_gaussians(1), S, SCALE, 0.1, psf="lsst-10yr-i")
    with pytest.raises(InputError, match="GalSim config dict"):
        sh.ShearPSF("x", "moffat", 0.5)


def test_the_measure_shears_the_galaxies_model_sample_gives(tmp_path, tiny_module_path,
                                                            mock_dataset_path):
    """The report's generated shear response is that of model.sample's profiles (the sampling
    engine's, rotated as users get them), not of profiles rebuilt from the stamps."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.tools.validation import pipeline
    from galsim_deep.tools.validation import samples as sp

    model = GenerativeGalaxyModel(tiny_module_path)
    report = pipeline.validate(model, mock_dataset_path, tmp_path / "r", n=4, split="all",
                               seed=3, processes=1, progress=False, measures="shear",
                               shear_n=3, reference_cache=False, twin=False)
    drawn = sp.draw_samples(mock_dataset_path, model, n=4, split="all", seed=3,
                            progress=False, twin=False)
    cat = {q: drawn.conditions[q] for q in model.quantities}
    expected = sh.shear_response(model.sample(cat, rng=sp.model_seed(3))[:3], model.stamp_size,
                                 model.pixel_scale, 0.1, seed=3)
    got = report["shear_response"]["samples"]["generated"]
    assert got["n"] == 3
    for key in ("m", "m1", "m2", "c1", "c2", "R", "m_error", "c1_error"):
        assert got[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-15), key


def test_a_distortion_of_one_or_more_is_a_failure(monkeypatch):
    """REGAUSS can return |e| = 11 with status 0 (its weight locked onto a core the PSF's
    size); no shape has |e| >= 1, so the measure counts it as failed, as a bad status."""
    class Result:
        correction_status = 0
        corrected_e1, corrected_e2 = 10.98, -2.32

    image = galsim.Gaussian(sigma=0.1).drawImage(nx=S, ny=S, scale=SCALE)
    monkeypatch.setattr(galsim.hsm, "EstimateShear", lambda *a, **k: Result())
    assert np.isnan(sh._regauss(image, image)).all()
    Result.corrected_e1, Result.corrected_e2 = 0.6, -0.7  # |e| = 0.92: a shape
    assert sh._regauss(image, image) == (0.6, -0.7)
    Result.correction_status = 1
    assert np.isnan(sh._regauss(image, image)).all()


def test_distortions_kept_from_before_the_rule_are_read_with_it(gaussian_measurements):
    """A kept measurement with |e| >= 1 (from before the rule) leaves its galaxy out of m,
    as a NaN does."""
    e = gaussian_measurements.copy()
    e[5, 0, 1] = (10.98, -2.32)
    a, b = sh.shear_bias(e), sh.shear_bias(np.delete(gaussian_measurements, 5, axis=0))
    assert a["n"] == 39 and a["failed"] == pytest.approx(1 / 40)
    assert a["m"] == b["m"] and a["R"] == b["R"]
    assert np.isnan(sh.valid_distortions([[1.0, 0.0], [0.6, 0.79]])).tolist() == [
        [True, True], [False, False]]
