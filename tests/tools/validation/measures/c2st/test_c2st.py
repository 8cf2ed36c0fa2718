"""The two-sample classifier test on samples whose answer is known (tiny stamps, few epochs)."""
import numpy as np
import pytest

from galsim_deep.tools.validation.measures.c2st import compute as two_sample
from galsim_deep.tools.validation.measures.c2st.figures import plot_most_fake

S = 16


def _blobs(n, sigma, seed, noise=0.05):
    """Noisy round Gaussians of ``sigma`` pixels (random flux), one per stamp."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:S, :S] - (S - 1) / 2
    prof = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
    flux = rng.uniform(0.5, 1.5, (n, 1, 1))
    return flux * prof / prof.max() + rng.normal(0, noise, (n, S, S))


def _psfs(n):
    y, x = np.mgrid[:S, :S] - S // 2
    psf = np.exp(-(x ** 2 + y ** 2) / 2.0)
    return np.broadcast_to(psf / psf.sum(), (n, S, S)).copy()


@pytest.fixture(scope="module")
def trainer():
    from galsim_deep.training.classifier import fit_two_sample_classifier, predict_classes

    from tests.checks import op_determinism_restored

    with op_determinism_restored():
        yield fit_two_sample_classifier, predict_classes


def test_same_distribution_gives_one_half(trainer):
    n = 160
    r = two_sample.two_sample_test(_blobs(n, 2.0, 1), _blobs(n, 2.0, 2), _psfs(n),
                             np.full(n, 0.05 ** 2), *trainer, seed=0, epochs=4)
    assert r["n_test"] == n  # the held-out half of the galaxies, both samples
    assert abs(r["accuracy"] - 0.5) < 0.15
    assert abs(r["z"]) < 3.5
    assert r["error"] == pytest.approx(np.sqrt(r["accuracy"] * (1 - r["accuracy"]) / n),
                                       rel=1e-9)


def test_clearly_different_samples_give_one(trainer):
    n = 160
    r = two_sample.two_sample_test(_blobs(n, 1.0, 3), _blobs(n, 3.5, 4), _psfs(n),
                             np.full(n, 0.05 ** 2), *trainer, seed=0, epochs=6)
    assert r["accuracy"] > 0.9 and r["z"] > 8


def test_split_keeps_each_galaxy_on_one_side_and_skips_bad_stamps():
    """A stub classifier: the split, the labels and the scoring, without TensorFlow."""
    n = 20
    real, other = np.zeros((n, S, S)), np.ones((n, S, S))
    other[3] = np.nan  # a failed draw: galaxy 3 is left out
    seen = {}

    def fit(x, y, n_classes, **kw):
        seen["n_train"], seen["labels"] = len(x), np.bincount(y)
        return "model"

    def predict(model, x):  # "other" wherever the stamp is bright
        p = (np.arcsinh(1.0) * 0.99 < x[:, :, :, 0].mean(axis=(1, 2))).astype(float)
        return np.stack([1 - p, p], axis=1)

    r = two_sample.two_sample_test(real, other, _psfs(n), np.ones(n), fit, predict, seed=5)
    assert not r["collapsed"]
    # At an accuracy of 1 the error is that of one stamp: 1 / n_test.
    assert r["accuracy"] == 1.0 and r["error"] == pytest.approx(1 / r["n_test"])
    test = r["arrays"]["test_galaxies"]
    assert 3 not in test and seen["n_train"] + r["n_test"] == 2 * 19
    assert list(seen["labels"]) == [seen["n_train"] // 2] * 2
    # Pairs are never split: the training half holds the other galaxies, both samples.
    assert len(set(test)) == len(test) == r["n_test"] // 2
    with pytest.raises(ValueError, match="same galaxies"):
        two_sample.two_sample_test(real, other[:5], _psfs(n), np.ones(n), fit, predict)
    # A classifier that answers the same for every stamp is flagged, not read as a pass.
    flat = two_sample.two_sample_test(real, other, _psfs(n), np.ones(n), fit,
                                lambda m, x: np.full((len(x), 2), 0.5), seed=5)
    assert flat["collapsed"] and flat["accuracy"] == 0.5


def test_strongest_test_is_the_most_accurate_classifier_that_learned_something():
    """Stub classifiers, one per seed: seed 1 calls every stamp right, seed 2 every stamp
    wrong, seed 3 answers 0.5 for all (collapsed), seed 0 calls all "real" (with outputs that
    vary: not collapsed)."""
    n = 20
    real, other = np.zeros((n, S, S)), np.ones((n, S, S))

    def fit(x, y, n_classes, seed=0, **kw):
        return seed

    def predict(seed, x):
        bright = (x[:, :, :, 0].mean(axis=(1, 2)) > 0.5).astype(float)
        p = {0: 0.3 + 0.1 * bright, 1: bright, 2: 1 - bright, 3: np.full(len(x), 0.5)}[seed]
        return np.stack([1 - p, p], axis=1)

    r = two_sample.strongest_two_sample_test(real, other, _psfs(n), np.ones(n), fit, predict,
                                       seeds=(3, 2, 0, 1))
    assert r["seed"] == 1 and r["accuracy"] == 1.0 and not r["collapsed"]
    assert r["seeds"] == [3, 2, 0, 1] and r["accuracies"] == [0.5, 0.0, 0.5, 1.0]
    # Without seed 1 the best is seed 0's 0.5, not the collapsed seed 3's.
    r = two_sample.strongest_two_sample_test(real, other, _psfs(n), np.ones(n), fit, predict,
                                       seeds=(3, 2, 0))
    assert r["seed"] == 0 and r["accuracy"] == 0.5 and not r["collapsed"]
    # Only collapsed classifiers: the verdict is flagged.
    assert two_sample.strongest_two_sample_test(real, other, _psfs(n), np.ones(n), fit, predict,
                                          seeds=(3,))["collapsed"]
    with pytest.raises(ValueError, match="at least one seed"):
        two_sample.strongest_two_sample_test(real, other, _psfs(n), np.ones(n), fit, predict,
                                             seeds=())


def test_inputs_and_figure(tmp_path):
    x = two_sample.classifier_inputs(_blobs(3, 2.0, 0), _psfs(3), np.full(3, 0.01))
    assert x.shape == (3, S, S, 2) and x.dtype == np.float32
    assert x[..., 1].max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="noise_variance"):
        two_sample.classifier_inputs(_blobs(3, 2.0, 0), _psfs(3), np.zeros(3))
    result = {"arrays": {"test_galaxies": np.array([0, 2]),
                         "p_other_other": np.array([0.9, 0.2])}}
    path = plot_most_fake(_blobs(3, 2.0, 0), _blobs(3, 1.0, 1), result,
                               tmp_path / "fake.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_accuracy_in_groups_splits_the_held_out_calls():
    """Galaxies 1, 2, 4, 5 held out: group 0 holds 1 and 2 (3 calls of 4 right), group 1 holds
    4 and 5 (4 of 4 right), group 2 none."""
    result = {"arrays": {"test_galaxies": np.array([1, 2, 4, 5]),
                         "p_other_real": np.array([0.2, 0.7, 0.1, 0.5]),
                         "p_other_other": np.array([0.9, 0.6, 0.8, 0.51])}}
    groups = np.array([2, 0, 0, 1, 1, 1])
    bins = two_sample.accuracy_in_groups(result, groups, 3)
    assert [b["n"] for b in bins] == [2, 2, 0]
    assert bins[0]["accuracy"] == pytest.approx(0.75)
    # binomial on 4 calls, never below the error of one call more or less, as the whole test's
    assert bins[0]["error"] == pytest.approx(np.sqrt(max(0.75 * 0.25, 1 / 4) / 4))
    assert bins[1]["accuracy"] == 1.0  # p = 0.5 for a real stamp is called real
    assert bins[1]["error"] == pytest.approx(np.sqrt(1 / 4 / 4))
    assert np.isnan(bins[2]["accuracy"]) and np.isnan(bins[2]["error"])
