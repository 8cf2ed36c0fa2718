"""
Condition on your own catalog
=============================

A model needs one column per condition (``model.quantities``) in its units.
A catalog with other names passes ``column_map={condition: column}``; other
units are converted first.  Rows outside the training range are best
selected out (``model.in_range``) or clipped (``range_policy='clip'``).
"""
import os
from pathlib import Path

import galsim
import numpy as np
from astropy.table import Table

import galsim_deep
from galsim_deep.core import reporting
from galsim_deep.data.hub import DEFAULT_MODEL

OUT = Path(os.environ.get("GALSIM_DEEP_EXAMPLES_OUT", "example_output"))
model = galsim_deep.GenerativeGalaxyModel(DEFAULT_MODEL)
for cond in model.metadata["conditions"]:
    print(f"{cond['name']:12s} [{cond['min']:.2f}, {cond['max']:.2f}] {cond['unit']}")

# %%
# A user catalog
# --------------
# Names and units of another survey's catalog: an i-band magnitude, a
# half-light radius in arcsec and a photometric redshift (made up here, with a
# seed).  ``flux_radius`` is in pixels of 0.03 arcsec, so the radius is
# converted into a new column.
rng = np.random.default_rng(42)
n = 60
user = Table({"ID": np.arange(n), "MAG_I": rng.uniform(19.0, 24.5, n),
              "R_HALF_ARCSEC": rng.uniform(0.1, 0.55, n), "Z_PHOT": rng.uniform(0.05, 1.9, n)})
user["R_HALF_PIX"] = user["R_HALF_ARCSEC"] / 0.03
column_map = {"mag_auto": "MAG_I", "flux_radius": "R_HALF_PIX", "zphot": "Z_PHOT"}

# %%
# Keep the rows inside the training range
# ---------------------------------------
inside = model.in_range(user, column_map=column_map)
print(f"{inside.sum()} of {n} rows inside the training range")
selected = user[inside]
selected.sort("MAG_I")

# %%
# Sample several galaxies per row
# -------------------------------
# Each row is one set of conditions: its galaxies share magnitude, size and
# redshift and differ in everything else.  Three draws of each of six rows,
# bright to faint.
rows = selected[np.linspace(0, len(selected) - 1, 6).astype(int)]
draws = 3
repeated = rows[np.repeat(np.arange(len(rows)), draws)]
images = np.concatenate(list(model.sample_arrays(repeated, rng=7, column_map=column_map)))
fig, axes = reporting.new_figure(draws, len(rows), size=(1.5, 1.55))
for k, image in enumerate(images):
    i, j = k % draws, k // draws
    axes[i, j].imshow(np.arcsinh(image / (0.02 * image.max())), origin="lower", cmap="magma")
    axes[i, j].set_xticks([])
    axes[i, j].set_yticks([])
    if i == 0:
        row = rows[j]
        axes[i, j].set_title(f"ID {row['ID']}\ni={row['MAG_I']:.1f} "
                             f"r={row['R_HALF_ARCSEC']:.2f}\"\nz={row['Z_PHOT']:.2f}",
                             fontsize=7)
fig.suptitle(f"{model.metadata['name']}: 3 draws per catalog row (unconvolved, asinh)",
             fontsize=8)
reporting.save_figure(fig, OUT / "user_catalog.png")

# %%
# Clipping instead
# ----------------
# ``range_policy='clip'`` samples every row, with each condition clipped to
# the training range (``'warn'``, the default, extrapolates and warns once per
# condition; ``'error'`` refuses).
clipped = model.sample(user, rng=7, column_map=column_map, range_policy="clip")
print(len(clipped), "galaxies, e.g. flux", round(clipped[0].flux, 2),
      model.metadata["flux"]["unit"])
