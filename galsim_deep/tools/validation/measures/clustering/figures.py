"""Figures of a clustering model: generated galaxies per cluster, members, contingency.

* :func:`plot_cluster_samples` - generated galaxies, one row per cluster
  (Astorga 2021, Fig. 8.3), the same catalog entries and normal draws in
  every row;
* :func:`plot_cluster_members` - the real stamps each cluster claims most
  surely;
* :func:`plot_contingency` - clusters (or predicted classes) against true
  classes.
"""
import numpy as np

from .....core.reporting import new_figure, save_figure
from .....core.errors import InputError


__all__ = ["plot_cluster_samples", "plot_cluster_members", "plot_contingency"]


def _stretch(images, scale):
    return np.arcsinh(np.asarray(images, dtype=np.float64) / scale)


def _grid(rows, cols, size=1.1):
    fig, axes = new_figure(rows, cols, figsize=(size * cols + 1.2, size * rows + 0.6),
                           layout=None)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def plot_cluster_samples(images, path, row_labels=None, title=None):
    """Generated galaxies, one row per cluster (Astorga 2021, Fig. 8.3).

    Parameters
    ----------
    images : array_like [K, n, S, S]
        ``images[k, j]``: the ``j``-th galaxy generated in cluster ``k``; the
        same column shares one asinh stretch, so a column compares clusters
        for the same catalog entry and normal draws.
    path : str or Path
        PNG file.
    row_labels : list of str, optional
        Label of each row (default ``y = k``).
    title : str, optional

    Returns
    -------
    Path
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4:
        raise InputError(f"images must be [K, n, S, S], got shape {images.shape}")
    k, n = images.shape[:2]
    fig, axes = _grid(k, n)
    for j in range(n):
        peak = np.nanmax(images[:, j])
        scale = 0.02 * peak if peak > 0 else 1.0
        for i in range(k):
            axes[i, j].imshow(_stretch(images[i, j], scale), origin="lower", cmap="gray_r")
    for i in range(k):
        axes[i, 0].set_ylabel(row_labels[i] if row_labels else f"y = {i}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def plot_cluster_members(stamps, probabilities, path, n=8, row_labels=None):
    """The real stamps each cluster claims most surely, one row per cluster.

    Parameters
    ----------
    stamps : array_like [N, S, S]
        Observed stamps.
    probabilities : array_like [N, K]
        ``q(y | x)``.
    path : str or Path
        PNG file.
    n : int
        Stamps per row (the ``n`` highest ``q(k | x)`` among galaxies assigned
        to ``k``; blank panels when fewer are assigned).
    row_labels : list of str, optional

    Returns
    -------
    Path
    """
    stamps = np.asarray(stamps, dtype=np.float64)
    probs = np.asarray(probabilities, dtype=np.float64)
    k = probs.shape[1]
    assigned = probs.argmax(axis=1)
    fig, axes = _grid(k, n)
    for i in range(k):
        members = np.flatnonzero(assigned == i)
        members = members[np.argsort(-probs[members, i])][:n]
        for j, m in enumerate(members):
            peak = np.nanmax(stamps[m])
            axes[i, j].imshow(_stretch(stamps[m], 0.05 * peak if peak > 0 else 1.0),
                              origin="lower", cmap="gray_r")
        label = row_labels[i] if row_labels else f"y = {i}"
        axes[i, 0].set_ylabel(f"{label}\n({np.sum(assigned == i)})", fontsize=8)
    return save_figure(fig, path)


def plot_contingency(contingency, path, class_names=None, mapping=None, row_names=None,
                     row_title="cluster", majority=None):
    """Heat map of clusters (rows) against classes (columns), counts written in.

    Parameters
    ----------
    contingency : array_like [K, C]
    path : str or Path
    class_names : list of str, optional
    mapping : dict, optional
        Cluster -> class of the best one-to-one mapping; matched cells are
        framed in red.
    majority : dict, optional
        Cluster -> most frequent class; those cells get a dashed blue frame.
    row_names : list of str, optional
        Row labels (default ``y = i``).
    row_title : str
        Title of the rows' axis.

    Returns
    -------
    Path
    """
    from matplotlib.patches import Rectangle

    table = np.asarray(contingency, dtype=np.float64)
    k, c = table.shape
    fig, axes = new_figure(figsize=(1.0 + 0.8 * c, 1.0 + 0.6 * k), layout=None)
    ax = axes[0, 0]
    frac = table / np.maximum(table.sum(axis=1, keepdims=True), 1)
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(k):
        for j in range(c):
            ax.text(j, i, f"{int(table[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if frac[i, j] > 0.6 else "black")
    for i, j in (majority or {}).items():
        ax.add_patch(Rectangle((int(j) - 0.42, int(i) - 0.42), 0.84, 0.84, fill=False,
                               edgecolor="tab:cyan", linewidth=1.5, linestyle="--"))
    for i, j in (mapping or {}).items():
        ax.add_patch(Rectangle((int(j) - 0.5, int(i) - 0.5), 1, 1, fill=False,
                               edgecolor="tab:red", linewidth=2))
    ax.set_xticks(range(c))
    ax.set_xticklabels(class_names or [str(j) for j in range(c)], rotation=40, ha="right",
                       fontsize=8)
    ax.set_yticks(range(k))
    ax.set_yticklabels(row_names or [f"y = {i}" for i in range(k)], fontsize=8)
    ax.set_xlabel("true class")
    ax.set_ylabel(row_title)
    fig.tight_layout()
    return save_figure(fig, path)
