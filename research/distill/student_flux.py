"""Where a distilled student's light differs from its teacher's, galaxy by galaxy.

The fidelity table's flux line is the sample's total flux over the truths' (a ratio of
means, so the brightest galaxies rule it).  This script draws the evaluation galaxies with
both modules as users get them (the same seed, so the same codes and angles) and writes,
per ``mag_auto`` bin, the student's total flux over the teacher's with a paired bootstrap
error, the share of the student's flux deficit its worst galaxies hold, those galaxies'
catalogue rows, and the per-galaxy relative L2 error against the teacher in the bin
``--bin`` (the brightest by default)::

    python research/distill/student_flux.py runs/distill/v2-4-32/module \\
        --teacher hub:flow-vae-mock-cosmos-25.2@2.0.0 \\
        --eval data/mock-cosmos-25.2-64-eval.h5 --out docs/_static/student_flux_v2_4_32.json
"""
import argparse
import json
import warnings

import numpy as np

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core.files import atomic_path
from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies


def unrotated_samples(spec, galaxies, seed):
    """A module's galaxies at the catalogue rows as users get them (its window or wings),
    unrotated, float64 ``[N, S, S]`` (as the release table draws them)."""
    model = GenerativeGalaxyModel(spec)
    catalog = {q: galaxies.column(q) for q in model.quantities}
    with warnings.catch_warnings():  # a few truths lie past the training box
        warnings.simplefilter("ignore")
        return np.concatenate(list(model.sample_arrays(catalog, rng=seed, rotate=False))
                              ).astype(np.float64)


def paired_total_ratio(a, b, rng, n_boot=500):
    """``sum(a) / sum(b)`` with its bootstrap error over galaxies resampled in pairs."""
    boots = [a[i].sum() / b[i].sum() for i in rng.integers(0, len(a), (n_boot, len(a)))]
    return {"ratio": float(a.sum() / b.sum()), "error": float(np.std(boots)), "n": len(a)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("student")
    p.add_argument("--teacher", required=True)
    p.add_argument("--eval", required=True)
    p.add_argument("--n", type=int, default=8000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bin", type=int, default=0, help="magnitude bin of the L2 errors")
    p.add_argument("--worst", type=int, default=10)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    galaxies = EvaluationGalaxies.load(args.eval, n=args.n)
    groups, labels = galaxies.magnitude_bins()
    images = {name: unrotated_samples(spec, galaxies, args.seed)
              for name, spec in (("teacher", args.teacher), ("student", args.student))}
    t, s = (images[k].sum(axis=(1, 2)) for k in ("teacher", "student"))
    truth = galaxies.truth.sum(axis=(1, 2)).astype(np.float64)
    rng = np.random.default_rng(0)
    out = {"student": args.student, "teacher": args.teacher, "eval": args.eval,
           "seed": args.seed, "student_over_teacher": {"all": paired_total_ratio(s, t, rng)},
           "over_truth": {"student": float(s.sum() / truth.sum()),
                          "teacher": float(t.sum() / truth.sum())}}
    for k, label in enumerate(labels):
        sel = groups == k
        out["student_over_teacher"][label] = paired_total_ratio(s[sel], t[sel], rng)
    deficit = t - s
    order = np.argsort(deficit)[::-1]
    out["deficit_share"] = {f"worst {n}": float(deficit[order[:n]].sum() / deficit.sum())
                            for n in (1, args.worst, 5 * args.worst)}
    columns = ("mag_auto", "flux_radius", "zphot")
    out["worst"] = [dict({c: float(galaxies.column(c)[i]) for c in columns},
                         row=int(i), student_over_teacher=float(s[i] / t[i]))
                    for i in order[:args.worst]]
    sel = groups == args.bin
    a, b = images["student"][sel], images["teacher"][sel]
    rel = ((a - b) ** 2).sum(axis=(1, 2)) / (b ** 2).sum(axis=(1, 2))
    out["relative_l2"] = {"bin": labels[args.bin],
                          **{f"p{q}": float(np.percentile(rel, q)) for q in (50, 90, 99, 100)}}
    out["catalogue_percentiles"] = {c: [float(v) for v in np.percentile(
        galaxies.column(c)[sel], [5, 50, 95])] for c in columns}
    with atomic_path(args.out) as tmp:
        with open(tmp, "w") as fh:
            json.dump(out, fh, indent=1)
    print(json.dumps({k: out[k] for k in ("student_over_teacher", "over_truth",
                                          "deficit_share", "relative_l2")}, indent=1))


if __name__ == "__main__":
    main()
