"""
Similar galaxies and anomalies in latent space
==============================================

A Flow-VAE module can *encode* observed stamps (PSF-convolved, noisy) into its
latent space.  Neighbours there are galaxies of similar morphology, and the
latent flow's density ``p(z | conditions)`` ranks galaxies from typical to
anomalous.  The three commands of this example::

    galsim-deep latent encode DATASET --out codes.h5
    galsim-deep latent similar 7 --codes codes.h5 -k 6 --out similar.png
    galsim-deep latent anomalies --codes codes.h5 -n 6 --out anomalies.png

run here on 120 mock-COSMOS stamps built for the default model (its stamp
size and pixel scale); any dataset in the same geometry works, real COSMOS
stamps included (``galsim-deep dataset build --source cosmos``).
"""
import os
from pathlib import Path

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.cli import main as galsim_deep
from galsim_deep.data.hub import DEFAULT_MODEL

OUT = Path(os.environ.get("GALSIM_DEEP_EXAMPLES_OUT", "example_output"))
model = GenerativeGalaxyModel(DEFAULT_MODEL)

# %%
# A small stamp dataset in the model's geometry
# ---------------------------------------------
# (built once; the mock galaxies carry morphology labels, shown in the figures)
dataset = OUT / "data" / f"mock-{model.stamp_size}-{model.pixel_scale}-120.h5"
if not dataset.exists():
    assert galsim_deep(["dataset", "build", "--source", "mock-cosmos", "--n", "120",
                        "--stamp-size", str(model.stamp_size),
                        "--pixel-scale", str(model.pixel_scale), "--seed", "5",
                        "--processes", "1",  # small: no worker pool, so it runs as a plain script
                        "--out", str(dataset), "--quiet"]) == 0

# %%
# Encode it
# ---------
codes = OUT / "codes.h5"
assert galsim_deep(["latent", "encode", str(dataset), "--model", DEFAULT_MODEL,
                    "--out", str(codes), "--overwrite", "--quiet"]) == 0

# %%
# The six nearest neighbours of galaxy 7
# --------------------------------------
assert galsim_deep(["latent", "similar", "7", "--codes", str(codes), "-k", "6",
                    "--out", str(OUT / "similar.png")]) == 0

# %%
# The most anomalous and the most typical galaxies
# ------------------------------------------------
# ``-log p(z | conditions)`` under the latent flow: mergers, pairs and
# disturbed galaxies come first, smooth spheroids and disks last.
assert galsim_deep(["latent", "anomalies", "--codes", str(codes), "-n", "6",
                    "--out", str(OUT / "anomalies.png")]) == 0
