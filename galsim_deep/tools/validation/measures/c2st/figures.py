"""The C2ST figures: the held-out stamps the classifier is surest are not real."""
import numpy as np

from .....core.reporting import new_figure, save_figure

__all__ = ["plot_most_fake"]


def plot_most_fake(real, other, result, path, label="generated", n=8):
    """The held-out ``other`` stamps the classifier is surest are not real, and their real twins.

    Parameters
    ----------
    real, other : ndarray [N, S, S]
        The samples given to :func:`two_sample_test`.
    result : dict
        Its output.
    path : str or Path
        PNG file.
    label : str
        Name of the ``other`` sample.
    n : int
        Columns.

    Returns
    -------
    Path
    """
    a = result["arrays"]
    order = np.argsort(-a["p_other_other"])[:n]
    rows = a["test_galaxies"][order]
    n = len(rows)
    fig, axes = new_figure(2, max(n, 1), size=(1.5, 1.7))
    for c, (g, p) in enumerate(zip(rows, a["p_other_other"][order])):
        ref = np.asarray(real[g], np.float64)
        noise = float(np.std(ref[ref < np.percentile(ref, 50)])) or 1.0
        soft = max(noise, 1e-3 * float(np.max(ref)), 1e-30)
        vmax = np.arcsinh(max(float(np.max(ref)), soft) / soft)
        for r, (img, name) in enumerate(((other[g], label), (real[g], "real"))):
            ax = axes[r, c]
            ax.imshow(np.arcsinh(np.asarray(img, np.float64) / soft), origin="lower",
                      cmap="magma", vmin=-1.0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name)
        axes[0, c].set_title(f"p={p:.3f}", fontsize=8)
    fig.suptitle(f"C2ST: held-out {label} stamps the classifier is surest are not real "
                 f"(top), and the real galaxy each was conditioned on (bottom)", fontsize=8)
    return save_figure(fig, path)
