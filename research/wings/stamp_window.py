"""Measure the default module's circular window: light near the stamp's edge, before and after.

A generated galaxy of ``flow-vae-mock-cosmos-25.2`` 1.1.1 carries faint light out to its
64-pixel stamp's edges; rotated, the stamp's square shows in an asinh stretch.  1.1.2 is
the same network with a circular window in its metadata (:mod:`galsim_deep.engine.window`).
This script draws the first ``N`` test galaxies of the evaluation file unrotated, at the
truths' catalog conditions, with 1.1.1 (the raw stamps) and with 1.1.2, checks that 1.1.2's
stamps are the window applied to 1.1.1's, and tabulates, for the truths, the raw stamps,
the raw stamps under candidate windows and 1.1.2:

* the fraction of each stamp's flux at pixel-centre radii beyond ``R_OUT`` = 28 pixels from
  the true centre (the inner edge of the border; median and 90th percentile);
* the fraction in the outer 4-pixel frame (the border flux, median;
  :func:`~galsim_deep.tools.validation.measures.profiles.compute.border_fraction`);
* the change the window causes in the mean HSM ``|g|`` and size through a 0.1" round
  Gaussian (:func:`~galsim_deep.diagnostics.checkpoint_scores.hsm_g_sigma`) and in the
  mean stamp flux, each galaxy against itself unwindowed (mean difference over the
  unwindowed mean, with its standard error); for the truths, what the same window would do
  to real galaxies.

The colour model gets the same window (2.0.0 -> 2.0.1): its reference-band stamps are
measured the same way at mock conditions with their own F606W colours (the evaluation
file has no colours): ``N`` galaxies of the model's population drawn with the same seed
and kept inside its training range, as ``galsim-deep demo`` draws its catalogue.

Medians carry bootstrap standard errors (200 resamples of the galaxies).  It writes the
table as JSON and a figure: a few generated galaxies (the truth beside them) rotated by
30 degrees before and after the window, in the demo gallery's asinh stretch and in a five
times stronger one.  Run from the repository root with ``data/mock-cosmos-25.2-64-eval.h5``
(``galsim-deep dataset build --source mock-cosmos --population cosmos-25.2 --n 8000
--n-test 8000 --stamp-size 64 --pixel-scale 0.06 --seed 55 --out
data/mock-cosmos-25.2-64-eval.h5``)::

    python research/wings/stamp_window.py [--n 1000] [--seed 67] [--out docs/_static/stamp_window]

About a minute on a 2-core CPU.
"""
import argparse
import json
from pathlib import Path

import numpy as np

EVAL = "data/mock-cosmos-25.2-64-eval.h5"
RAW = "hub:flow-vae-mock-cosmos-25.2@1.1.1"
WINDOWED = "hub:flow-vae-mock-cosmos-25.2@1.1.2"
COLOUR_RAW = "hub:flow-vae-mock-cosmos-25.2-colour@2.0.0"
COLOUR_WINDOWED = "hub:flow-vae-mock-cosmos-25.2-colour@2.0.1"
OUT = Path("docs/_static/stamp_window")
#: Radius (pixels) beyond which the light is counted: the inner edge of the 4-pixel border.
R_OUT = 28.0
#: Candidate windows (inner, outer radius in pixels) applied to the raw stamps.
CANDIDATES = [(16.0, 32.0), (20.0, 32.0), (24.0, 32.0), (26.0, 32.0), (28.0, 32.0),
              (24.0, 30.0)]
#: Quantiles of the raw stamps' light beyond R_OUT whose galaxies the figure shows.
SHOWN = (0.999, 0.99, 0.95, 0.9, 0.75)
ANGLE_DEG = 30.0


def median_error(values, seed=0, n_boot=200):
    """Bootstrap standard error of a median."""
    values = np.asarray(values, np.float64)
    rng = np.random.default_rng(seed)
    return float(np.std([np.nanmedian(rng.choice(values, len(values)))
                         for _ in range(n_boot)]))


def relative_change(after, before):
    """Mean of ``after - before`` over the mean of ``before`` (both finite), with its standard
    error, as fractions."""
    ok = np.isfinite(after) & np.isfinite(before)
    diff, scale = after[ok] - before[ok], before[ok].mean()
    return float(diff.mean() / scale), float(diff.std(ddof=1) / np.sqrt(ok.sum()) / scale)


def edge_light(images):
    """Light beyond :data:`R_OUT` (median, its error, 90th percentile) and border flux
    (median, its error), as fractions of each stamp's flux."""
    from galsim_deep.tools.validation.measures.profiles.compute import (border_fraction,
                                                                        outside_fraction)

    beyond, border = outside_fraction(images, R_OUT), border_fraction(images)
    return {"beyond_median": float(np.nanmedian(beyond)), "beyond_median_error":
            median_error(beyond), "beyond_p90": float(np.nanpercentile(beyond, 90)),
            "border_median": float(np.nanmedian(border)),
            "border_median_error": median_error(border)}


def shape_changes(images, reference, reference_shapes, pixel_scale):
    """Changes of mean |g|, size and flux of ``images`` against the unwindowed ``reference``."""
    from galsim_deep.diagnostics.checkpoint_scores import hsm_g_sigma

    g, sigma = hsm_g_sigma(images, pixel_scale)
    g0, sigma0 = reference_shapes
    flux = images.sum(axis=(1, 2), dtype=np.float64)
    flux0 = reference.sum(axis=(1, 2), dtype=np.float64)
    return {"g": relative_change(g, g0), "size": relative_change(sigma, sigma0),
            "flux": relative_change(flux, flux0)}


def measure(n, seed):
    """The rows of the table, and the arrays the figure shows."""
    import galsim_deep
    from galsim_deep.diagnostics.checkpoint_scores import hsm_g_sigma
    from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies
    from galsim_deep.engine.window import apply_window, module_window, window_weights

    galaxies = EvaluationGalaxies.load(EVAL, n)
    cat = {q: galaxies.column(q) for q in galaxies.condition_names}
    raw_model, model = (galsim_deep.GenerativeGalaxyModel(m) for m in (RAW, WINDOWED))
    raw, shipped = (np.concatenate(list(m.sample_arrays(cat, rng=seed, rotate=False)))
                    for m in (raw_model, model))
    window = module_window(model.metadata)
    # 1.1.2 is 1.1.1 with the window: its stamps are the window applied to 1.1.1's.
    gap = float(np.abs(shipped - window(raw)).max() / raw.max())
    if gap > 1e-6:
        raise RuntimeError(f"{WINDOWED}'s stamps differ from the window applied to {RAW}'s by "
                           f"{gap:.1e} of the peak")
    truth = galaxies.truth.astype(np.float32)
    scale = galaxies.pixel_scale
    shapes = {"truth": hsm_g_sigma(truth, scale), "raw": hsm_g_sigma(raw, scale)}
    rows = [dict(row="truth", **edge_light(truth)), dict(row="1.1.1", **edge_light(raw))]
    for inner, outer in CANDIDATES:
        images = apply_window(raw, window_weights(raw.shape[-1], inner, outer))
        rows.append(dict(row=f"1.1.1, window {inner:g}-{outer:g}", **edge_light(images),
                         **shape_changes(images, raw, shapes["raw"], scale)))
    rows.append(dict(row=f"1.1.2 (window {window.inner_radius:g}-{window.outer_radius:g})",
                     **edge_light(shipped), **shape_changes(shipped, raw, shapes["raw"], scale)))
    rows.append(dict(row=f"truth, window {window.inner_radius:g}-{window.outer_radius:g}",
                     **edge_light(window(truth)),
                     **shape_changes(window(truth), truth, shapes["truth"], scale)))
    info = {"n": int(len(raw)), "seed": seed, "dataset": EVAL, "window": model.metadata["window"],
            "max_difference_over_peak": gap,
            "raw_mean_g": float(np.nanmean(shapes["raw"][0])),
            "raw_mean_size_pixels": float(np.nanmean(shapes["raw"][1]))}
    return rows, info, {"truth": truth, "raw": raw, "shipped": shipped}


def colour_measure(n, seed):
    """The colour model's rows: 2.0.0 and 2.0.1 (reference band) at mock conditions."""
    import galsim_deep
    from galsim_deep.data.colour_stats import colour_sample
    from galsim_deep.data.mock_galaxies import first_inside, sample_conditions
    from galsim_deep.diagnostics.checkpoint_scores import hsm_g_sigma

    raw_model, model = (galsim_deep.GenerativeGalaxyModel(m)
                        for m in (COLOUR_RAW, COLOUR_WINDOWED))
    population = model.metadata["provenance"].get("population")
    size, scale = model.stamp_size, model.pixel_scale

    def draw(m):
        cat = sample_conditions(m, seed, stamp_size=size, pixel_scale=scale,
                                population=population)
        cat["mag_f606w"] = cat["mag_auto"] + colour_sample(population, m, seed, size, scale,
                                                           band="F606W")["colour"]
        return cat

    cat = first_inside(draw, model.in_range, n, f"the training range of {COLOUR_WINDOWED}")
    raw, shipped = (np.concatenate(list(m.sample_arrays(cat, rng=seed, rotate=False)))
                    for m in (raw_model, model))
    window = model.metadata["window"]
    return [dict(row="colour 2.0.0", **edge_light(raw)),
            dict(row=f"colour 2.0.1 (window {window['inner_radius']:g}-"
                     f"{window['outer_radius']:g})", **edge_light(shipped),
                 **shape_changes(shipped, raw, hsm_g_sigma(raw, scale), scale))]


def table(rows):
    """The rows as a markdown table (percentages)."""
    lines = ["| stamps | beyond r = 28 px, median | 90th percentile | border flux, median | "
             "mean \\|g\\| | mean size | mean flux (fraction) |", "|---|---|---|---|---|---|---|"]

    def change(row, key):
        if key not in row:
            return ""
        if key == "flux":  # the window gives each image its flux back: float rounding
            return f"{row[key][0]:+.0e} ± {row[key][1]:.0e}"
        return f"{100 * row[key][0]:+.2f} ± {100 * row[key][1]:.2f}%"

    for row in rows:
        lines.append(f"| {row['row']} | {100 * row['beyond_median']:.3f} ± "
                     f"{100 * row['beyond_median_error']:.3f}% | {100 * row['beyond_p90']:.2f}% | "
                     f"{100 * row['border_median']:.3f} ± {100 * row['border_median_error']:.3f}%"
                     f" | {change(row, 'g')} | {change(row, 'size')} | {change(row, 'flux')} |")
    return "\n".join(lines)


def figure(arrays, out):
    """Generated galaxies rotated by :data:`ANGLE_DEG` before and after the window, beside
    their truths, in two asinh stretches."""
    from galsim_deep.core.reporting import new_figure, save_figure
    from galsim_deep.engine.profiles import rotate_stamps
    from galsim_deep.tools.validation.measures.profiles.compute import outside_fraction

    beyond = outside_fraction(arrays["raw"], R_OUT)
    order = np.argsort(beyond)
    shown = [int(order[min(len(order) - 1, int(q * len(order)))]) for q in SHOWN]
    angles = np.full(len(shown), np.radians(ANGLE_DEG))
    turned = {k: rotate_stamps(a[shown], angles) for k, a in arrays.items()}
    columns = [("truth", "truth"), ("raw", "1.1.1"), ("shipped", "1.1.2 (window)")]
    stretches = [(0.01, "gallery stretch"), (0.002, "5x stronger")]
    fig, axes = new_figure(len(shown), len(columns) * len(stretches), size=(1.6, 1.6))
    for r, i in enumerate(shown):
        peak = float(arrays["raw"][i].max()) or 1.0
        for s, (soft, label) in enumerate(stretches):
            for c, (key, title) in enumerate(columns):
                ax = axes[r, s * len(columns) + c]
                ax.imshow(np.arcsinh(np.clip(turned[key][r], 0, None) / (soft * peak)),
                          origin="lower", cmap="magma", vmin=0, vmax=np.arcsinh(1 / soft))
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(f"{title}\n{label}", fontsize=7)
        axes[r, 0].set_ylabel(f"{100 * beyond[i]:.1f}% beyond 28 px", fontsize=7)
    fig.suptitle(f"rotated by {ANGLE_DEG:g} degrees; asinh(I / (f x the generated peak))",
                 fontsize=8)
    return save_figure(fig, out, dpi=90)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="test galaxies (default 1000)")
    parser.add_argument("--seed", type=int, default=67,
                        help="seed of the generated galaxies (default 67)")
    parser.add_argument("--out", default=str(OUT), help=f"output path without suffix ({OUT})")
    args = parser.parse_args(argv)
    out = Path(args.out)
    rows, info, arrays = measure(args.n, args.seed)
    colour = colour_measure(args.n, args.seed)
    text = table(rows)
    print(text)
    print()
    print(table(colour))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(
        {"note": f"edge light of the first {info['n']} test galaxies of {EVAL} and of {RAW} "
                 f"and {WINDOWED} drawn unrotated at their conditions (rng={args.seed}); "
                 "fractions of each stamp's flux; changes are mean differences over the "
                 "unwindowed mean, with standard errors; written by "
                 "research/wings/stamp_window.py", **info, "rows": rows, "table": text,
         "colour": {"note": f"{COLOUR_RAW} and {COLOUR_WINDOWED} (reference band) at the "
                            f"conditions of {args.n} mock galaxies of seed "
                            f"{args.seed} inside the training range, with their F606W colours",
                    "rows": colour, "table": table(colour)}},
        indent=2) + "\n")
    print(figure(arrays, out.with_suffix(".png")))


if __name__ == "__main__":
    main()
