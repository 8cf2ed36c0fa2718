"""Draw docs/_static/hierarchical_priors_curve.png and write its JSON: the hierarchical VAE's
lower priors trained alone (``hierarchical_vae.trainable: priors``) from the shipped module.

Two runs of the same command, 4,000 and 16,000 steps (``docs/hierarchical_vae.rst``, "Training
the priors alone"); the longer one's first 4,000 steps are the shorter one's, batch for batch.
Run from the repository root after them: ``python research/training_curves/hierarchical_priors_curve.py``.
Each run's ``training_log.json`` holds its logged batches (one batch of 32 every 25 steps),
drawn as logged and as medians per 2,000 steps.
"""
from _curves import plot_logged_curves

LABELS = {"kl": "KL, every latent block (nats)", "kl_top": "KL of the top latent (nats)",
          "reduced_chi2": "reduced chi2 (batch)"}


def main():
    plot_logged_curves(
        {"priors alone, 4,000 steps": "runs/hierarchical-priors",
         "priors alone, 16,000 steps": "runs/hierarchical-priors-long"},
        "hierarchical_vae", LABELS, "docs/_static/hierarchical_priors_curve",
        "hierarchical VAE: the lower priors trained alone from the shipped weights",
        "each history row: one batch of 32 stamps logged every 25 steps; medians over 2,000 "
        "steps; written by research/training_curves/hierarchical_priors_curve.py", median_every=2000)


if __name__ == "__main__":
    main()
