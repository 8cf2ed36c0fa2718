"""
Sample galaxies and draw them through a PSF
===========================================

A generative model gives *unconvolved, noise-free* light profiles
(``galsim.InterpolatedImage`` objects) for a catalog of conditions: here
magnitude, size and redshift.  They are ordinary GalSim profiles: convolve them
with any PSF and draw them at any pixel scale.
"""
import os
from pathlib import Path

import galsim
import numpy as np

import galsim_deep
from galsim_deep.core import reporting
from galsim_deep.data.hub import DEFAULT_MODEL

OUT = Path(os.environ.get("GALSIM_DEEP_EXAMPLES_OUT", "example_output"))

# %%
# The model and its training range
# --------------------------------
# ``galsim-deep hub info NAME`` prints the same metadata.  Conditions outside
# the range the model was trained on are extrapolated (with a warning, once
# per condition); stay inside it.
model = galsim_deep.GenerativeGalaxyModel(DEFAULT_MODEL)
print(model)
for cond in model.metadata["conditions"]:
    print(f"{cond['name']:12s} {cond['min']:7.2f} .. {cond['max']:7.2f}  {cond['unit']}")

# %%
# A catalog of conditions
# -----------------------
# Four sizes (``flux_radius``, the observed half-light radius) at the
# population's mean magnitude and redshift, all inside the training range.
mean = {c["name"]: c["mean"] for c in model.metadata["conditions"]}
std = {c["name"]: c["std"] for c in model.metadata["conditions"]}
sizes = mean["flux_radius"] + std["flux_radius"] * np.array([-1.2, -0.4, 0.4, 1.2])
cat = {"mag_auto": np.full(4, mean["mag_auto"]), "flux_radius": sizes,
       "zphot": np.full(4, mean["zphot"])}
assert model.in_range(cat).all()

# %%
# Sample, convolve, draw
# ----------------------
# ``rng`` makes the draw reproducible.  ``zero_point`` rescales each galaxy to
# the flux of its magnitude for a telescope whose 1-count magnitude it is
# (31.99: LSST i band, 30 s); every galaxy is rotated by a uniformly random
# angle (``rotate=True``, the default).
galaxies = model.sample(cat, rng=galsim.BaseDeviate(1234), zero_point=31.99)
hst_psf = galsim.Airy(lam=814, diam=2.4, obscuration=0.33, scale_unit=galsim.arcsec)
lsst_psf = galsim.Kolmogorov(fwhm=0.7)

columns = {
    f"unconvolved, {model.pixel_scale}\"/pixel":
        lambda g: g.drawImage(nx=64, ny=64, scale=model.pixel_scale, method="no_pixel"),
    "HST-like Airy PSF, 0.03\"/pixel":
        lambda g: galsim.Convolve(g, hst_psf).drawImage(nx=64, ny=64, scale=0.03),
    "LSST-like 0.7\" seeing, 0.2\"/pixel":
        lambda g: galsim.Convolve(g, lsst_psf).drawImage(nx=24, ny=24, scale=0.2),
}
fig, axes = reporting.new_figure(len(galaxies), len(columns), size=(2.3, 2.2))
for i, gal in enumerate(galaxies):
    for j, (title, draw) in enumerate(columns.items()):
        image = draw(gal).array
        axes[i, j].imshow(np.arcsinh(image / (0.02 * image.max())), origin="lower",
                          cmap="magma")
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
        if i == 0:
            axes[i, j].set_title(title, fontsize=8)
    axes[i, 0].set_ylabel(f"flux_radius {sizes[i]:.1f} px\nflux {gal.flux:.0f}", fontsize=8)
fig.suptitle(f"{model.metadata['name']}: mag_auto {mean['mag_auto']:.1f}, "
             f"zphot {mean['zphot']:.2f} (asinh stretch)", fontsize=9)
reporting.save_figure(fig, OUT / "sample_and_draw.png")

# %%
# The same seed gives the same galaxies, whatever the batch size:
again = model.sample(cat, rng=galsim.BaseDeviate(1234), zero_point=31.99, batch_size=1)
print(all(np.array_equal(a.image.array, b.image.array) for a, b in zip(galaxies, again)))
