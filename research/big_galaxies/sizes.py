"""How large the default draws a galaxy, by catalog size: on the module's stamp (canvas
'stamp') and on a coarser pixel (canvas 'fit', galsim_deep.engine.canvas), beside mock
truths of the same conditions.

Every galaxy is unconvolved and noiseless, drawn without a pixel on 400 x 400 pixels of
0.03" (12"), and its half-light radius is measured about its centroid with its own total
flux (``galsim.Image.calculateHLR``).  The mock truths are the training population's
generator (``make_mock_galaxy(..., population='cosmos-25.2')``): beyond the training range
of ``flux_radius`` (31.97 COSMOS pixels) they are its extrapolation, not data.

Writes ``OUT/sizes.json`` (each cell's mean and standard error) and ``OUT/sizes.png``
(one galaxy drawn both ways at twice the limit), and prints the table::

    .venv/bin/python research/big_galaxies/sizes.py --out runs/big_galaxies
"""
import argparse
import json
import warnings
from pathlib import Path

import numpy as np

MAGS = (20.5, 22.5)
SIZES = (16.0, 24.0, 32.0, 40.0, 56.0, 80.0)  # flux_radius, COSMOS pixels of 0.03"
GRID, SCALE = 400, 0.03


def half_light_radius(profile):
    """arcsec, of a profile's own light."""
    image = profile.drawImage(nx=GRID, ny=GRID, scale=SCALE, method="no_pixel")
    return image.calculateHLR(flux=profile.flux)


def outside_square(profile, side):
    """The share of a profile's light outside the centred square of ``side`` arcsec."""
    n = int(round(side / SCALE))
    inner = profile.drawImage(nx=n, ny=n, scale=SCALE, method="no_pixel").array.sum()
    return 1.0 - float(inner) / profile.flux


def mean_error(values):
    values = np.asarray(values, np.float64)
    return [float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))]


def measure(models, n, seed):
    """Every cell's half-light radii: the mock truths' and each canvas's."""
    import galsim
    from tqdm.auto import tqdm

    from galsim_deep.data.mock_galaxies import make_mock_galaxy

    stamp_side = models["fit"].stamp_size * models["fit"].pixel_scale
    cells = []
    for mag in MAGS:
        for size in tqdm(SIZES, desc=f"mag {mag}"):
            cat = {"mag_auto": np.full(n, mag), "flux_radius": np.full(n, size),
                   "zphot": np.full(n, 0.6)}
            cell = {"mag_auto": mag, "flux_radius": size, "arcsec": size * 0.03,
                    "canvas_factor": float(models["fit"].canvas_factors(cat)[0])}
            truths = [make_mock_galaxy(mag, size, 0.6, rng=galsim.BaseDeviate(seed + i),
                                       population="cosmos-25.2").profile for i in range(n)]
            cell["truth"] = mean_error([half_light_radius(t) for t in truths])
            for name, model in models.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # 'stamp' warns beyond the training sizes
                    galaxies = model.sample(cat, rng=seed, rotate=False)
                cell[name] = mean_error([half_light_radius(g) for g in galaxies])
                cell[f"{name}_outside_stamp"] = mean_error(
                    [outside_square(g, stamp_side) for g in galaxies])
            cells.append(cell)
    return cells


def figure(models, out, seed):
    """One galaxy at twice the limit's size drawn on each canvas, at the same scale."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cat = {"mag_auto": [20.5], "flux_radius": [64.0], "zphot": [0.6]}
    fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
    images = {}
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (galaxy,) = model.sample(cat, rng=seed, rotate=False)
        images[name] = galaxy.drawImage(nx=GRID, ny=GRID, scale=SCALE, method="no_pixel").array
    vmax = max(float(a.max()) for a in images.values())
    half = GRID * SCALE / 2
    for ax, (name, image) in zip(axes, images.items()):
        ax.imshow(np.arcsinh(np.clip(image, 0, None) / (0.01 * vmax)), origin="lower",
                  cmap="magma", extent=(-half, half, -half, half))
        side = models[name].stamp_size * models[name].pixel_scale / 2
        ax.plot([-side, side, side, -side, -side], [-side, -side, side, side, -side], "c--",
                lw=0.8)
        ax.set_title(f"canvas='{name}'", fontsize=9)
        ax.set_xlabel("arcsec", fontsize=8)
    fig.suptitle("mag_auto 20.5, flux_radius 64 px (1.92\"): the dashed square is the "
                 "module's 3.84\" stamp", fontsize=8)
    fig.savefig(out, dpi=110, bbox_inches="tight")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="hub:flow-vae-mock-cosmos-25.2")
    parser.add_argument("--n", type=int, default=32, help="galaxies per cell")
    parser.add_argument("--seed", type=int, default=2031)
    parser.add_argument("--out", default="runs/big_galaxies")
    args = parser.parse_args(argv)
    from galsim_deep import GenerativeGalaxyModel

    models = {c: GenerativeGalaxyModel(args.module, canvas=c) for c in ("stamp", "fit")}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cells = measure(models, args.n, args.seed)
    result = {"module": args.module, "version": models["fit"].metadata["version"],
              "n": args.n, "seed": args.seed, "cells": cells}
    tmp = out / "sizes.json.tmp"
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(out / "sizes.json")
    figure(models, out / "sizes.png", args.seed)
    print("| mag_auto | flux_radius (arcsec) | k | mock truth | canvas 'stamp' | canvas 'fit' "
          "| light outside the stamp, 'fit' |")
    print("|---|---|---|---|---|---|---|")
    for c in cells:
        print(f"| {c['mag_auto']} | {c['flux_radius']:g} ({c['arcsec']:.2f}) | "
              f"{c['canvas_factor']:.2f} | " + " | ".join(
                  f"{c[k][0]:.3f} ± {c[k][1]:.3f}" for k in ("truth", "stamp", "fit"))
              + f" | {100 * c['fit_outside_stamp'][0]:.1f}% |")


if __name__ == "__main__":
    main()
