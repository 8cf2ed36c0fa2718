"""Do the codes classify: separable codes are classified well by all four classifiers, random
codes at chance, the same seed gives the same report, and ``research/classes/latent_classify.py``
runs end to end on the tiny Flow-VAE, with its errors for bad input."""
import json

import numpy as np
import pytest

from research.classes import latent_classify as latent_classify_script
from research.classes.latent_classify import (CLASSIFIERS, classify_codes, latent_classify,
                                               read_ceiling, score_predictions)
from galsim_deep.tools.validation.measures.clustering.compute import accuracy_in_bins
from tests.checks import research_command


# The research tree's code is the lab's, not the product's: `make test-all` runs its tests.
pytestmark = pytest.mark.extended


def _blobs(n, seed, separation=5.0, dim=6, k=4):
    """``n`` codes of ``k`` balanced classes, class c shifted by ``separation`` along axis c."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    rng.shuffle(y)
    x = rng.normal(size=(n, dim)) + separation * np.eye(k, dim)[y]
    return x, y, rng.normal(24.0, 1.0, n)


def test_separable_codes_are_classified_far_above_chance():
    x, y, _ = _blobs(400, 0)
    xt, yt, mags = _blobs(400, 1)
    res = classify_codes(x, y, xt, yt, mags, n_train=[40, 400], progress=False)
    assert [(e["classifier"], e["n_train"]) for e in res] == \
        [(c, n) for n in (40, 400) for c in CLASSIFIERS]
    for e in res:
        if e["n_train"] == 400:  # chance is 0.25
            assert e["accuracy"] > 0.9 and e["balanced_accuracy"] > 0.9, e["classifier"]
        assert e["error"] == pytest.approx(np.sqrt(e["accuracy"] * (1 - e["accuracy"]) / 400))
        bins = e["by_magnitude"]
        assert sum(bins["count"]) == 400 and len(bins["accuracy"]) == 4
        # the quartiles of the test set, as the ceiling report bins them
        np.testing.assert_allclose(bins["edges"], np.quantile(mags, [0, 0.25, 0.5, 0.75, 1]))
        overall = np.dot(bins["accuracy"], bins["count"]) / 400
        assert overall == pytest.approx(e["accuracy"])


def test_random_codes_are_classified_at_chance_within_errors():
    rng = np.random.default_rng(2)
    x, xt = rng.normal(size=(600, 6)), rng.normal(size=(600, 6))
    y, yt = np.arange(600) % 3, rng.permutation(np.arange(600) % 3)
    res = classify_codes(x, y, xt, yt, n_train=600, progress=False)
    for e in res:
        assert abs(e["accuracy"] - 1 / 3) < 4 * e["error"], (e["classifier"], e["accuracy"])
        assert "by_magnitude" not in e
    assert max(e["train_accuracy"] for e in res) > 0.5  # the forest learns the noise by heart


def test_the_same_seed_gives_the_same_results_and_bad_input_is_refused():
    x, y, _ = _blobs(200, 3, separation=1.0)
    xt, yt, mags = _blobs(200, 4, separation=1.0)

    def run(seed):
        return [{k: v for k, v in e.items() if k != "seconds"} for e in
                classify_codes(x, y, xt, yt, mags, n_train=[50, 200], seed=seed,
                               progress=False)]

    first = run(7)
    assert first == run(7)
    assert first != run(8)  # the seed reaches the forest
    with pytest.raises(ValueError, match="at most the 200 training galaxies"):
        classify_codes(x, y, xt, yt, n_train=500, progress=False)
    with pytest.raises(ValueError, match="unknown classifier"):
        classify_codes(x, y, xt, yt, classifiers=["svm"], progress=False)
    with pytest.raises(ValueError, match="one class only"):
        classify_codes(x, np.zeros(200, int), xt, yt, progress=False)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"rows \[3\] hold NaN"):
        classify_codes(bad, y, xt, yt, progress=False)
    with pytest.raises(ValueError, match="same model"):
        classify_codes(x, y, xt[:, :2], yt, progress=False)


def test_scores_use_the_bins_of_the_ceiling_report():
    rng = np.random.default_rng(5)
    labels, predicted = rng.integers(0, 6, 300), rng.integers(0, 6, 300)
    mags = rng.uniform(20, 26, 300)
    score = score_predictions(predicted, labels, mags)
    ceiling = accuracy_in_bins(predicted, labels, {k: k for k in range(6)}, mags)
    for key in ("edges", "count", "accuracy"):
        assert score["by_magnitude"][key] == ceiling[key]


def test_read_ceiling(tmp_path):
    path = tmp_path / "ceiling.json"
    path.write_text(json.dumps({"dataset": "d.h5", "n_train": 5000, "n_test": 100,
                                "accuracy": 0.5, "epochs": 3, "confusion": [[30, 10], [40, 20]],
                                "by_magnitude": {"edges": [1, 2, 3], "count": [50, 50],
                                                 "accuracy": [0.6, 0.4]}}))
    c = read_ceiling(path)
    assert c["n_train"] == 5000 and c["error"] == pytest.approx(0.05)
    assert c["balanced_accuracy"] == pytest.approx((30 / 40 + 20 / 60) / 2)
    assert c["by_magnitude"]["error"][0] == pytest.approx(np.sqrt(0.24 / 50))
    with pytest.raises(FileNotFoundError, match="research/classes/ceiling.py"):
        read_ceiling(tmp_path / "none.json")
    path.write_text("{}")
    with pytest.raises(ValueError, match="not a ceiling report"):
        read_ceiling(path)


# --- end to end with a module ---------------------------------------------------------------

@pytest.fixture(scope="module")
def labelled_dataset(tmp_path_factory):
    """48 mock galaxies (32x32 at 0.03"), half of them in the test split."""
    from galsim_deep.data.build import build_dataset

    return build_dataset("mock-cosmos", 48, tmp_path_factory.mktemp("classify") / "mock48.h5",
                         stamp_size=32, pixel_scale=0.03, seed=3, processes=1,
                         progress=False, n_test=24)


def test_the_command_refuses_bad_input(tmp_path, labelled_dataset, tiny_module_path, capsys):
    pytest.importorskip("tensorflow")
    import shutil

    import h5py

    main = research_command(latent_classify_script)

    def run(dataset, *extra):
        code = main([str(tiny_module_path), "--dataset", str(dataset),
                     "--out", str(tmp_path / "r"), "--quiet", *extra])
        return code, capsys.readouterr().err

    code, err = run(labelled_dataset)
    assert code == 1 and "no 'encode' signature" in err and "Flow-VAE" in err
    unlabelled = tmp_path / "unlabelled.h5"
    shutil.copy(labelled_dataset, unlabelled)
    with h5py.File(unlabelled, "r+") as f:
        del f["label"]
    code, err = run(unlabelled)
    assert code == 1 and "no morphology labels" in err and "mock-cosmos" in err
    code, err = run(tmp_path / "none.h5")
    assert code == 1 and "does not exist" in err
    code, err = run(labelled_dataset, "--n-train", "0")
    assert code == 1 and "--n-train must be >= 1" in err
    with pytest.raises(ValueError, match="latents='top'"):
        latent_classify(str(tiny_module_path), labelled_dataset, tmp_path / "r", latents="all")
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_classify_command_end_to_end(tmp_path, labelled_dataset, tiny_flow_vae_module_path,
                                     monkeypatch, capsys):
    pytest.importorskip("tensorflow")
    from galsim_deep import GenerativeGalaxyModel
    main = research_command(latent_classify_script)

    ceiling = tmp_path / "ceiling.json"
    ceiling.write_text(json.dumps({"dataset": str(labelled_dataset), "n_train": 24,
                                   "n_test": 24, "accuracy": 0.5, "epochs": 2,
                                   "confusion": [[12, 0], [12, 0]]}))
    out = tmp_path / "report"
    args = [str(tiny_flow_vae_module_path), "--dataset",
            str(labelled_dataset), "--out", str(out), "--n-train", "12", "24", "--ceiling",
            str(ceiling), "--seed", "1", "--quiet"]
    assert main(args) == 0
    assert "CNN (ceiling, n_train 24)" in capsys.readouterr().out
    report = json.loads((out / "classify.json").read_text())
    assert {p.name for p in out.iterdir()} >= {"classify.json", "classify.md", "classify.png",
                                               "codes_train.npz", "codes_test.npz"}
    assert len(report["codes"]) == len(report["conditions_only"]) == 2 * len(CLASSIFIERS)
    assert report["run"]["n_train"] == [12, 24] and report["run"]["n_test"] == 24
    assert report["run"]["code_size"] == 4 and report["run"]["latents"] == "top"
    assert "posterior mean" in report["run"]["code"] and report["ceiling"]["n_train"] == 24
    assert sum(report["classes"].values()) == 24
    for e in report["codes"]:
        assert sum(e["by_magnitude"]["count"]) == 24 and 0 <= e["accuracy"] <= 1
    md = (out / "classify.md").read_text()
    assert "| pixels | CNN (ceiling) | 24 |" in md and "| conditions only | knn | 24 |" in md

    # A second run reuses the codes and gives the same numbers.
    def no_encoding(*a, **k):
        raise AssertionError("encoded again")

    monkeypatch.setattr(GenerativeGalaxyModel, "encode", no_encoding)
    assert main(args) == 0
    again = json.loads((out / "classify.json").read_text())
    for a, b in zip(report["codes"], again["codes"]):
        assert {k: v for k, v in a.items() if k != "seconds"} == \
            {k: v for k, v in b.items() if k != "seconds"}
