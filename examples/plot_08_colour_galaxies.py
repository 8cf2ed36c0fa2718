"""
Colour galaxies through any survey's bandpasses
===============================================

A *chromatic* module draws each galaxy as a few component images, each with
its own spectral energy distribution: a red bulge in a bluer disk with blue
star-forming knots.  ``sample`` then returns ``galsim.ChromaticObject``
profiles, normalised to the catalog's F814W magnitude, which GalSim draws
through any bandpass: here LSST's g, r and i and Roman's H158, none of which
the model was trained on (it saw HST F814W and F606W).
"""
import os
from pathlib import Path

import galsim
import numpy as np

import galsim_deep
from galsim_deep.core import reporting
from galsim_deep.physics.bands import get_bandpass
from galsim_deep.tools.demo.colour import lupton_rgb
from galsim_deep.data.hub import DEFAULT_COLOUR_MODEL

OUT = Path(os.environ.get("GALSIM_DEEP_EXAMPLES_OUT", "example_output"))

# %%
# The model: its training bands and SED templates
# -----------------------------------------------
model = galsim_deep.GenerativeGalaxyModel(DEFAULT_COLOUR_MODEL)
print(model.metadata["name"], model.chromatic)

# %%
# Four galaxies of one magnitude and size at increasing redshift
# --------------------------------------------------------------
# The fourth condition is the F606W magnitude: the catalog's colour, which each
# galaxy then has (``colours='catalog'``, the default: its SED weights tilted to it;
# ``GenerativeGalaxyModel(name, colours='model')`` keeps the network's own).
z = np.array([0.3, 0.6, 0.9, 1.2])
cat = {"mag_auto": np.full(4, 21.0), "flux_radius": np.full(4, 8.0), "zphot": z,
       "mag_f606w": 21.0 + np.array([0.5, 0.8, 1.1, 0.9])}
galaxies = model.sample(cat, rng=galsim.BaseDeviate(7), range_policy="clip")
for gal, redshift in zip(galaxies, z):
    mags = {b: gal.calculateMagnitude(get_bandpass(b))
            for b in ("F814W", "LSST_g", "LSST_r", "LSST_i", "Roman_H158")}
    print(f"z={redshift:.1f}  " + "  ".join(f"{b} {m:.2f}" for b, m in mags.items())
          + f"  F606W-F814W {gal.calculateMagnitude(get_bandpass('F606W')) - mags['F814W']:.3f}")

# %%
# Drawn through LSST g, r, i and Roman H158
# -----------------------------------------
# Unconvolved at the model's pixel scale, each band on its own scale (top
# rows), and the g, r, i composite (bottom).  The same galaxy, the same
# components: only the SED weighting changes from band to band.
bands = ("LSST_g", "LSST_r", "LSST_i", "Roman_H158")
size, scale = model.stamp_size, model.pixel_scale
fig, axes = reporting.new_figure(len(galaxies), len(bands) + 1, size=(1.5, 1.5),
                                 layout=None)
fig.subplots_adjust(left=0.08, right=0.99, top=0.9, bottom=0.01, wspace=0.04, hspace=0.06)
for i, gal in enumerate(galaxies):
    images = {b: gal.drawImage(get_bandpass(b), nx=size, ny=size, scale=scale,
                               method="no_pixel").array for b in bands}
    for j, band in enumerate(bands):
        axes[i, j].imshow(np.arcsinh(images[band] / (0.02 * images[band].max())),
                          origin="lower", cmap="magma")
        if i == 0:
            axes[i, j].set_title(band, fontsize=8)
    rgb = [images["LSST_i"], images["LSST_r"], images["LSST_g"]]
    axes[i, -1].imshow(lupton_rgb(rgb, 0.1 * max(float(a.max()) for a in rgb)), origin="lower")
    if i == 0:
        axes[i, -1].set_title("g, r, i", fontsize=8)
    axes[i, 0].set_ylabel(f"z = {z[i]:.1f}", fontsize=7)
    for ax in axes[i]:
        ax.set_xticks([])
        ax.set_yticks([])
fig.suptitle(f"{model.metadata['name']}: one colour galaxy, five views", fontsize=9)
reporting.save_figure(fig, OUT / "colour_galaxies.png")
