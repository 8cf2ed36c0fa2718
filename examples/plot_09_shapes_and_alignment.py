"""
Galaxies of given shapes, and a field of aligned galaxies
=========================================================

A catalog may give each galaxy its shape: ``q``, the axis ratio b/a, and ``beta``, the
position angle of the major axis in degrees (the angle of
``galsim.Shear(q=q, beta=beta * galsim.degrees)``).  The model draws the galaxy's light as
always, then gives it that shape exactly: one linear map that keeps its area turns and
stretches the whole galaxy, its inner structure with it (``docs/shapes.rst``).

Intrinsic-alignment studies choose the angles.  Here the galaxies of a field lie
tangentially around its centre, as around a cluster, with an alignment amplitude ``A``,
and ``A`` is measured back from the drawn image with HSM.
"""
import os
from pathlib import Path

import galsim
import numpy as np

import galsim_deep
from galsim_deep.core import reporting
from galsim_deep.data.hub import DEFAULT_MODEL
from galsim_deep.engine.drawing import draw_galaxies

OUT = Path(os.environ.get("GALSIM_DEEP_EXAMPLES_OUT", "example_output"))
model = galsim_deep.GenerativeGalaxyModel(DEFAULT_MODEL)

# %%
# One galaxy, several shapes
# --------------------------
# The same catalog row and seed (the same morphology), asked for four axis ratios at
# two position angles.  Its knots and arms stay where they were on the disc.
shapes = [(q, beta) for beta in (0.0, 60.0) for q in (1.0, 0.7, 0.45, 0.25)]
cat = {"mag_auto": np.full(len(shapes), 20.5), "flux_radius": np.full(len(shapes), 10.0),
       "zphot": np.full(len(shapes), 0.5), "q": np.array([s[0] for s in shapes]),
       "beta": np.array([s[1] for s in shapes])}
seeds = np.full(len(shapes), 20261129)      # one object seed: one galaxy, shaped 8 ways
galaxies = model.sample(cat, rng=seeds)
fig, axes = reporting.new_figure(2, 4, size=(2.2, 2.2))
for ax, galaxy, (q, beta) in zip(axes.ravel(), galaxies, shapes):
    image = galaxy.drawImage(nx=96, ny=96, scale=0.03, method="no_pixel").array
    moments = galsim.hsm.FindAdaptiveMom(galsim.Image(image, scale=0.03)).observed_shape
    ax.imshow(np.arcsinh(image / (0.02 * image.max())), origin="lower", cmap="magma")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"asked q {q:.2f}, beta {beta:.0f}\nHSM q {moments.q:.3f}, "
                 f"beta {moments.beta / galsim.degrees % 180:.1f}", fontsize=7)
    assert abs(moments.q - q) < 0.02 and (q == 1.0 or abs(
        (moments.beta / galsim.degrees - beta + 90) % 180 - 90) < 1.0)
reporting.save_figure(fig, OUT / "shapes_one_galaxy.png")

# %%
# A field of tangentially aligned galaxies
# ----------------------------------------
# 400 galaxies of the training population on a jittered grid, each one's position angle
# the tangential direction about the field's centre, ``phi``, turned by ``delta``, spread
# evenly over ±40 degrees and shuffled: the alignment amplitude is
# ``A = <cos 2 delta> = sin(80°) / (80° in radians) = 0.705``.  Their axis ratios are
# drawn uniformly in [0.3, 0.8], so that every galaxy's angle is well defined.
rng = np.random.default_rng(7)
side, n_side, scale = 20, 20, 0.1                   # 20 x 20 galaxies, 2" apart, 0.1"/pixel
grid = (np.arange(n_side) + 0.5) * side
x, y = (a.ravel() + rng.uniform(-4, 4, n_side ** 2) for a in np.meshgrid(grid, grid))
centre = side * n_side / 2
phi = np.degrees(np.arctan2(y - centre, x - centre)) + 90.0   # tangential
half_width = 40.0
delta = rng.permutation(np.linspace(-half_width, half_width, len(x)))   # evenly spread
amplitude = np.sin(np.radians(2 * half_width)) / np.radians(2 * half_width)
from galsim_deep.data.mock_cosmos import sample_conditions  # noqa: E402

field = dict(sample_conditions(len(x), seed=11, population="cosmos-25.2"))
field = {k: np.asarray(v, float) for k, v in field.items()}
field.update(q=rng.uniform(0.3, 0.8, len(x)), beta=phi + delta)
psf = galsim.Gaussian(fwhm=0.16)                    # a Euclid VIS-like PSF, noiseless
stamps, corners = draw_galaxies(model.batches(field, rng=5, range_policy="clip"), psf, 24,
                                scale, positions=np.stack([x, y], axis=1) + 0.5)
image = galsim.ImageF(side * n_side, side * n_side, scale=scale)
for stamp, (x0, y0) in zip(stamps, corners):
    placed = galsim.ImageF(stamp, xmin=int(x0), ymin=int(y0), scale=scale)
    bounds = placed.bounds & image.bounds
    image[bounds] += placed[bounds]

# %%
# Measured back
# -------------
# HSM's adaptive moments of each galaxy on a cutout of the drawn image: the mean of
# ``cos 2 (beta_measured - phi)`` is the amplitude the image shows.
measured = []
for xi, yi, p in zip(x, y, phi):
    centre_pixel = galsim.PositionI(int(xi + 0.5) + 1, int(yi + 0.5) + 1)
    cutout = image[galsim.BoundsI(centre_pixel.x - 9, centre_pixel.x + 9,
                                  centre_pixel.y - 9, centre_pixel.y + 9) & image.bounds]
    try:
        shape = galsim.hsm.FindAdaptiveMom(cutout, guess_sig=2.0).observed_shape
    except galsim.GalSimHSMError:
        continue
    measured.append(np.cos(2 * np.radians(shape.beta / galsim.degrees - p)))
measured = np.array(measured)
asked = np.cos(2 * np.radians(delta))
error = measured.std() / np.sqrt(len(measured))
print(f"input amplitude A = {amplitude:.3f}; the angles asked give {asked.mean():.3f}; "
      f"measured from the image {measured.mean():.3f} +- {error:.3f} "
      f"({len(measured)} of {len(x)} galaxies measured)")
assert abs(measured.mean() - amplitude) < 0.05 * amplitude

fig, axes = reporting.new_figure(1, 1, size=(6.0, 6.0))
ax = axes[0, 0]
ax.imshow(np.arcsinh(image.array / (0.01 * image.array.max())), origin="lower", cmap="magma")
ax.set_title(f"tangential alignment around the centre: A = {amplitude:.3f} asked, "
             f"{measured.mean():.3f} ± {error:.3f} measured", fontsize=9)
ax.set_xticks([])
ax.set_yticks([])
reporting.save_figure(fig, OUT / "intrinsic_alignment_field.png")
