"""Accuracy of cluster assignments against true classes (Astorga 2021, section 8.1).

Plain NumPy on contingency tables, so that training (the end-of-run score of an
MPCC run) and validation (:mod:`galsim_deep.tools.validation.measures.clustering.compute`) share one
definition.  It lives in the foundation because those two may not import each other
(``tests/project/test_architecture.py``), and a clustering accuracy is no network's:

* :func:`clustering_accuracy` - one-to-one (Hungarian) and majority
  (Astorga 2021, Eq. 8.1) accuracies;
* :func:`one_to_one_cap` - the best one-to-one accuracy of ``K`` equal-weight
  clusters on a class mix;
* :func:`chance_accuracy` - both accuracies of random assignments with the
  same cluster sizes.
"""
import numpy as np

from .errors import InputError

__all__ = ["clustering_accuracy", "majority_mapping", "one_to_one_cap", "chance_accuracy"]


def _table(predicted, labels, n_clusters=None, n_classes=None):
    predicted = np.asarray(predicted).ravel()
    labels = np.asarray(labels).ravel()
    if predicted.shape != labels.shape:
        raise InputError(f"predicted and labels must describe the same galaxies, got "
                         f"{predicted.size} and {labels.size} values")
    if predicted.size == 0:
        raise InputError("clustering_accuracy needs at least one galaxy")
    for name, a in (("predicted", predicted), ("labels", labels)):
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0:
            raise InputError(f"{name} must be non-negative integers (cluster / class indices)")
    k = int(n_clusters or predicted.max() + 1)
    c = int(n_classes or labels.max() + 1)
    if predicted.max() >= k or labels.max() >= c:
        raise InputError(f"indices exceed n_clusters={k} or n_classes={c}")
    table = np.zeros((k, c), dtype=np.int64)
    np.add.at(table, (predicted, labels), 1)
    return table


def majority_mapping(contingency):
    """Each non-empty cluster to its most frequent class (ties: the lower class index).

    Parameters
    ----------
    contingency : array_like [K, C]
        Counts of galaxies per cluster and class.

    Returns
    -------
    dict of int -> int
        Cluster -> class; empty clusters are left out.
    """
    table = np.asarray(contingency)
    return {int(k): int(np.argmax(row)) for k, row in enumerate(table) if row.sum() > 0}


def one_to_one_cap(class_counts, n_clusters):
    """Best one-to-one accuracy ``n_clusters`` equal-weight clusters can reach on a class mix.

    Each cluster holds ``N / K`` galaxies; under a one-to-one mapping a class
    scores at most ``min(n_c, N / K)`` galaxies through its one cluster, and
    at most ``K`` classes are matched, so the best is
    ``sum over the min(K, C) largest classes of min(n_c, N / K)``, over ``N``.

    Parameters
    ----------
    class_counts : array_like of int [C]
        Galaxies per class.
    n_clusters : int
        K.

    Returns
    -------
    float
        In [0, 1]; 1 when every class has ``N / K`` galaxies and ``K = C``.
    """
    counts = np.sort(np.asarray(class_counts, np.float64))[::-1]
    k = int(n_clusters)
    if k < 1 or counts.sum() <= 0:
        raise InputError(f"one_to_one_cap needs K >= 1 and some galaxies, got K={n_clusters} "
                         f"and {counts.sum():g} galaxies")
    size = counts.sum() / k
    return float(np.minimum(counts[:k], size).sum() / counts.sum())


def _one_to_one(table):
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-table)
    return int(table[rows, cols].sum()), {int(r): int(cc) for r, cc in zip(rows, cols)}


def chance_accuracy(predicted, labels, n_clusters=None, n_classes=None, n_perm=200, seed=0):
    """Both accuracies of random assignments with the same cluster sizes.

    The clusters are shuffled among the galaxies (``n_perm`` times, from
    ``numpy.random.default_rng([seed, 0xC1A])``).

    Returns
    -------
    dict
        ``majority`` and ``one_to_one``: ``mean`` and ``std`` over the
        permutations.
    """
    predicted = np.asarray(predicted).ravel()
    labels = np.asarray(labels).ravel()
    base = _table(predicted, labels, n_clusters, n_classes)
    k, c = base.shape
    rng = np.random.default_rng([int(seed), 0xC1A])
    maj, one = [], []
    for _ in range(int(n_perm)):
        table = np.zeros((k, c), np.int64)
        np.add.at(table, (rng.permutation(predicted), labels), 1)
        maj.append(table.max(axis=1).sum() / predicted.size)
        one.append(_one_to_one(table)[0] / predicted.size)
    return {"majority": {"mean": float(np.mean(maj)), "std": float(np.std(maj, ddof=1))},
            "one_to_one": {"mean": float(np.mean(one)), "std": float(np.std(one, ddof=1))}}


def clustering_accuracy(predicted, labels, n_clusters=None, n_classes=None):
    """Clustering accuracy under the one-to-one and the majority cluster-to-class mappings.

    One-to-one: ``ACC = max_m (1/N) sum_i 1[labels_i = m(predicted_i)]``
    over one-to-one maps ``m`` from clusters to classes (Hungarian algorithm
    on the contingency table); with more clusters than classes the unmatched
    clusters count as wrong (and vice versa).  Majority: each cluster maps to
    its most frequent class (Astorga 2021, Eq. 8.1, as the thesis's code
    computes it), several clusters may map to one class, so it is never
    below the one-to-one accuracy.

    Parameters
    ----------
    predicted : array_like of int, shape [N]
        Cluster of each galaxy, ``0 .. n_clusters-1``.
    labels : array_like of int, shape [N]
        True class of each galaxy, ``0 .. n_classes-1``.
    n_clusters, n_classes : int, optional
        Table sizes (default: the largest index + 1).

    Returns
    -------
    dict
        ``accuracy`` (one-to-one, float in [0, 1]) and its ``mapping``
        (cluster -> class, matched clusters); ``majority_accuracy`` and
        ``majority_mapping``; ``one_to_one_cap`` (:func:`one_to_one_cap` of the
        class counts); ``n`` (galaxies); ``contingency`` (list of lists,
        ``[n_clusters][n_classes]`` counts).
    """
    table = _table(predicted, labels, n_clusters, n_classes)
    n = int(table.sum())
    matched, mapping = _one_to_one(table)
    majority = majority_mapping(table)
    return {"accuracy": matched / n, "n": n, "mapping": mapping,
            "majority_accuracy": float(table.max(axis=1).sum() / n),
            "majority_mapping": majority,
            "one_to_one_cap": one_to_one_cap(table.sum(axis=0), table.shape[0]),
            "contingency": table.tolist()}
