"""The population's shapes when the catalog gives none: modules against the mock truths.

Issue 94's third item.  Galaxies of the training population (mock-COSMOS to F814W 25.2, a
seed no build uses) are drawn by each module at the truths' catalog rows, unrotated, and
measured as the release check measures its shape lines (noiseless, through a round 0.1"
Gaussian, HSM: :func:`galsim_deep.diagnostics.checkpoint_scores.hsm_g_sigma`), beside the
truths' own 64-pixel stamps measured the same way.  Per module: the mean ``|g|``, size and
flux against the truths' (ratio - 1, bootstrap errors), overall and per magnitude bin, and
the Wasserstein-1 distance between the ``|g|`` distributions.

The candidates are the default 2.1.0 given a population of axis ratios by ``galsim-deep hub
shape-prior`` (``docs/shapes.rst`` has the commands).  ``--colour``: the truths are the
galaxies of a two-band mock build (:func:`galsim_deep.data.colour_stats.colour_galaxies`,
F814W and F606W, the same seed), each catalog row with its ``mag_f606w``, for the colour
modules (their reference band, F814W, is measured).

Usage::

    python research/shapes/population_shapes.py --galaxies 2000 \\
        --module hub:flow-vae-mock-cosmos-25.2@2.1.0 --module runs/shapes/module-2.2.0-moments \\
        --module runs/shapes/module-sersic \\
        --out docs/_static/shapes_population.json
    python research/shapes/population_shapes.py --galaxies 2000 --colour \
        --module hub:flow-vae-mock-cosmos-25.2-colour@2.0.1 --module runs/shapes/colour-2.0.2 \
        --out docs/_static/shapes_population_colour.json
"""
import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

#: The measure's seed: a catalog no training or evaluation build of the project uses.
SEED = 94_3002
#: Magnitude bins (mag_auto), as the release check's brightest bin and the issue's.
BINS = ((17.0, 22.5), (22.5, 24.0), (24.0, 25.3))


def truth_stamps(n, seed, pixel_scale=0.06, side=64):
    """The catalog rows and the truths' noiseless stamps (no pixel response)."""
    from tqdm import tqdm

    from galsim_deep.data.mock_cosmos import sample_conditions
    from galsim_deep.data.mock_galaxies import galaxy_rng, make_mock_galaxy

    table = sample_conditions(n, seed=seed, population="cosmos-25.2")
    cat = {c: np.asarray(table[c], np.float64) for c in ("mag_auto", "flux_radius", "zphot")}
    stamps = np.stack([make_mock_galaxy(*(cat[c][i] for c in cat), galaxy_rng(seed + 1, i),
                                        population="cosmos-25.2").profile
                       .drawImage(nx=side, ny=side, scale=pixel_scale, method="no_pixel").array
                       for i in tqdm(range(n), desc="truths")])
    return cat, stamps


def colour_truth_stamps(n, seed, pixel_scale=0.06, side=64):
    """:func:`truth_stamps` of the galaxies of a two-band mock build, each row with its
    ``mag_f606w``."""
    from galsim_deep.data.colour_stats import colour_galaxies

    cat = {c: np.empty(n) for c in ("mag_auto", "flux_radius", "zphot", "mag_f606w")}
    stamps = np.empty((n, side, side))
    for i, g in enumerate(colour_galaxies("cosmos-25.2", n, seed, side, pixel_scale,
                                          progress=True)):
        for c in ("mag_auto", "flux_radius", "zphot"):
            cat[c][i] = g[c]
        cat["mag_f606w"][i] = g["mag_auto"] + g["colour"]
        stamps[i] = g["galaxy"].profile.drawImage(nx=side, ny=side, scale=pixel_scale,
                                                  method="no_pixel").array
    return cat, stamps


def _ratio(values, truth, rows, rng, n_boot=300):
    """mean(values) / mean(truth) - 1 over ``rows`` (finite in both), bootstrap error."""
    ok = rows & np.isfinite(values) & np.isfinite(truth)
    v, t = values[ok], truth[ok]
    boots = [(lambda i: v[i].mean() / t[i].mean() - 1)(rng.integers(0, len(v), len(v)))
             for _ in range(n_boot)]
    return float(v.mean() / t.mean() - 1), float(np.std(boots)), int(ok.sum())


def scores(images, truth, cat, seed):
    """The lines of one module (module docstring)."""
    from scipy.stats import wasserstein_distance

    from galsim_deep.diagnostics.checkpoint_scores import hsm_g_sigma

    g, sigma = hsm_g_sigma(images, 0.06)
    rng = np.random.default_rng(seed)
    flux = images.reshape(len(images), -1).sum(axis=1)
    rows = {"all": np.ones(len(g), bool)}
    rows.update({f"{lo:g}-{hi:g}": (cat["mag_auto"] >= lo) & (cat["mag_auto"] < hi)
                 for lo, hi in BINS})
    out = {name: {"g": _ratio(g, truth["g"], r, rng),
                  "size": _ratio(sigma, truth["sigma"], r, rng),
                  "flux": _ratio(flux, truth["flux"], r, rng)} for name, r in rows.items()}
    ok = np.isfinite(g) & np.isfinite(truth["g"])
    out["w1_g"] = float(wasserstein_distance(g[ok], truth["g"][ok]))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", required=True)
    parser.add_argument("--galaxies", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--colour", action="store_true",
                        help="truths of a two-band (F814W, F606W) build, rows with mag_f606w")
    args = parser.parse_args(argv)
    from _shared import write_json
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.diagnostics.checkpoint_scores import hsm_g_sigma

    cat, stamps = (colour_truth_stamps if args.colour else truth_stamps)(args.galaxies, SEED)
    g, sigma = hsm_g_sigma(stamps, 0.06)
    truth = {"g": g, "sigma": sigma, "flux": stamps.reshape(len(stamps), -1).sum(axis=1)}
    results = {}
    for spec in args.module:
        model = GenerativeGalaxyModel(spec, range_policy="clip")
        images = np.concatenate(list(model.sample_arrays(cat, rng=SEED, rotate=False,
                                                         progress=True)))
        results[spec] = dict(scores(images, truth, cat, SEED),
                             module=f"{model.metadata['name']} {model.metadata['version']}")
    for spec, r in results.items():
        print(spec, f"({r['module']}) W1(|g|) {r['w1_g']:.4f}")
        for key in ["all"] + [f"{lo:g}-{hi:g}" for lo, hi in BINS]:
            line = "  ".join(f"{what} {100 * v[0]:+.1f} +- {100 * v[1]:.1f}%"
                             for what, v in r[key].items())
            print(f"  {key:10s} ({r[key]['g'][2]} galaxies)  {line}")
    if args.out is not None:
        write_json({"galaxies": args.galaxies, "seed": SEED, "results": results,
                    "command": "python research/shapes/population_shapes.py "
                    + " ".join(argv if argv is not None else sys.argv[1:])}, args.out)


if __name__ == "__main__":
    main()
