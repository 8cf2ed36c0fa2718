"""Linear probe: separable codes are read perfectly, shuffled labels are not."""
import numpy as np
import pytest

from galsim_deep.tools.latent.probe import linear_probe


def _blobs(n_per, seed, separation=6.0, dim=5, k=3):
    rng = np.random.default_rng(seed)
    centres = np.eye(k, dim) * separation
    x = np.concatenate([rng.normal(size=(n_per, dim)) + c for c in centres])
    return x, np.repeat(np.arange(k), n_per)


def test_linearly_separable_codes_are_probed_almost_perfectly():
    x_train, y_train = _blobs(60, 0)
    x_test, y_test = _blobs(40, 1)
    res = linear_probe(x_train, y_train, x_test, y_test, class_names=["a", "b", "c"])
    assert res["accuracy"] >= 0.98 and res["train_accuracy"] >= 0.98
    assert res["chance"] == pytest.approx(1 / 3)
    confusion = np.array(res["confusion"])
    assert confusion.sum() == 120 and np.trace(confusion) == round(res["accuracy"] * 120)
    assert res["class_names"] == ["a", "b", "c"] and res["n_train"] == 180


def test_labels_unrelated_to_the_codes_give_chance_accuracy():
    x_train, _ = _blobs(100, 2, separation=0.0)
    x_test, _ = _blobs(100, 3, separation=0.0)
    rng = np.random.default_rng(4)
    res = linear_probe(x_train, rng.integers(0, 2, 300), x_test, rng.integers(0, 2, 300))
    assert 0.38 < res["accuracy"] < 0.62


def test_same_seed_same_probe_and_bad_input():
    x, y = _blobs(30, 5, separation=1.0)
    a = linear_probe(x, y, x, y, seed=3)
    b = linear_probe(x, y, x, y, seed=3)
    np.testing.assert_array_equal(a["predictions"], b["predictions"])
    with pytest.raises(ValueError, match="at least two classes"):
        linear_probe(x, np.zeros(len(x), int), x, y)
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite.*drop those rows"):
        linear_probe(bad, y, x, y)
    with pytest.raises(ValueError, match="same model"):
        linear_probe(x, y, x[:, :2], y)
