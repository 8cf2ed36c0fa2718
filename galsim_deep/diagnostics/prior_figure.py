"""The prior table's figure (:func:`~galsim_deep.diagnostics.prior_table.write_prior_table`
writes it as ``priors.png``): per row, the classifier test and the mean ``|g|`` against the
truth's, per magnitude bin."""
import numpy as np

from galsim_deep.core.files import atomic_path


def _values(entries, key):
    """``entry[key]`` of each entry as floats, NaN where JSON holds null."""
    return np.array([np.nan if e[key] is None else e[key] for e in entries], float)


#: The reference rows' line colours in the figure (the candidates take tab20's).
_REFERENCE_GREYS = {"truth": "0.1", "truth-stamps": "0.4", "sersic": "0.65"}


def plot_prior_table(rows, path, view):
    """Two panels: the classifier test in ``view`` per magnitude bin, and the mean ``|g|``
    against the truth's per bin, one line per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = list(rows[0]["shapes"]["g"]["bins"])
    x = np.arange(len(bins))
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    # One colour and marker per row, the same in both panels (the default colour cycle
    # repeats after ten rows); the references are grey and dashed.
    tab20 = plt.get_cmap("tab20").colors  # pairs dark, light; 14 and 15 are greys
    colours = [tab20[i] for i in range(0, 20, 2) if i != 14] + \
        [tab20[i] for i in range(1, 20, 2) if i != 15]
    markers = "osD^vP*Xph"
    for k, r in enumerate(rows):
        dx = (k - len(rows) / 2) * 0.04
        grey = _REFERENCE_GREYS.get(r["name"])
        style = dict(capsize=2, marker=markers[k % len(markers)], ls="-" if grey is None
                     else "--", color=grey or colours[k % len(colours)])
        test = r["views"].get(view, {}).get("generated")
        if test is not None:
            axes[0].errorbar(x + dx, _values(test["bins"], "accuracy"),
                             _values(test["bins"], "error"), label=r["label"], **style)
        g = [r["shapes"]["g"]["bins"][b] for b in bins]
        axes[1].errorbar(x + dx, 100 * _values(g, "ratio"), 100 * _values(g, "error"),
                         **style)
    axes[0].axhline(0.5, color="k", lw=0.5)
    axes[0].set_ylabel(f"classifier accuracy, {view} (0.5: not told apart)")
    axes[1].axhline(0, color="k", lw=0.5)
    axes[1].set_ylabel("mean |g| against the truth's (%)")
    for ax in axes:
        ax.set_xticks(x, bins)
        ax.set_xlabel("mag_auto")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.025 * ((len(rows) + 2) // 3), 1, 1))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
