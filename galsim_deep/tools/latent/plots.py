"""PNG figures of the latent-space tools (matplotlib, Agg backend, atomic writes).

* :func:`plot_stamp_rows` - rows of stamps with captions (the query and its
  neighbours for ``galsim-deep latent similar``, the least and most likely galaxies
  for ``galsim-deep latent anomalies``);
* :func:`plot_confusion`, :func:`plot_roc`, :func:`plot_precision` - the
  figures of ``galsim-deep validation latent``.

Stamps are shown with an ``arcsinh`` stretch scaled by each stamp's noise (as
``galsim-deep dataset show`` does), so faint structure and bright cores are
both visible, from -0.5 to the stamp's maximum.
"""
import numpy as np

from ...core.reporting import new_figure, save_figure

__all__ = ["plot_stamp_rows", "plot_confusion", "plot_roc", "plot_precision"]


def _noise_sigma(stamp):
    """Robust noise level of a stamp: 1.4826 x MAD of its border pixels."""
    border = np.concatenate([stamp[:3].ravel(), stamp[-3:].ravel(), stamp[3:-3, :3].ravel(),
                             stamp[3:-3, -3:].ravel()])
    mad = np.median(np.abs(border - np.median(border)))
    return float(1.4826 * mad) or float(np.std(stamp)) or 1.0


def plot_stamp_rows(rows, out, title=None, dpi=90):
    """Write a PNG of labelled rows of stamps.

    Parameters
    ----------
    rows : list of (str, list of (ndarray [S, S], str))
        Each row: its label and its panels (stamp, caption).
    out : str or Path
        PNG file (written atomically).
    title : str, optional
    dpi : int

    Returns
    -------
    Path
    """
    n_cols = max(len(panels) for _, panels in rows)
    fig, axes = new_figure(len(rows), n_cols, layout=None,
                           figsize=(1.45 * n_cols + 0.4, 1.7 * len(rows) + 0.5))
    for ax in axes.ravel():
        ax.set_axis_off()
    for r, (label, panels) in enumerate(rows):
        for c, (stamp, caption) in enumerate(panels):
            ax = axes[r, c]
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            shown = np.arcsinh(np.asarray(stamp, float) / (2.0 * _noise_sigma(stamp)))
            # Scaled to the stamp's maximum (the arcsinh keeps faint structure visible), so a
            # hot pixel stands out of the noise; nearest-pixel drawing keeps it one pixel.
            ax.imshow(shown, origin="lower", cmap="gray_r", vmin=-0.5,
                      vmax=max(float(shown.max()), 0.5), interpolation="nearest")
            ax.set_title(caption, fontsize=6, loc="left")
        axes[r, 0].set_ylabel(label, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=8.5)
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.01,
                        top=1 - 0.8 / fig.get_figheight(), wspace=0.06, hspace=0.55)
    return save_figure(fig, out, dpi)


def plot_confusion(confusion, names, out, title=None, dpi=100):
    """Write a PNG of a confusion matrix (rows: true class, columns: predicted).

    Parameters
    ----------
    confusion : array_like [K, K] of int
    names : list of str
        Class names.
    out : str or Path
    title : str, optional
    dpi : int
    """
    m = np.asarray(confusion, dtype=float)
    frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, axes = new_figure(figsize=(1.0 + 0.75 * len(names), 0.8 + 0.65 * len(names)),
                           layout="tight")
    ax = axes[0, 0]
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if frac[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    if title:
        ax.set_title(title, fontsize=8)
    return save_figure(fig, out, dpi)


def plot_roc(curves, out, title=None, dpi=100):
    """Write a PNG of ROC curves.

    Parameters
    ----------
    curves : dict of str -> (scores [N], is_outlier [N])
        One curve per entry (label -> anomaly scores, truth); the AUROC goes in
        the legend.
    out : str or Path
    title : str, optional
    dpi : int
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, axes = new_figure(figsize=(4.2, 4.0), layout="tight")
    ax = axes[0, 0]
    for label, (scores, truth) in curves.items():
        fpr, tpr, _ = roc_curve(truth, scores)
        ax.plot(fpr, tpr, lw=1.2, label=f"{label} (AUROC {roc_auc_score(truth, scores):.3f})")
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--", label="chance")
    ax.set_xlabel("false-positive rate (inliers flagged)", fontsize=8)
    ax.set_ylabel("true-positive rate (outliers flagged)", fontsize=8)
    ax.legend(fontsize=6.5, loc="lower right")
    if title:
        ax.set_title(title, fontsize=8)
    return save_figure(fig, out, dpi)


def plot_precision(precision, chance, out, k=10, title=None, dpi=100):
    """Write a PNG of precision@k by class beside the chance level.

    Parameters
    ----------
    precision : dict of str -> dict of str -> float
        Metric name (e.g. 'cosine') -> class name -> precision@k.
    chance : dict of str -> float
        Class name -> precision of random neighbours.
    out : str or Path
    k : int
    title : str, optional
    dpi : int
    """
    names = list(chance)
    x = np.arange(len(names))
    width = 0.8 / (len(precision) + 1)
    fig, axes = new_figure(figsize=(1.2 + 0.8 * len(names), 3.2), layout="tight")
    ax = axes[0, 0]
    for i, (metric, values) in enumerate(precision.items()):
        ax.bar(x + i * width, [values[n] for n in names], width, label=metric)
    ax.bar(x + len(precision) * width, [chance[n] for n in names], width, color="0.7",
           label="chance")
    ax.set_xticks(x + 0.4 - width / 2, names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(f"precision@{k}", fontsize=8)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=8)
    return save_figure(fig, out, dpi)
