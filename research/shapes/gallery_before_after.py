"""The gallery before and after a module's population of shapes: the same seeds, two modules.

Issue 94's sixth item.  Galaxies of the training population (the population measure's
catalog rows, :data:`population_shapes.SEED`) are drawn by two modules with the same seeds,
so each pair is the same network draw: the first module keeps the network's own axis
ratio, the second maps it to one drawn from its population (``docs/shapes.rst``).  Beside
the pairs, the mean ``|g|`` of each (noiseless, a 0.1" Gaussian, HSM) against the truths'
is read from the population measure's JSON, so the figure shows no number its source does
not hold.  Usage::

    python research/shapes/gallery_before_after.py \\
        --before hub:flow-vae-mock-cosmos-25.2@2.1.0 --after runs/shapes/module-2.2.0-moments \\
        --population docs/_static/shapes_population.json --out docs/_static/shapes_gallery.png
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from population_shapes import SEED  # noqa: E402


def catalog_rows(n, seed):
    """``n`` catalog rows of the population, from bright to faint."""
    from galsim_deep.data.mock_cosmos import sample_conditions

    table = sample_conditions(20 * n, seed=seed, population="cosmos-25.2")
    order = np.argsort(np.asarray(table["mag_auto"]))
    pick = order[np.round(np.linspace(0, len(order) - 1, n)).astype(int)]
    return {c: np.asarray(table[c], np.float64)[pick] for c in ("mag_auto", "flux_radius",
                                                                 "zphot")}


def mean_g_line(population, spec):
    """``mean |g| -X.X +- Y.Y%`` of a module in the population measure's JSON."""
    g, err, _ = population["results"][spec]["all"]["g"]
    return f"mean |g| {100 * g:+.1f} ± {100 * err:.1f}%"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--population", type=Path, required=True,
                        help="the population measure's JSON holding both modules")
    parser.add_argument("--galaxies", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from galsim_deep import GenerativeGalaxyModel

    population = json.loads(args.population.read_text())
    cat = catalog_rows(args.galaxies, SEED + 7)
    rows = []
    for spec in (args.before, args.after):
        model = GenerativeGalaxyModel(spec, range_policy="clip")
        rows.append((spec, model.metadata["version"],
                     np.concatenate(list(model.sample_arrays(cat, rng=SEED)))))
    fig, axes = plt.subplots(2, args.galaxies, figsize=(1.4 * args.galaxies, 3.4))
    for r, (spec, version, images) in enumerate(rows):
        for k, image in enumerate(images):
            ax = axes[r, k]
            vmax = float(np.abs(image).max()) or 1.0
            ax.imshow(np.arcsinh(np.clip(image, 0, None) / (0.02 * vmax)), origin="lower",
                      cmap="magma")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"i = {cat['mag_auto'][k]:.1f}", fontsize=8)
        axes[r, 0].set_ylabel(f"{version}\n{mean_g_line(population, spec)}", fontsize=7)
    fig.suptitle("The same seeds: the network's own axis ratios (top) and the population's "
                 "(bottom); asinh stretch", fontsize=9)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(args.out)


if __name__ == "__main__":
    main()
