"""
Train and export the tiny recipe
================================

The whole chain on a CPU in about a minute: build a dataset, train a
Flow-VAE, train its latent flow, export a module, sample it.  ``tiny`` is a
smoke-test recipe (``training/shipped_recipes/tiny.yaml``: 32 x 32 stamps, a handful of
steps), so the galaxies it makes are blobs; the shipped recipes
(``galsim-deep model train --help`` lists them) train real models the same
way.  On the command line::

    galsim-deep dataset build --source mock-cosmos --n 24 --stamp-size 32 \\
        --pixel-scale 0.03 --seed 1 --out data/tiny.h5
    galsim-deep model train tiny --with-flow
    galsim-deep hub export tiny --out modules/tiny --archive

Each ``--set KEY=VALUE`` overrides a key of the recipe; here the dataset and
output folders.

.. image:: /_static/tiny_samples.png
   :alt: four blobs sampled from the exported tiny module

The documentation shows this figure rather than running the script at every build (the
test suite trains, exports and samples the same recipe): ``make example-figures`` runs it
and writes ``docs/_static/tiny_samples.png``, and ``make test-all`` runs it as a test.
"""
import os
import shutil
from pathlib import Path

import numpy as np

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core import reporting
from galsim_deep.cli import main as galsim_deep

OUT = Path(os.environ.get("GALSIM_DEEP_EXAMPLES_OUT", "example_output"))
dataset = OUT / "data" / "tiny.h5"
run = OUT / "runs" / "tiny"
module = OUT / "modules" / "tiny"
overrides = ["--set", f"dataset.path={dataset}", "--set", f"output_dir={run}"]

# A fresh start (an earlier run in the same folder would be resumed).
for folder in (run, module):
    shutil.rmtree(folder, ignore_errors=True)

# %%
# The dataset: 24 mock-COSMOS galaxies, noisy and PSF-convolved
# -------------------------------------------------------------
assert galsim_deep(["dataset", "build", "--source", "mock-cosmos", "--n", "24",
                    "--stamp-size", "32", "--pixel-scale", "0.03", "--seed", "1",
                    "--processes", "1",  # small: no worker pool, so it runs as a plain script
                    "--out", str(dataset), "--overwrite", "--quiet"]) == 0

# %%
# Train the Flow-VAE, then its latent flow
# ----------------------------------------
# Running the same command again would resume from the latest checkpoint (an
# interrupted run continues where it stopped).
assert galsim_deep(["model", "train", "tiny", *overrides, "--with-flow", "--quiet"]) == 0

# %%
# Export the module and sample it
# -------------------------------
assert galsim_deep(["hub", "export", "tiny", *overrides, "--out", str(module),
                    "--overwrite"]) == 0
model = GenerativeGalaxyModel(module)
print(model)
cat = {"mag_auto": [21.0, 22.0, 23.0, 23.5], "flux_radius": [8.0, 6.0, 5.0, 4.0],
       "zphot": [0.5, 0.6, 0.7, 0.8]}
images = np.concatenate(list(model.sample_arrays(cat, rng=3, range_policy="clip")))
fig, axes = reporting.new_figure(1, len(images), size=(1.6, 1.8))
for ax, image, mag in zip(axes[0], images, cat["mag_auto"]):
    ax.imshow(image, origin="lower", cmap="magma")
    ax.set_title(f"mag_auto {mag}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("samples of the exported tiny module (a smoke test, not a real model)",
             fontsize=8)
reporting.save_figure(fig, OUT / "tiny_samples.png")
