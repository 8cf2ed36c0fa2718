"""The normalizing-flow slides' question on our galaxies: which training galaxies are most like
a target image?

The slides rank a data set's images against a target (a Milky Way artist's impression) by
the flow's likelihood ("closest likelihood images should be most similar") and, with an
autoencoder, by distance in latent space.  This script asks both of the image flow
(``docs/image_flow.rst``), with the training codes ``galsim-deep validation latent`` keeps
(``codes_train.h5``: the flow's latent and ``log p(stamp | conditions)`` of each training
galaxy):

* **purity against a random draw**: every test galaxy of the report's ``codes_test.h5`` is
  a target; its ten nearest training galaxies by latent distance (Euclidean, the flow's
  latent) and by closeness of ``log p`` are found, and the share of its own class among them
  (:func:`~galsim_deep.tools.latent.search.precision_at_k` with the training labels as the
  pool) is set against that class's share of the training galaxies, what ten random
  training galaxies would give;
* the same by the **catalog** columns alone (``mag_auto``, ``flux_radius``, ``zphot``,
  standardised), the reference a representation of the image should beat;
* the same by the **footprint** ranking: Euclidean distance between the central windows
  of the latents (:func:`~galsim_deep.tools.latent.search.footprint`, the central 16x16
  pixels' share of the code), the galaxy without its sky;
* **the figure**: two targets and the top ten of each ranking: a test galaxy of the
  ``spiral`` class, and an image from outside the mock, a two-armed logarithmic spiral
  (an exponential disc whose light is modulated along arms of 20-degree pitch, with a small
  bulge; about 21 AB), drawn at the dataset's pixel scale, convolved with a test galaxy's
  PSF and given that galaxy's noise.  The catalogue conditions the flow needs for it are
  its own: ``mag_auto`` from its flux, ``flux_radius`` its convolved half-light radius in
  0.03-arcsec pixels, ``zphot`` 0.5 (the flow's density hardly depends on it).

Run from the repository root after the latent report
(``galsim-deep validation latent --model MODULE --dataset data/mock-cosmos-25.2-64.h5
--max-train 2000 --n-non-galaxy 300 --out runs/latent-image-flow``)::

    python research/image_flow/image_flow_similar.py --model MODULE \
        --report runs/latent-image-flow [--out docs/_static/image_flow_similar]

It writes ``OUT.json`` (the purities, their standard errors and chance) and ``OUT.png``.
About a minute on a 2-core CPU.
"""
import argparse
from pathlib import Path

import numpy as np

DATASET = "data/mock-cosmos-25.2-64.h5"
K = 10


def spiral_profile(stamp_size, pixel_scale, flux, scale_length=0.35, pitch_deg=20.0,
                   arm_contrast=0.8, bulge_fraction=0.15):
    """A two-armed logarithmic spiral (exponential disc with arm modulation, plus a small
    exponential bulge) on a grid 4 times finer than the stamp's, as a GalSim profile."""
    import galsim

    fine = 4
    n = stamp_size * fine
    step = pixel_scale / fine
    y, x = (np.mgrid[0:n, 0:n] - (n - 1) / 2.0) * step
    r = np.hypot(x, y) + 1e-6
    theta = np.arctan2(y, x)
    arms = 1.0 + arm_contrast * np.cos(2.0 * (theta - np.log(r / scale_length)
                                              / np.tan(np.radians(pitch_deg))))
    disc = np.exp(-r / scale_length) * arms
    bulge = np.exp(-r / (0.15 * scale_length))
    image = ((1 - bulge_fraction) * disc / disc.sum()
             + bulge_fraction * bulge / bulge.sum()) * flux
    return galsim.InterpolatedImage(galsim.Image(image, scale=step), flux=flux)


def spiral_target(dataset, row, seed=7):
    """The spiral as an observed stamp of the dataset: a row's PSF and noise; its conditions."""
    import galsim

    from galsim_deep.data.format import flux_from_mag, mag_from_flux
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.tools.latent.outliers import noise_from_power

    with StampDataset(dataset) as ds:
        data = ds.read([row], ["psf", "noise_power"])
        size, scale = ds.stamp_size, ds.pixel_scale
    flux = float(flux_from_mag(21.0))
    psf = galsim.InterpolatedImage(galsim.Image(data["psf"][0].astype(np.float64), scale=scale))
    observed = galsim.Convolve(spiral_profile(size, scale, flux), psf)
    clean = observed.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array
    # half-light radius of the convolved image, about its centre, in 0.03" pixels
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2.0
    radius = np.hypot(x, y).ravel()
    order = np.argsort(radius)
    growth = np.cumsum(clean.ravel()[order])
    hlr = radius[order][np.searchsorted(growth, 0.5 * growth[-1])] * scale / 0.03
    stamp = clean + noise_from_power(data["noise_power"][0], np.random.default_rng(seed))
    conditions = {"mag_auto": np.array([mag_from_flux(clean.sum())], np.float32),
                  "flux_radius": np.array([hlr], np.float32),
                  "zphot": np.array([0.5], np.float32)}
    return stamp.astype(np.float32), conditions


def main():
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.core.reporting import write_json
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.tools.latent.codes import read_codes
    from galsim_deep.tools.latent.plots import plot_stamp_rows
    from galsim_deep.tools.latent.search import (FOOTPRINT_CELLS, SimilarityIndex, footprint,
                                                 precision_at_k, ranking_index)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the image flow's module")
    parser.add_argument("--report", required=True, type=Path,
                        help="folder of its latent report (codes_train.h5, codes_test.h5)")
    parser.add_argument("--out", default="docs/_static/image_flow_similar", type=Path)
    parser.add_argument("--cells", type=int, default=FOOTPRINT_CELLS,
                        help=f"side of the footprint's window in latent cells (default "
                             f"{FOOTPRINT_CELLS})")
    args = parser.parse_args()

    train, test = (read_codes(args.report / f"codes_{s}.h5") for s in ("train", "test"))
    gm = GenerativeGalaxyModel(str(args.model))
    shape = gm.latent.latent_shape
    indexes = {"latent": ranking_index("euclidean", train.codes),
               "likelihood": ranking_index("likelihood", train.codes, train.log_prob),
               "footprint": SimilarityIndex(footprint(train.codes, shape, args.cells),
                                            "euclidean")}
    queries = {"latent": test.codes, "likelihood": test.log_prob[:, None].astype(np.float64),
               "footprint": footprint(test.codes, shape, args.cells)}
    # A reference that needs no image: the catalogue's own columns, standardised with the
    # training galaxies' mean and spread.
    mean, spread = train.conditions.mean(axis=0), train.conditions.std(axis=0)
    indexes["catalog"] = ranking_index("euclidean", (train.conditions - mean) / spread)
    queries["catalog"] = (test.conditions - mean) / spread
    names = train.class_names
    result = {"model": str(args.model), "k": K, "n_targets": len(test), "n_pool": len(train),
              "footprint_cells": args.cells, "rankings": {}}
    for ranking, index in indexes.items():
        rows, _ = index.query(queries[ranking], k=K)
        p = precision_at_k(test.labels, rows, pool_labels=train.labels)
        result["rankings"][ranking] = {
            "purity": p["mean"], "purity_error": p["mean_error"],
            "random": p["chance_mean"], "excess_sigma": p["excess_sigma"],
            "by_class": {names[c]: v for c, v in p["by_label"].items()},
            "random_by_class": {names[c]: v for c, v in p["chance"].items()}}
        print(f"{ranking:10s}: purity of the top {K} {p['mean']:.3f} ± {p['mean_error']:.3f}, "
              f"random {p['chance_mean']:.3f} ({p['excess_sigma']:+.1f} sigma)")

    spiral_class = names.index("spiral")
    target_at = int(np.flatnonzero(test.labels == spiral_class)[0])
    target_row = int(test.indices[target_at])
    with StampDataset(DATASET) as ds:
        target_stamp = ds.read([target_row], ["stamp"])["stamp"][0]
    spiral, spiral_conditions = spiral_target(DATASET, target_row)
    spiral_code = gm.encode(spiral[None], None, conditions=spiral_conditions)[0][0]
    spiral_log_prob = float(gm.log_prob(spiral[None], spiral_conditions,
                                        range_policy="clip")[0])
    targets = {"test galaxy": (target_stamp, test.codes[target_at],
                               float(test.log_prob[target_at]),
                               f"#{target_row} {names[spiral_class]}"),
               "spiral": (spiral, spiral_code, spiral_log_prob,
                          f"log spiral, mag {spiral_conditions['mag_auto'][0]:.1f}")}
    figure_rows, result["targets"] = [], {}
    with StampDataset(DATASET) as ds:
        for label, (stamp, code, log_prob, caption) in targets.items():
            entry = {"caption": caption, "log_prob": log_prob}
            for ranking, point in (("latent", code), ("likelihood", [log_prob]),
                                   ("footprint", footprint(code[None], shape, args.cells)[0])):
                rows, score = indexes[ranking].query(np.asarray(point, np.float64), k=K)
                found = train.indices[rows[0]]
                stamps = ds.read(np.sort(found), ["stamp"])["stamp"]
                stamps = stamps[np.argsort(np.argsort(found))]
                classes = [names[int(c)] for c in train.labels[rows[0]]]
                entry[ranking] = {"rows": found.tolist(), "classes": classes,
                                  "scores": score[0].tolist()}
                unit = "|Δlog p|" if ranking == "likelihood" else "d"
                figure_rows.append((f"{label}\nby {ranking}", [(stamp, f"target\n{caption}")] + [
                    (stamps[j], f"#{found[j]} {classes[j]}\n{unit}={score[0][j]:.3g}")
                    for j in range(K)]))
            result["targets"][label] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_stamp_rows(figure_rows, args.out.with_suffix(".png"),
                    title=f"the {K} training galaxies nearest each target in the image flow's "
                          f"latent space, by log p and in the latent's central window "
                          f"(footprint) ({len(train)} training galaxies)")
    write_json(result, args.out.with_suffix(".json"))
    print(f"wrote {args.out.with_suffix('.png')} and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
