"""The survey views' figure, ``survey_views.png``: each test's accuracy in each view."""
import numpy as np

from .compute import TESTS
from .....core.reporting import new_figure, save_figure

__all__ = ["plot_survey_views"]


def plot_survey_views(section, path):
    """Accuracy of each test in each view (overall), with binomial errors."""
    names = list(section["views"])
    tests = list(TESTS) + list(section["dilations"])
    fig, axes = new_figure(1, 1, size=(max(4.0, 1.3 * len(names) + 1.5), 3.2))
    ax = axes[0, 0]
    width = 0.8 / len(tests)
    for j, test in enumerate(tests):
        acc = [section["views"][v]["tests"][test]["accuracy"] for v in names]
        err = [section["views"][v]["tests"][test]["error"] for v in names]
        x = np.arange(len(names)) + (j - (len(tests) - 1) / 2) * width
        ax.errorbar(x, acc, yerr=err, fmt="o", ms=4, capsize=2, label=test)
    ax.axhline(0.5, color="gray", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names, rotation=20, fontsize=8)
    ax.set_ylabel("C2ST accuracy against the truth")
    ax.set_ylim(0.4, 1.02)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)
