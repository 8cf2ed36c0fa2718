"""
Fine-tune a shipped model on your own stamps
============================================

``--init-from`` starts a new training run from an exported module's weights
(``hub:NAME``, a module directory or archive) instead of random ones (a module whose
decoder is a distilled student, as the shipped default's, starts it from its teacher);
the run then continues on your dataset, which must have the module's stamp size and
pixel scale.  The recipe is the module's own (its metadata names it), with
fewer steps::

    galsim-deep dataset build --source mock-cosmos --n 120 --stamp-size 64 \\
        --pixel-scale 0.03 --seed 5 --out data/mine.h5
    galsim-deep model train mock-cosmos-64 --init-from hub:flow-vae-mock-cosmos-64 \\
        --set dataset.path=data/mine.h5 --set output_dir=runs/mine \\
        --set vae.steps=200 --set flow.steps=500 --with-flow
    galsim-deep hub export mock-cosmos-64 --set output_dir=runs/mine \\
        --name my-model --version 0.1.0 --out modules/my-model

The ``vae`` section is the Flow-VAE family's; a module of another family is tuned
through its own section (``equivariant_vae.steps`` for the shipped default, whose
family is the equivariant VAE), as below.  Here a few steps only, to show the chain
(about a minute): use hundreds of steps on thousands of your stamps for a real
fine-tuning.  The export here
leaves out the module's portable (ONNX) copy (``--no-portable``), which takes
most of an export's time; without it the module samples with TensorFlow, and
``galsim-deep hub portable modules/my-model`` adds the copy later.

.. image:: /_static/fine_tune.png
   :alt: five galaxies of the shipped default beside the same five of the fine-tuned module

The documentation shows this figure rather than running the script at every build (it
trains and exports the default's own network, about a minute and a half on two cores):
``make example-figures`` runs it and writes ``docs/_static/fine_tune.png``, and ``make
test-all`` runs it as a test.  The fine-tuned module draws its galaxies with the network's
own axis ratios: the shipped default's population of axis ratios (its ``shape_prior``,
:doc:`/shapes`) is not part of a training run, and ``galsim-deep hub shape-prior`` adds
it to the exported module.
"""
import os
from pathlib import Path

import numpy as np

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core import reporting
from galsim_deep.cli import main as galsim_deep
from galsim_deep.data.hub import DEFAULT_MODEL
from galsim_deep.training.families import get_family

OUT = Path(os.environ.get("GALSIM_DEEP_EXAMPLES_OUT", "example_output"))
shipped = GenerativeGalaxyModel(DEFAULT_MODEL)
recipe = shipped.metadata["provenance"]["recipe"]
# the recipe's section of the network's settings is its family's (``vae`` for a Flow-VAE,
# ``equivariant_vae`` for the equivariant VAE, ...)
section = get_family(shipped.metadata["family"]).section
print(f"{DEFAULT_MODEL} was trained with recipe {recipe} (family {shipped.metadata['family']})")

# %%
# Your stamps, in the module's geometry
# -------------------------------------
# (mock galaxies here; ``galsim-deep dataset build --source cosmos`` makes real ones)
dataset = OUT / "data" / f"mock-{shipped.stamp_size}-{shipped.pixel_scale}-120.h5"
if not dataset.exists():
    assert galsim_deep(["dataset", "build", "--source", "mock-cosmos", "--n", "120",
                        "--stamp-size", str(shipped.stamp_size),
                        "--pixel-scale", str(shipped.pixel_scale), "--seed", "5",
                        "--processes", "1",  # small: no worker pool, so it runs as a plain script
                        "--out", str(dataset), "--quiet"]) == 0

# %%
# Fine-tune the autoencoder and its latent flow
# ---------------------------------------------
run = OUT / "runs" / f"fine-tune-{recipe}"  # a run folder per recipe: a new default, a new run
overrides = ["--set", f"dataset.path={dataset}", "--set", f"output_dir={run}",
             "--set", f"{section}.steps=4", "--set", f"{section}.batch_size=8",
             "--set", f"{section}.checkpoint_every=4", "--set", f"{section}.summary_every=2",
             "--set", "flow.steps=20", "--set", "flow.batch_size=32",
             "--set", "flow.checkpoint_every=20", "--set", "flow.summary_every=10",
             # the flow fitted to the encoder's codes as they are (the recipe refines each
             # by 10 MAP steps first): a shorter example
             "--set", "flow.refine_steps=0"]
assert galsim_deep(["model", "train", recipe, "--init-from", DEFAULT_MODEL, *overrides,
                    "--with-flow", "--quiet"]) == 0
module = OUT / "modules" / "fine-tuned"
assert galsim_deep(["hub", "export", recipe, *overrides, "--name", "my-fine-tuned",
                    "--version", "0.1.0", "--out", str(module), "--overwrite",
                    "--no-portable"]) == 0

# %%
# Before and after, from the same seed
# ------------------------------------
tuned = GenerativeGalaxyModel(module)
mean = {c["name"]: c["mean"] for c in shipped.metadata["conditions"]}
cat = {name: np.full(5, value) for name, value in mean.items()}
rows = {"shipped": np.concatenate(list(shipped.sample_arrays(cat, rng=1))),
        "fine-tuned": np.concatenate(list(tuned.sample_arrays(cat, rng=1,
                                                              range_policy="clip")))}
fig, axes = reporting.new_figure(2, 5, size=(1.5, 1.6))
for i, (label, images) in enumerate(rows.items()):
    for j, image in enumerate(images):
        axes[i, j].imshow(np.arcsinh(image / (0.02 * image.max())), origin="lower",
                          cmap="magma")
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
    axes[i, 0].set_ylabel(label, fontsize=8)
reporting.save_figure(fig, OUT / "fine_tune.png")
