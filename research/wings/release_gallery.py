"""Draw docs/_static/release_gallery.png: the default's versions beside the truth, before and
after the wings.

Each row is one bright, large galaxy of the evaluation file (``docs/long_run.rst``); the
columns are its noiseless truth, its Sérsic row, and one sample of each module at its
catalog row (the same seed, so the same latent numbers and angle in every module; samples
are not reconstructions, so only the population compares, not the galaxy).  Each image
is drawn noiseless and unconvolved on a 96-pixel canvas at 0.06", in the demo gallery's
asinh stretch (asinh of the image over 1% of its peak), where a stamp's edge, a cut wing or
a faceted texture shows.

Run from the repository root after building the evaluation file::

    python research/wings/release_gallery.py [OUT.png [LABEL=MODULE ...]]

(the modules default to 1.1.1, 1.1.2 and 1.1.3; the campaign's gallery,
``docs/_static/campaign/gallery.png``, names its own).
"""
import sys
import warnings
from pathlib import Path

import numpy as np

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core.reporting import new_figure, save_figure
from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies, truth_profiles
from galsim_deep.tools.validation.references import reference_profiles

EVAL = "data/mock-cosmos-25.2-64-eval.h5"
MODULES = [("1.1.1", "hub:flow-vae-mock-cosmos-25.2@1.1.1"),
           ("1.1.2 (window)", "hub:flow-vae-mock-cosmos-25.2@1.1.2"),
           ("1.1.3 (wings)", "hub:flow-vae-mock-cosmos-25.2@1.1.3")]
N_ROWS, CANVAS, SEED = 6, 96, 11


def main(out=Path("docs/_static/release_gallery.png"), modules=MODULES):
    galaxies = EvaluationGalaxies.load(EVAL, n=2000)
    mag, size = galaxies.column("mag_auto"), galaxies.column("flux_radius")
    # the brightest galaxies among the largest half: where wings and texture show
    rows = [int(i) for i in np.argsort(mag) if size[i] > np.median(size)][:N_ROWS]
    sub = EvaluationGalaxies(**{**{k: getattr(galaxies, k) for k in (
        "path", "pixel_scale", "stamp_size", "condition_names")},
        **{k: getattr(galaxies, k)[rows] for k in (
            "index", "psfs", "noise_variance", "noise_power", "conditions", "parametric",
            "truth", "stamps")}})
    scale = sub.pixel_scale
    columns = [("truth", truth_profiles(sub)[0]),
               ("Sérsic", reference_profiles(sub, "parametric"))]
    cat = {q: sub.column(q) for q in ("mag_auto", "flux_radius", "zphot")}
    for title, name in modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 1.1.2 is yanked: named here on purpose
            columns.append((title, GenerativeGalaxyModel(name).sample(cat, rng=SEED)))
    fig, axes = new_figure(len(rows), len(columns), size=(1.7, 1.7))
    for c, (title, profiles) in enumerate(columns):
        for r, profile in enumerate(profiles):
            image = profile.drawImage(nx=CANVAS, ny=CANVAS, scale=scale,
                                      method="no_pixel").array
            peak = image.max()
            ax = axes[r, c]
            ax.imshow(np.arcsinh(np.clip(image, 0, None) / (0.01 * peak)), origin="lower",
                      cmap="magma", vmin=0, vmax=np.arcsinh(100.0))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
            if c == 0:
                ax.set_ylabel(f"mag_auto {mag[rows[r]]:.1f}", fontsize=7)
    save_figure(fig, out, dpi=100)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    named = [tuple(a.split("=", 1)) for a in args[1:]]
    print(main(*([Path(args[0])] if args else []), *([named] if named else [])))
