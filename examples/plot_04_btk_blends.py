"""
Blends for BlendingToolKit (BTK)
================================

:class:`galsim_deep.api.btk.GenerativeModelGenerator` is a BTK 1.x
``DrawBlendsGenerator``: BTK picks and places the galaxies of each blend from
its catalog, the generator samples their morphology from a generative model
(one network call per mini-batch), draws it in every band with each band's
flux from the catalog's magnitude, and BTK adds the noise.  Beside it, BTK's
own ``CosmosGenerator(gal_type='parametric')`` draws the *same blends* with the
COSMOS Sérsic / bulge + disk fits, in LSST's six bands and at HST resolution.

.. image:: /_static/btk_blends.png
   :alt: LSST gri blends: generated galaxies beside BTK's parametric ones

This script needs the ``[btk]`` extra, whose pins (astropy < 7, numpy < 2.3)
keep it out of the documentation's environment, so the documentation shows
its figure rather than running it; ``make btk-figure`` runs it in
``.venv-btk`` and writes ``docs/_static/btk_blends.png`` (about a minute).
"""
import os
from pathlib import Path

import btk
import numpy as np

from galsim_deep.api.btk import GenerativeModelGenerator, cosmos_example_catalog
from galsim_deep.core import reporting
from galsim_deep.data.hub import DEFAULT_MODEL

OUT = Path(os.environ.get("GALSIM_DEEP_EXAMPLES_OUT", "example_output"))

# %%
# A BTK catalog with a magnitude per LSST band
# --------------------------------------------
# The 96 COSMOS example galaxies shipped with galsim_deep (their F814W ``MAG``
# and the conditions ``mag_auto``, ``flux_radius``, ``zphot``).  BTK reads the
# flux of band ``b`` of survey ``S`` from a column ``S_b``: here a red or a
# blue spectrum per galaxy (made up, with a seed), relative to F814W.
catalog = cosmos_example_catalog()
table = catalog.table
red = np.random.default_rng(0).random(len(table)) < 0.4
colours = {"u": (2.4, 1.1), "g": (1.6, 0.6), "r": (0.7, 0.2), "i": (0.0, 0.0),
           "z": (-0.3, -0.1), "y": (-0.5, -0.15)}  # (red, blue) colour minus F814W
for band, (c_red, c_blue) in colours.items():
    table[f"LSST_{band}"] = table["MAG"] + np.where(red, c_red, c_blue)

# %%
# The same blends, twice, in LSST and at HST resolution
# -----------------------------------------------------
# The same sampling function seed gives BTK's generators the same blends.
# Two surveys give a multi-resolution batch with the same galaxies in each
# (``COSMOS`` is HST/ACS F814W at 0.03"/pixel).
lsst, hst = btk.survey.get_surveys(["LSST", "COSMOS"])


def sampling():
    return btk.sampling_functions.DefaultSampling(max_number=4, min_number=2, stamp_size=8.0,
                                                  max_shift=1.8, max_mag=23.5, mag_name="MAG",
                                                  seed=11)


generated = next(GenerativeModelGenerator(catalog, sampling(), [lsst, hst], model=DEFAULT_MODEL,
                                          batch_size=8, seed=3, range_policy="clip"))
parametric = next(btk.draw_blends.CosmosGenerator(catalog, sampling(), [lsst, hst],
                                                  batch_size=8, seed=3, gal_type="parametric"))
print(generated)
for blend in generated["LSST"].catalog_list[:2]:
    print(blend["IDENT_1", "MAG", "flux_radius", "zphot", "ra", "dec", "gd_rotation"])


# %%
# The figure
# ----------
def rgb(images, survey, bands=("i", "r", "g")):
    """An asinh colour composite of a blend's i, r, g images: each band in units of a
    flat-spectrum source's flux (so that grey is AB colour 0), softened at 3 x the noise."""
    from surveycodex.utilities import mag2counts

    channels, noise = [], []
    for band in bands:
        image = images[survey.available_filters.index(band)]
        unit = mag2counts(25.0, survey, survey.get_filter(band)).to_value("electron")
        channels.append(image / unit)
        noise.append(1.4826 * np.median(np.abs(image - np.median(image))) / unit)
    channels = np.stack(channels, axis=-1)
    soft = 3.0 * np.median(noise)
    total = np.maximum(channels.mean(axis=-1, keepdims=True), 1e-12)
    scaled = channels * np.arcsinh(total / soft) / total
    return np.clip(scaled / np.arcsinh(300.0), 0, 1)


def grey(image):
    noise = 1.4826 * np.median(np.abs(image - np.median(image)))
    return np.arcsinh(image / (3 * noise))


n = 4
rows = [(generated["LSST"], "LSST gri\ngenerated", rgb),
        (parametric["LSST"], "LSST gri\nBTK parametric", rgb),
        (generated["COSMOS"], "HST F814W\ngenerated", None),
        (parametric["COSMOS"], "HST F814W\nBTK parametric", None)]
fig, axes = reporting.new_figure(len(rows), n, size=(2.2, 2.25))
for i, (batch, label, colour) in enumerate(rows):
    for j in range(n):
        ax = axes[i, j]
        if colour is None:
            ax.imshow(grey(batch.blend_images[j, 0]), origin="lower", cmap="gray_r",
                      vmin=-1, vmax=8)
        else:
            ax.imshow(colour(batch.blend_images[j], batch.survey), origin="lower")
        ax.set_xticks([])
        ax.set_yticks([])
        if j == 0:
            ax.set_ylabel(label, fontsize=8)
        if i == 0:
            ax.set_title(f"blend {j}: {len(batch.catalog_list[j])} galaxies", fontsize=8)
fig.suptitle(f"BTK blends, 8\" stamps, full-depth noise: {DEFAULT_MODEL[4:]} (generated) and "
             f"the COSMOS fits (parametric), same galaxies and positions", fontsize=8)
reporting.save_figure(fig, OUT / "btk_blends.png")
