"""The isotropy measure's figure, ``isotropy.png``: mean ellipticities with their errors."""
import numpy as np

from .compute import THRESHOLD
from .....core.reporting import new_figure, save_figure

__all__ = ["plot_isotropy"]


_STYLE = {"generated (rotated)": ("tab:blue", "o"), "generated (unrotated)": ("tab:purple", "s"),
          "real": ("black", "D"), "parametric": ("tab:orange", "^"), "twin": ("tab:green", "v")}


def plot_isotropy(summaries, path, threshold=THRESHOLD, components=("e1", "e2")):
    """Mean ``e1`` and ``e2`` with 1-sigma errors: overall and per bin of each condition.

    Parameters
    ----------
    summaries : dict of str -> dict
        Sample label -> :func:`isotropy_summary`.
    path : str or Path
        PNG file.
    threshold : float
        Drawn as a grey band (the 2e-3 tolerance).
    components : tuple of str

    Returns
    -------
    Path
    """
    columns = list(dict.fromkeys(c for s in summaries.values() for c in s["bins"]))
    fig, axes = new_figure(len(components), 1 + len(columns), size=(3.4, 2.8))
    labels = list(summaries)
    for r, comp in enumerate(components):
        ax = axes[r, 0]
        for k, label in enumerate(labels):
            v = summaries[label]["overall"][comp]
            if v["mean"] is None:
                continue
            color, marker = _STYLE.get(label, ("tab:gray", "o"))
            ax.errorbar([k], [v["mean"]], yerr=[v["error"]], fmt=marker, color=color,
                        capsize=3, label=f"{label} (n={v['n']})")
        ax.axhspan(-threshold, threshold, color="0.85", zorder=0)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([lab.replace(" (", "\n(") for lab in labels], fontsize=7)
        ax.set_ylabel(f"mean {comp}")
        if r == 0:
            ax.set_title("all galaxies", fontsize=9)
        for c, col in enumerate(columns):
            ax = axes[r, c + 1]
            for k, label in enumerate(labels):
                b = summaries[label]["bins"].get(col)
                if not b:
                    continue
                x = np.array([np.nan if v is None else v for v in b["center"]])
                y = np.array([np.nan if v["mean"] is None else v["mean"] for v in b[comp]])
                e = np.array([np.nan if v["error"] is None else v["error"] for v in b[comp]])
                color, marker = _STYLE.get(label, ("tab:gray", "o"))
                jitter = (k - len(labels) / 2) * 0.01 * (np.nanmax(x) - np.nanmin(x) + 1e-9)
                ax.errorbar(x + jitter, y, yerr=e, fmt=marker + "-", color=color, ms=4,
                            capsize=2, lw=0.8)
            ax.axhspan(-threshold, threshold, color="0.85", zorder=0)
            ax.axhline(0, color="k", lw=0.8)
            ax.set_xlabel(col)
            if r == 0:
                ax.set_title(f"quartiles of {col}", fontsize=9)
    axes[0, 0].legend(fontsize=6, loc="best")
    fig.suptitle(f"Isotropy: mean HSM distortion through a round PSF (grey: |mean| < "
                 f"{threshold:g}; error bars 1 sigma)", fontsize=9)
    return save_figure(fig, path)
