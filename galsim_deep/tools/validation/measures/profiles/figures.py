"""The profiles measure's figure, ``radial_profiles.png``: normalised radial profiles per class."""
import numpy as np

from .compute import radial_profiles
from .....core.reporting import new_figure, save_figure

__all__ = ["plot_radial_profiles"]


_COLORS = {"truth": "black", "generated": "tab:blue", "twin": "tab:green",
           "parametric": "tab:orange", "exponential": "tab:olive",
           "de Vaucouleurs": "tab:brown"}


def plot_radial_profiles(images, path, labels=None, class_names=(), pixel_scale=None,
                         samples=("truth", "generated", "twin", "parametric")):
    """Median and 16-84% spread of the normalised radial profiles, per class.

    Parameters
    ----------
    images : dict of str -> ndarray [N, S, S]
    path : str or Path
        PNG file.
    labels : ndarray [N], optional
        Class of each galaxy (one panel per class, and one for all).
    class_names : sequence of str
    pixel_scale : float, optional
        arcsec per pixel (for the axis label).
    samples : sequence of str
        Samples drawn (those present).

    Returns
    -------
    Path
    """
    groups = [("all galaxies", None)]
    if labels is not None:
        labels = np.asarray(labels)
        groups += [(c, labels == k) for k, c in enumerate(class_names) if np.any(labels == k)]
    ncol = min(4, len(groups))
    nrow = int(np.ceil(len(groups) / ncol))
    fig, axes = new_figure(nrow, ncol, size=(3.4, 2.9))
    profiles = {n: radial_profiles(images[n]) for n in samples if n in images}
    for ax, (title, sel) in zip(axes.ravel(), groups):
        for name, (radii, prof) in profiles.items():
            p = prof if sel is None else prof[sel]
            p = np.where(p > 0, p, np.nan)
            with np.errstate(all="ignore"):
                med = np.nanmedian(p, axis=0)
                lo, hi = np.nanpercentile(p, [16, 84], axis=0)
            color = _COLORS.get(name, None)
            ax.plot(radii, med, color=color, lw=1.4, label=name)
            ax.fill_between(radii, lo, hi, color=color, alpha=0.15, lw=0)
        ax.set_yscale("log")
        ax.set_title(f"{title} ({len(p)})", fontsize=9)
        ax.set_xlabel("radius [pixel]" + (f" ({pixel_scale:g}\" each)" if pixel_scale else ""))
        ax.set_ylabel("mean flux per pixel / total")
    for ax in axes.ravel()[len(groups):]:
        ax.set_axis_off()
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Radial profiles of the unconvolved stamps (median, 16-84% band)", fontsize=9)
    return save_figure(fig, path)
