"""The two-sample test's feature classifier on samples whose answer is known (no TensorFlow)."""
import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.tools.validation.measures.c2st import compute as two_sample, features as cf

S = 32
N = 200
FIT = (cf.fit_feature_classifier, cf.predict_feature_classes)


@pytest.fixture(autouse=True)
def one_thread():
    """scikit-learn's OpenMP threads on a busy machine are slower than one (same results)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _psfs(n, seed=0):
    """Round Gaussian PSFs of 1.2 to 2 pixels, unit sum."""
    width = np.random.default_rng([seed, 1]).uniform(1.2, 2.0, (n, 1, 1))
    y, x = np.mgrid[:S, :S] - S / 2
    psf = np.exp(-(x ** 2 + y ** 2) / (2 * width ** 2))
    return psf / psf.sum(axis=(1, 2), keepdims=True)


def _galaxies(n, profile, seed, noise_seed, q=1.0):
    """Noisy galaxies of random flux and half-light radius, unit noise: ``profile``
    ``'gauss'`` or ``'exp'`` (same half-light radius), axis ratio ``q``, random angle."""
    rng = np.random.default_rng([seed, 2])
    flux = rng.uniform(150, 400, (n, 1, 1))
    hlr = rng.uniform(2.0, 3.5, (n, 1, 1))
    angle = rng.uniform(0, np.pi, (n, 1, 1))
    y, x = np.mgrid[:S, :S] - S / 2
    u = x * np.cos(angle) + y * np.sin(angle)
    v = (-x * np.sin(angle) + y * np.cos(angle)) / q
    r = np.hypot(u, v)
    img = (np.exp(-r ** 2 / (2 * (hlr / 1.1774) ** 2)) if profile == "gauss"
           else np.exp(-1.678 * r / hlr))
    img = flux * img / img.sum(axis=(1, 2), keepdims=True)
    return img + np.random.default_rng([noise_seed, 3]).normal(0, 1, (n, S, S))


def test_clearly_different_samples_are_told_apart():
    real, other = _galaxies(N, "gauss", 1, 10), _galaxies(N, "exp", 2, 11, q=0.6)
    r = two_sample.two_sample_test(real, other, _psfs(N), np.ones(N), *FIT, seed=0)
    assert r["accuracy"] > 0.85 and not r["collapsed"]
    assert r["n_test"] == N and r["train_accuracy"] > 0.85


def test_same_generator_gives_one_half():
    real, other = _galaxies(N, "gauss", 1, 10), _galaxies(N, "gauss", 3, 12)
    r = two_sample.two_sample_test(real, other, _psfs(N), np.ones(N), *FIT, seed=0)
    assert abs(r["accuracy"] - 0.5) <= 0.12


def test_same_seed_same_accuracy():
    n = N // 2
    real, other = _galaxies(n, "gauss", 1, 10), _galaxies(n, "gauss", 4, 13, q=0.8)
    runs = [two_sample.two_sample_test(real, other, _psfs(n), np.ones(n), *FIT, seed=7)
            for _ in range(2)]
    assert runs[0]["accuracy"] == runs[1]["accuracy"]
    np.testing.assert_array_equal(runs[0]["arrays"]["p_other_other"],
                                  runs[1]["arrays"]["p_other_other"])


def test_features_are_finite_on_empty_and_noise_only_stamps():
    stamps = np.stack([np.zeros((S, S)), np.random.default_rng(0).normal(0, 1, (S, S))])
    f = cf.image_features(stamps, _psfs(2), np.ones(2))
    assert f.shape == (2, len(cf.feature_names(S))) and np.all(np.isfinite(f))
    assert f[0, cf.feature_names(S).index("r50")] == cf.SENTINEL  # undefined, not NaN


def test_features_of_gaussians_match_their_analytic_values():
    y, x = np.mgrid[:S, :S] - S / 2
    round_, flat = (np.exp(-(x ** 2 + (y / q) ** 2) / (2 * 3.0 ** 2)) for q in (1.0, 0.5))
    stamps = 1000 * np.stack([round_ / round_.sum(), flat / flat.sum()])
    psf = np.exp(-(x ** 2 + y ** 2) / (2 * 1.5 ** 2))
    f = dict(zip(cf.feature_names(S), cf.image_features(stamps, [psf, psf], [4.0, 4.0]).T))
    assert f["flux"] == pytest.approx(1000 / 2 / S)  # sum / (sigma S)
    assert f["size"][0] == pytest.approx(3.0, rel=0.02)  # sigma of a round Gaussian
    assert f["e"][0] < 1e-6 and f["e1"][1] > 0.3 and abs(f["e2"][1]) < 1e-6
    # r_q = sigma sqrt(-2 ln(1 - q)): r50 = 3.53, r80 / r20 = 2.69 (pixelised).
    assert f["r50"][0] == pytest.approx(3.53, rel=0.05)
    assert f["r80_over_r20"][0] == pytest.approx(2.69, rel=0.05)
    assert f["m20"][0] == pytest.approx(-1.6, abs=0.1)  # docs/validation.rst, M20
    assert f["asymmetry"][0] == pytest.approx(0, abs=1e-9)
    assert f["psf_size"][0] == pytest.approx(1.5, rel=1e-3)
    assert np.sum([f[k][0] for k in f if k.startswith("annulus")]) == pytest.approx(1)


def test_strongest_of_classifiers_picks_the_feature_classifier():
    def useless_fit(x, y, n_classes, **kw):
        return "nothing"

    def useless_predict(model, x):
        return np.full((len(x), 2), 0.5)

    real, other = _galaxies(N, "gauss", 1, 10), _galaxies(N, "exp", 2, 11, q=0.6)
    r = cf.strongest_of_classifiers(real, other, _psfs(N), np.ones(N),
                                    {"useless": (useless_fit, useless_predict), "features": FIT})
    assert r["classifier"] == "features" and r["accuracy"] > 0.85
    assert r["by_classifier"] == {"useless": 0.5, "features": r["accuracy"]}
    # The split depends on the seed only, not on the classifier.
    flat = two_sample.two_sample_test(real, other, _psfs(N), np.ones(N), useless_fit,
                                useless_predict, seed=0)
    np.testing.assert_array_equal(flat["arrays"]["test_galaxies"],
                                  r["arrays"]["test_galaxies"])
    with pytest.raises(InputError, match="at least one"):
        cf.strongest_of_classifiers(real, other, _psfs(N), np.ones(N), {})


def test_bad_input_raises_input_error():
    real = _galaxies(8, "gauss", 1, 10)
    with pytest.raises(InputError, match="same galaxies"):
        cf.strongest_of_classifiers(real, real[:5], _psfs(8), np.ones(8), {"features": FIT})
    with pytest.raises(InputError, match="at least 4 galaxies with finite stamps"):
        cf.strongest_of_classifiers(np.full_like(real, np.nan), real, _psfs(8), np.ones(8),
                                    {"features": FIT})
    with pytest.raises(InputError, match="non-finite"):
        cf.image_features(np.full_like(real, np.nan), _psfs(8), np.ones(8))
    with pytest.raises(InputError, match="must be"):
        cf.image_features(real, _psfs(7), np.ones(8))
    with pytest.raises(InputError, match=r"\[n, S, S, 2\]"):
        cf.fit_feature_classifier(real, np.zeros(8, int), 2)
