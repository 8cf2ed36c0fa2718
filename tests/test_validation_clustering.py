"""Clustering accuracies (majority and one-to-one mappings) on hand-made tables."""
import numpy as np
import pytest

from galsim_deep.validation import clustering as cl


def test_both_mappings_on_a_hand_made_table():
    # Clusters 0 and 1 both hold mostly class 0; cluster 2 is class 2.
    predicted = [0, 0, 0, 1, 1, 1, 2, 2]
    labels = [0, 0, 1, 0, 0, 1, 2, 2]
    out = cl.clustering_accuracy(predicted, labels)
    assert out["contingency"] == [[2, 1, 0], [2, 1, 0], [0, 0, 2]]
    # Majority: 0 -> 0, 1 -> 0, 2 -> 2: 2 + 2 + 2 of 8.
    assert out["majority_mapping"] == {0: 0, 1: 0, 2: 2}
    assert out["majority_accuracy"] == pytest.approx(6 / 8)
    # One-to-one: one of clusters 0, 1 must take class 1: 2 + 1 + 2 of 8.
    assert out["accuracy"] == pytest.approx(5 / 8)
    assert sorted(out["mapping"].values()) == [0, 1, 2]
    # Never below the one-to-one accuracy, equal when each cluster has its own class.
    same = cl.clustering_accuracy([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 2])
    assert same["accuracy"] == same["majority_accuracy"] == 1.0


def test_majority_is_never_below_one_to_one():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.integers(0, 4, 60)
        y = rng.integers(0, 5, 60)
        out = cl.clustering_accuracy(p, y, n_clusters=4, n_classes=5)
        assert out["majority_accuracy"] >= out["accuracy"] - 1e-12


def test_one_to_one_cap_of_equal_weight_clusters():
    # The mock test split: 6 equal-weight clusters cannot give the two large classes more than
    # 2000 / 6 galaxies each.
    counts = [559, 578, 269, 244, 228, 122]
    assert cl.one_to_one_cap(counts, 6) == pytest.approx(
        (2 * 2000 / 6 + 269 + 244 + 228 + 122) / 2000)
    assert cl.one_to_one_cap(counts, 6) == pytest.approx(0.7648, abs=5e-4)
    assert cl.one_to_one_cap([100, 100, 100], 3) == 1.0
    # Fewer clusters than classes: only the largest classes can be matched.
    assert cl.one_to_one_cap([50, 30, 20], 2) == pytest.approx(1.0 * (50 + 30) / 100)
    with pytest.raises(ValueError, match="K >= 1"):
        cl.one_to_one_cap(counts, 0)
    # The accuracy's own field: the cap of the table's class counts.
    out = cl.clustering_accuracy([0, 1, 2, 0], [0, 0, 0, 1], n_clusters=3)
    assert out["one_to_one_cap"] == pytest.approx((4 / 3 + 1) / 4)


def test_chance_levels_and_quartiles():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    predicted = labels.copy()  # a perfect clustering
    summary = cl.cluster_summary(predicted, labels, 3, 3, np.linspace(20, 24, 300), seed=0)
    assert summary["accuracy"] == summary["majority_accuracy"] == 1.0
    ch = summary["chance"]
    assert 0.3 < ch["one_to_one"]["mean"] < 0.45 and ch["majority"]["mean"] >= \
        ch["one_to_one"]["mean"] - 1e-12
    assert summary["by_magnitude"]["accuracy"] == [1.0] * 4
    assert summary["majority_by_magnitude"]["count"] == [75] * 4
    text = "\n".join(cl.markdown_clustering(summary, ["a", "b", "c"]))
    assert "majority" in text and "one-to-one" in text and "y=0 -> a" in text
