"""Draw docs/_static/equivariant_curves.png and write its JSON: the equivariant VAE's full
runs, the alternating classifier steps (one per 10 VAE steps) against the joint objective.

Run from the repository root after the runs: ``python docs/figures/equivariant_curves.py``.
Each run's ``training_log.json`` holds its logged batches (every 25 steps, one batch of 32
and one labelled batch of 32); the curves are those rows as logged, not smoothed.
"""
import json
from pathlib import Path

from galsim_deep.core.reporting import new_figure, save_figure

RUNS = {
    "alternating, a classifier step per 10 VAE steps": "runs/equivariant-class10-full",
    "joint objective (the recipe: classifier_weight 3000)": "runs/equivariant-mock-cosmos-25.2-64",
}
KEYS = ("reduced_chi2", "kl", "bottleneck_l2", "class_accuracy")
LABELS = {"reduced_chi2": "reduced chi2 (batch)", "kl": "KL (nats)",
          "bottleneck_l2": "bottleneck L2", "class_accuracy": "labelled batch's accuracy"}
OUT = Path("docs/_static/equivariant_curves")


def main():
    curves = {}
    for label, run in RUNS.items():
        log = json.loads((Path(run) / "equivariant_vae" / "training_log.json").read_text())
        curves[label] = {"run": run, "steps": log["steps"],
                         "history": [{k: row[k] for k in ("step", *KEYS)}
                                     for row in log["history"]]}
    fig, axes = new_figure(2, 2, figsize=(10, 6.5), layout=None)
    for ax, key in zip(axes.ravel(), KEYS):
        for label, curve in curves.items():
            rows = curve["history"]
            ax.plot([r["step"] for r in rows], [r[key] for r in rows], lw=0.9, label=label)
        ax.set_xlabel("step")
        ax.set_ylabel(LABELS[key])
        if key != "class_accuracy":
            ax.set_yscale("log")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("equivariant-mock-cosmos-25.2-64 from 1.1.1's weights: logged batches",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    save_figure(fig, OUT.with_suffix(".png"))
    OUT.with_suffix(".json").write_text(json.dumps(
        {"note": "each row: one batch of 32 stamps and one labelled batch of 32, logged "
                 "every 25 steps; written by docs/figures/equivariant_curves.py",
         "runs": curves}, indent=1))


if __name__ == "__main__":
    main()
