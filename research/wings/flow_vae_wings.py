"""Draw docs/_static/flow_vae_wings.png: the faint wings of Flow-VAE reconstructions.

Each row is one test galaxy of ``data/mock-cosmos-25.2-64.h5``; the columns are
its observed stamp, its noiseless unconvolved truth and the unconvolved
reconstructions (``decode(encode(stamp))``) of the fine-tuning runs of
``docs/flow_vae_notes.rst`` ("Smoother wings by fine-tuning"), all in units of the
stamp's noise standard deviation on one logarithmic stretch, so the light far
below the noise, which the likelihood cannot see, shows.

Run from the repository root after the runs of that section::

    python research/wings/flow_vae_wings.py [OUT.png]
"""
import sys
from pathlib import Path

import numpy as np

from galsim_deep.core.reporting import new_figure, save_figure
from galsim_deep.data.reader import StampDataset
from galsim_deep.tools.validation.measures.reconstruction.compute import mock_split_arrays
from galsim_deep.training.families import family_of
from galsim_deep.training.recipes import load_recipe

#: (column title, output_dir, recipe overrides, step) of each reconstruction.
RUNS = [
    ("1.1.0 (l1 0.1)", "runs/shipped-1.1.0", {}, 0),
    ("l1 0", "runs/lr3-l1off", {"vae.l1_factor": 0.0}, 1000),
    ("l1 0 + log_smooth 0.3", "runs/lr3-l1off-logsmooth0.3",
     {"vae.l1_factor": 0.0, "vae.log_smooth_factor": 0.3}, 1000),
]
RECIPE = "mock-cosmos-25.2-64"
#: The shown galaxies: the first test galaxies of each mag_auto range (AB mag).
MAG_RANGES = [(18.0, 21.0), (18.0, 21.0), (21.0, 22.5), (21.0, 22.5), (22.5, 24.0)]
N = 300
LOG_RANGE = (-3.0, 1.5)  # log10(flux per pixel / noise sigma)


def reconstructions(output_dir, overrides, step, stamps, psfs):
    """Unconvolved reconstructions of a run's checkpoint, flux per pixel."""
    recipe = load_recipe(RECIPE, dict(overrides, output_dir=output_dir))
    family = family_of(recipe)
    model, _ = family.restore_for_sampling(recipe, family.checkpoint_dir(recipe) / f"ckpt-{step}")
    return model.decode(model.encode(stamps, psfs)[0]).numpy()


def main(out=Path("docs/_static/flow_vae_wings.png")):
    recipe = load_recipe(RECIPE, {})
    arrays, _ = mock_split_arrays(recipe["dataset"]["path"], "test",
                                  ["stamp", "psf", "noise_variance", "truth", "conditions"], N)
    with StampDataset(recipe["dataset"]["path"]) as data:
        mag = arrays["conditions"][:, list(data.condition_names).index("mag_auto")]
    rows, used = [], set()
    for lo, hi in MAG_RANGES:
        i = next(int(i) for i in np.flatnonzero((mag >= lo) & (mag < hi)) if i not in used)
        used.add(i)
        rows.append(i)
    stamps, psfs = arrays["stamp"][rows], arrays["psf"][rows]
    sigma = np.sqrt(arrays["noise_variance"][rows])[:, None, None]
    columns = [("observed (asinh)", None), ("truth", arrays["truth"][rows])]
    columns += [(title, reconstructions(d, o, s, stamps, psfs)) for title, d, o, s in RUNS]
    fig, axes = new_figure(len(rows), len(columns), size=(1.9, 1.9))
    for c, (title, images) in enumerate(columns):
        for r in range(len(rows)):
            ax = axes[r, c]
            if images is None:
                ax.imshow(np.arcsinh(stamps[r] / sigma[r]), cmap="gray", origin="lower")
            else:
                shown = ax.imshow(np.log10(np.maximum(images[r] / sigma[r], 10 ** LOG_RANGE[0])),
                                  vmin=LOG_RANGE[0], vmax=LOG_RANGE[1], cmap="magma",
                                  origin="lower")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
            if c == 0:
                ax.set_ylabel(f"mag_auto {mag[rows[r]]:.1f}", fontsize=8)
    fig.colorbar(shown, ax=axes[:, -1], shrink=0.6,
                 label="log10(flux per pixel / noise sigma)")
    save_figure(fig, out, dpi=100)
    return out


if __name__ == "__main__":
    print(main(*map(Path, sys.argv[1:])))
