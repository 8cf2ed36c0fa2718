"""Similarity search: known neighbours, self-matches, cosine vs Euclidean, precision@k."""
import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.tools.latent.search import SimilarityIndex, precision_at_k, ranking_index


def _codes(n=300, dim=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("dim", [8, 16])  # scikit-learn's 'auto': a KD-tree, brute force
def test_a_query_in_the_index_is_its_own_first_neighbour(metric, dim):
    codes = _codes(dim=dim)
    index = SimilarityIndex(codes, metric=metric)
    rows, score = index.query(codes[:50], k=3)
    np.testing.assert_array_equal(rows[:, 0], np.arange(50))
    if metric == "cosine":
        np.testing.assert_allclose(score[:, 0], 1.0, atol=1e-12)
        assert np.all(np.diff(score, axis=1) <= 1e-12)  # most similar first
    else:
        np.testing.assert_allclose(score[:, 0], 0.0, atol=1e-6)
        assert np.all(np.diff(score, axis=1) >= -1e-12)
    # Excluding the query's own row gives the next ones.
    rows_ex, _ = index.query(codes[:50], k=2, exclude=np.arange(50))
    np.testing.assert_array_equal(rows_ex, rows[:, 1:])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_neighbours_equal_a_brute_force_ranking(metric):
    codes = _codes(200, 5, seed=3)
    queries = _codes(7, 5, seed=4)
    rows, score = SimilarityIndex(codes, metric=metric).query(queries, k=6)
    if metric == "cosine":
        unit = codes / np.linalg.norm(codes, axis=1, keepdims=True)
        sim = queries @ unit.T / np.linalg.norm(queries, axis=1, keepdims=True)
        expected = np.argsort(-sim, axis=1)[:, :6]
        np.testing.assert_allclose(score, np.take_along_axis(sim, expected, 1), atol=1e-10)
    else:
        dist = np.linalg.norm(queries[:, None] - codes[None], axis=2)
        expected = np.argsort(dist, axis=1)[:, :6]
        np.testing.assert_allclose(score, np.take_along_axis(dist, expected, 1), atol=1e-10)
    np.testing.assert_array_equal(rows, expected)


def test_cosine_ignores_the_length_of_a_code_and_euclidean_does_not():
    codes = np.array([[1.0, 0.0], [10.0, 0.5], [0.0, 1.0], [1.1, 1.0]])
    cos_rows, _ = SimilarityIndex(codes, "cosine").query([[1.0, 0.0]], k=2)
    euc_rows, _ = SimilarityIndex(codes, "euclidean").query([[1.0, 0.0]], k=2)
    assert cos_rows[0].tolist() == [0, 1]    # [10, 0.5] points the same way
    assert euc_rows[0].tolist() == [0, 3]    # [1.1, 1.0] is closer


def test_neighbours_of_members_leave_each_code_out():
    codes = _codes(60, 4, seed=5)
    index = SimilarityIndex(codes, "euclidean")
    rows, dist = index.neighbours_of_members(k=4)
    assert rows.shape == (60, 4)
    assert not np.any(rows == np.arange(60)[:, None])
    full, _ = index.query(codes, k=5)
    np.testing.assert_array_equal(rows, full[:, 1:])


def test_precision_at_k_on_hand_made_clusters():
    # Two tight, far apart clusters of 5: every neighbour of the first 4 shares the label.
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(0, 0.01, (5, 3)) + [5, 0, 0],
                            rng.normal(0, 0.01, (5, 3)) - [5, 0, 0]])
    labels = np.array([0] * 5 + [1] * 5)
    rows, _ = SimilarityIndex(codes, "euclidean").neighbours_of_members(k=4)
    p = precision_at_k(labels, rows)
    assert p["by_label"] == {0: 1.0, 1: 1.0} and p["mean"] == 1.0
    assert p["chance"] == {0: pytest.approx(4 / 9), 1: pytest.approx(4 / 9)}
    # Hand-computed: neighbours [[1, 2], [0, 2], [0, 1]] with labels [0, 0, 1].
    hand = precision_at_k(np.array([0, 0, 1]), np.array([[1, 2], [0, 2], [0, 1]]))
    np.testing.assert_allclose(hand["per_galaxy"], [0.5, 0.5, 0.0])
    assert hand["by_label"] == {0: 0.5, 1: 0.0} and hand["macro"] == 0.25
    assert precision_at_k(np.array([0, 0, 1]), np.array([[1, 2], [0, 2], [0, 1]]),
                          k=1)["by_label"] == {0: 1.0, 1: 0.0}
    # random neighbours' precision, averaged over the galaxies: (1/2 + 1/2 + 0) / 3
    assert hand["chance_mean"] == pytest.approx(1 / 3)
    error = np.std([0.5, 0.5, 0.0], ddof=1) / np.sqrt(3)
    assert hand["mean_error"] == pytest.approx(error)
    assert hand["excess_sigma"] == pytest.approx((1 / 3 - 1 / 3) / error, abs=1e-12)
    assert p["excess_sigma"] is None  # every galaxy at precision 1: no scatter, no error
    # Queries searched among another pool: chance is each label's share of the pool.
    pooled = precision_at_k(np.array([0, 1]), np.array([[0, 1, 2], [2, 3, 3]]),
                            pool_labels=np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(pooled["per_galaxy"], [2 / 3, 1.0])
    assert pooled["chance"] == {0: 0.5, 1: 0.5} and pooled["chance_mean"] == 0.5
    with pytest.raises(ValueError, match="rows of the 4 pool labels"):
        precision_at_k(np.array([0]), np.array([[4]]), pool_labels=np.array([0, 0, 1, 1]))


def test_bad_input_is_refused_with_the_fix():
    codes = _codes(10, 3)
    with pytest.raises(ValueError, match="metric must be one of"):
        SimilarityIndex(codes, metric="manhattan")
    bad = codes.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"rows \[4\] contain NaN.*drop them"):
        SimilarityIndex(bad)
    with pytest.raises(ValueError, match="all-zero code"):
        SimilarityIndex(np.zeros((3, 2)))
    index = SimilarityIndex(codes)
    with pytest.raises(ValueError, match="encode the queries with the same model"):
        index.query(np.zeros((1, 4)) + 1, k=2)
    with pytest.raises(ValueError, match="ask for at most 9"):
        index.query(codes[:1], k=10, exclude=[0])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        index.query(codes[:1], k=0)
    with pytest.raises(ValueError, match="same N"):
        precision_at_k(np.zeros(3), np.zeros((4, 2), int))


def test_the_likelihood_ranking_is_by_closeness_of_log_p():
    from galsim_deep.tools.latent.search import ranking_index

    log_prob = np.array([-10.0, -3.0, -9.0, 5.0, -2.5])
    rows, gap = ranking_index("likelihood", _codes(5, 3), log_prob).query([[-9.4]], k=3)
    assert rows[0].tolist() == [2, 0, 1]
    np.testing.assert_allclose(gap[0], [0.4, 0.6, 6.4])
    codes = _codes(5, 3)
    np.testing.assert_array_equal(ranking_index("cosine", codes).query(codes[0], k=2)[0],
                                  SimilarityIndex(codes).query(codes[0], k=2)[0])
    with pytest.raises(ValueError, match="needs each galaxy's log_prob"):
        ranking_index("likelihood", codes)
    with pytest.raises(ValueError, match="ranking must be one of"):
        ranking_index("manhattan", codes)


def test_footprint_keeps_the_central_window_of_a_spatial_code():
    from galsim_deep.tools.latent.search import footprint

    shape = (6, 6, 2)
    codes = np.arange(2 * 72, dtype=float).reshape(2, 72)
    window = footprint(codes, shape, cells=2)
    grid = codes.reshape(2, 6, 6, 2)
    np.testing.assert_array_equal(window, grid[:, 2:4, 2:4].reshape(2, 8))
    assert footprint(codes, shape, cells=6).shape == (2, 72)
    with pytest.raises(InputError, match="not spatial codes of shape"):
        footprint(codes[:, :70], shape)
    with pytest.raises(InputError, match="cells must be between 1 and 6"):
        footprint(codes, shape, cells=7)
    # the ranking searches the window alone: a code whose sky differs but whose centre
    # matches is the nearest
    shape = (10, 10, 1)
    codes = np.random.default_rng(0).normal(size=(5, 100))
    query = codes[3].reshape(1, 10, 10).copy()
    query[:, 0] += 100.0
    rows, _ = ranking_index("footprint", codes, latent_shape=shape).query(
        footprint(query.reshape(1, -1), shape), k=1)
    assert rows[0][0] == 3
    with pytest.raises(InputError, match="needs the codes' spatial shape"):
        ranking_index("footprint", codes)
