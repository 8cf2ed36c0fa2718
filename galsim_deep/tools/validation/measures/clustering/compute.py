"""How well a clustering model's clusters match morphology classes.

* :func:`~galsim_deep.core.cluster_accuracy.clustering_accuracy` (in
  :mod:`galsim_deep.core.cluster_accuracy`, which training shares) - the fraction of
  galaxies whose cluster maps to their true class, under two mappings: **majority** (each
  cluster to its most frequent class, several clusters may share a class: the accuracy of
  Astorga 2021, Eq. 8.1, as the thesis's public code computes it) and **one-to-one** (the
  best one-to-one cluster-class mapping, the Hungarian algorithm,
  :func:`scipy.optimize.linear_sum_assignment`, on the contingency table: stricter);
  beside them the best one-to-one accuracy that ``K`` *equal-weight* clusters can reach
  on the class mix (:func:`~galsim_deep.core.cluster_accuracy.one_to_one_cap`: a mixture
  prior with fixed weights ``1/K`` cannot give a class of 559 galaxies one cluster of 559
  when each holds ``N / K``), and the accuracy of random assignments with the same
  cluster sizes (:func:`~galsim_deep.core.cluster_accuracy.chance_accuracy`);
* :func:`cluster_summary` - all of them, with both mappings per magnitude quartile;
* :func:`accuracy_in_bins` - a mapping's accuracy in magnitude bins.
"""
import numpy as np

from .....core.cluster_accuracy import chance_accuracy, clustering_accuracy
from .....core.errors import InputError

__all__ = ["cluster_summary", "accuracy_in_bins"]


def cluster_summary(assigned, labels, n_clusters, n_classes=None, magnitudes=None, seed=0):
    """:func:`clustering_accuracy` with chance levels and both mappings per magnitude quartile.

    Parameters
    ----------
    assigned, labels : ndarray [N] of int
        Cluster and true class of each galaxy.
    n_clusters : int
    n_classes : int, optional
    magnitudes : ndarray [N], optional
        ``mag_auto`` (AB mag) for the quartiles.
    seed : int
        Seed of the chance permutations.

    Returns
    -------
    dict
        :func:`clustering_accuracy` plus ``chance`` and, with magnitudes,
        ``by_magnitude`` (one-to-one) and ``majority_by_magnitude``.
    """
    out = clustering_accuracy(assigned, labels, n_clusters=n_clusters, n_classes=n_classes)
    out["chance"] = chance_accuracy(assigned, labels, n_clusters, n_classes, seed=seed)
    if magnitudes is not None:
        out["by_magnitude"] = accuracy_in_bins(assigned, labels, out["mapping"], magnitudes)
        out["majority_by_magnitude"] = accuracy_in_bins(assigned, labels,
                                                        out["majority_mapping"], magnitudes)
    return out


def accuracy_in_bins(predicted, labels, mapping, values, n_bins=4):
    """Accuracy of a fixed cluster-to-class mapping in quantile bins of a catalog column.

    With ``values`` the magnitudes (AB mag), this shows how the clustering
    depends on the signal-to-noise ratio: knots and arms of faint galaxies
    are lost in the noise.

    Parameters
    ----------
    predicted, labels : array_like of int, shape [N]
        Cluster and true class of each galaxy.
    mapping : dict of int -> int
        Cluster -> class (from :func:`clustering_accuracy`); unmapped clusters
        count as wrong.
    values : array_like, shape [N]
        The column to bin (NaN values are left out).
    n_bins : int
        Quantile bins.

    Returns
    -------
    dict
        ``edges`` (n_bins + 1), ``count`` and ``accuracy`` per bin.
    """
    predicted = np.asarray(predicted).ravel()
    labels = np.asarray(labels).ravel()
    values = np.asarray(values, dtype=np.float64).ravel()
    if not predicted.shape == labels.shape == values.shape:
        raise InputError(f"predicted, labels and values must describe the same galaxies, got "
                         f"{predicted.size}, {labels.size} and {values.size} values")
    if int(n_bins) < 1:
        raise InputError(f"n_bins must be >= 1, got {n_bins}")
    ok = np.isfinite(values)
    if not ok.any():
        raise InputError("no finite values to bin")
    correct = np.array([mapping.get(int(y), -1) == int(c) for y, c in zip(predicted, labels)])
    edges = np.quantile(values[ok], np.linspace(0.0, 1.0, int(n_bins) + 1))
    which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, int(n_bins) - 1)
    count, accuracy = [], []
    for b in range(int(n_bins)):
        sel = ok & (which == b)
        count.append(int(sel.sum()))
        accuracy.append(float(correct[sel].mean()) if sel.any() else None)
    return {"edges": edges.tolist(), "count": count, "accuracy": accuracy}
