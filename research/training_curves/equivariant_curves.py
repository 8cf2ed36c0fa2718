"""Draw docs/_static/equivariant_curves.png and write its JSON: the equivariant VAE's full
runs, the alternating classifier steps (one per 10 VAE steps) against the joint objective.

Run from the repository root after the runs: ``python research/training_curves/equivariant_curves.py``.
Each run's ``training_log.json`` holds its logged batches (every 25 steps, one batch of 32
and one labelled batch of 32); the curves are those rows as logged, not smoothed.
"""
from _curves import plot_logged_curves

RUNS = {
    "alternating, a classifier step per 10 VAE steps": "runs/equivariant-class10-full",
    "joint objective (the recipe: classifier_weight 3000)": "runs/equivariant-mock-cosmos-25.2-64",
}
LABELS = {"reduced_chi2": "reduced chi2 (batch)", "kl": "KL (nats)",
          "bottleneck_l2": "bottleneck L2", "class_accuracy": "labelled batch's accuracy"}


def main():
    plot_logged_curves(
        RUNS, "equivariant_vae", LABELS, "docs/_static/equivariant_curves",
        "equivariant-mock-cosmos-25.2-64 from 1.1.1's weights: logged batches",
        "each row: one batch of 32 stamps and one labelled batch of 32, logged every 25 "
        "steps; written by research/training_curves/equivariant_curves.py", linear=("class_accuracy",))


if __name__ == "__main__":
    main()
