"""Draw docs/_static/hierarchical_curves.png and write its JSON: the hierarchical VAE's full
run (``galsim-deep model train hierarchical-mock-cosmos-25.2-64 --with-flow``, two legs).

Run from the repository root after the run: ``python research/training_curves/hierarchical_curves.py``.
The run's ``training_log.json`` holds its logged batches (one batch of 32 every 25 steps),
drawn as logged and as medians per 250 steps.
"""
from _curves import plot_logged_curves

LABELS = {"reduced_chi2": "reduced chi2 (batch)", "kl": "KL, every latent block (nats)",
          "kl_top": "KL of the top latent, the flow's code (nats)"}


def main():
    plot_logged_curves(
        {"hierarchical-mock-cosmos-25.2-64": "runs/hierarchical-mock-cosmos-25.2-64"},
        "hierarchical_vae", LABELS, "docs/_static/hierarchical_curves",
        "hierarchical VAE (VDVAE, width 32) on mock-COSMOS: logged batches",
        "each history row: one batch of 32 stamps logged every 25 steps; medians over 250 "
        "steps; written by research/training_curves/hierarchical_curves.py", median_every=250)


if __name__ == "__main__":
    main()
