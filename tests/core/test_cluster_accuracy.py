"""Clustering accuracies (majority and one-to-one mappings) on hand-made tables."""
import numpy as np
import pytest

from galsim_deep.core import cluster_accuracy as ca


def test_both_mappings_on_a_hand_made_table():
    # Clusters 0 and 1 both hold mostly class 0; cluster 2 is class 2.
    predicted = [0, 0, 0, 1, 1, 1, 2, 2]
    labels = [0, 0, 1, 0, 0, 1, 2, 2]
    out = ca.clustering_accuracy(predicted, labels)
    assert out["contingency"] == [[2, 1, 0], [2, 1, 0], [0, 0, 2]]
    # Majority: 0 -> 0, 1 -> 0, 2 -> 2: 2 + 2 + 2 of 8.
    assert out["majority_mapping"] == {0: 0, 1: 0, 2: 2}
    assert out["majority_accuracy"] == pytest.approx(6 / 8)
    # One-to-one: one of clusters 0, 1 must take class 1: 2 + 1 + 2 of 8.
    assert out["accuracy"] == pytest.approx(5 / 8)
    assert sorted(out["mapping"].values()) == [0, 1, 2]
    # Never below the one-to-one accuracy, equal when each cluster has its own class.
    same = ca.clustering_accuracy([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 2])
    assert same["accuracy"] == same["majority_accuracy"] == 1.0


def test_majority_is_never_below_one_to_one():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.integers(0, 4, 60)
        y = rng.integers(0, 5, 60)
        out = ca.clustering_accuracy(p, y, n_clusters=4, n_classes=5)
        assert out["majority_accuracy"] >= out["accuracy"] - 1e-12


def test_one_to_one_cap_of_equal_weight_clusters():
    # The mock test split: 6 equal-weight clusters cannot give the two large classes more than
    # 2000 / 6 galaxies each.
    counts = [559, 578, 269, 244, 228, 122]
    assert ca.one_to_one_cap(counts, 6) == pytest.approx(
        (2 * 2000 / 6 + 269 + 244 + 228 + 122) / 2000)
    assert ca.one_to_one_cap(counts, 6) == pytest.approx(0.7648, abs=5e-4)
    assert ca.one_to_one_cap([100, 100, 100], 3) == 1.0
    # Fewer clusters than classes: only the largest classes can be matched.
    assert ca.one_to_one_cap([50, 30, 20], 2) == pytest.approx(1.0 * (50 + 30) / 100)
    with pytest.raises(ValueError, match="K >= 1"):
        ca.one_to_one_cap(counts, 0)
    # The accuracy's own field: the cap of the table's class counts.
    out = ca.clustering_accuracy([0, 1, 2, 0], [0, 0, 0, 1], n_clusters=3)
    assert out["one_to_one_cap"] == pytest.approx((4 / 3 + 1) / 4)
