"""One figure of training runs' logged batches, panel per metric, and its JSON
(used by ``equivariant_curves.py`` and ``hierarchical_curves.py``)."""
import json
from pathlib import Path

import numpy as np

from galsim_deep.core.reporting import new_figure, save_figure


def plot_logged_curves(runs, section, labels, out, title, note, linear=(), median_every=None):
    """Plot each run's ``<run>/<section>/training_log.json`` history, one panel per metric.

    Parameters
    ----------
    runs : dict
        Legend label -> run folder.
    section : str
        The family's folder inside the run (``equivariant_vae``, ``hierarchical_vae``).
    labels : dict
        Metric key -> axis label, in panel order (four panels, 2 x 2, or fewer).
    out : str or Path
        Output path without suffix (``.png`` and ``.json`` are written).
    title, note : str
        The figure's title and the JSON's note.
    linear : sequence of str
        Metrics drawn on a linear axis (the others on a log axis).
    median_every : int, optional
        Also draw, and record, each metric's median over consecutive windows of this many
        steps (the logged batches are single batches: noisy).
    """
    out, keys = Path(out), tuple(labels)
    curves = {}
    for label, run in runs.items():
        log = json.loads((Path(run) / section / "training_log.json").read_text())
        rows = [{k: row[k] for k in ("step", *keys)} for row in log["history"]]
        curves[label] = {"run": str(run), "steps": log["steps"], "history": rows}
        if median_every:
            steps = np.array([r["step"] for r in rows])
            ends = np.arange(median_every, steps.max() + median_every, median_every)
            curves[label]["medians"] = [
                {"step": int(end), **{k: float(np.median([r[k] for r in rows
                                                           if end - median_every < r["step"]
                                                           <= end])) for k in keys}}
                for end in ends if np.any((steps > end - median_every) & (steps <= end))]
    fig, axes = new_figure(2, 2, figsize=(10, 6.5), layout=None)
    for ax, key in zip(axes.ravel(), keys):
        for label, curve in curves.items():
            rows = curve["history"]
            line, = ax.plot([r["step"] for r in rows], [r[key] for r in rows], lw=0.8,
                            alpha=0.6 if median_every else 1.0, label=label)
            if median_every:
                med = curve["medians"]
                ax.plot([m["step"] for m in med], [m[key] for m in med], "o-", ms=3, lw=1.4,
                        color=line.get_color(), label=f"{label}: median per {median_every} steps")
        ax.set_xlabel("step")
        ax.set_ylabel(labels[key])
        if key not in linear:
            ax.set_yscale("log")
    for ax in axes.ravel()[len(keys):]:
        ax.set_visible(False)
    handles, legend = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, legend, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    save_figure(fig, out.with_suffix(".png"))
    out.with_suffix(".json").write_text(json.dumps({"note": note, "runs": curves}, indent=1))
