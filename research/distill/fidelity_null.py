"""The fidelity rule's null test: the teacher judged against itself, only the classifiers'
seed changed.

The fidelity check (``galsim-deep validation student``) calls a student's line *worse* when
it lies farther from the truth than the teacher's by more than one standard error of the
difference (the two rows' errors in quadrature).  A student draws the teacher's codes,
angles and noise, so what could move a classifier line between two modules that draw the
same galaxies is the classifiers' own training.  This script scores the teacher's row again
with other classifier seeds (the same galaxies, images, noise, references and epochs as the
fidelity folder's seed-0 row), judges each against the seed-0 row with the fidelity rule,
and writes, per classifier line, the difference in units of its error and the verdict.
With ``--student MODULE`` it also scores the student at each other seed and judges it
against the teacher's row of the same seed: whether the student's classifier lines hold
their verdicts when only the classifiers change::

    python research/distill/fidelity_null.py hub:flow-vae-mock-cosmos-25.2@2.0.0 \\
        --fidelity runs/distill/v2-4-32/fidelity --eval data/mock-cosmos-25.2-64-eval.h5 \\
        --seeds 1 --scratch runs/distill/null --out docs/_static/fidelity_null.json
    python research/distill/fidelity_null.py hub:flow-vae-mock-cosmos-25.2@2.0.0 \\
        --student runs/distill/v2-4-32/module \\
        --fidelity runs/distill/v2-4-32/fidelity --eval data/mock-cosmos-25.2-64-eval.h5 \\
        --seeds 1 --scratch runs/distill/null --out docs/_static/fidelity_null_v2_4_32.json

The other lines (shapes, outer light, texture, shear) do not depend on the classifiers; with
the same images they are equal in every row, so the null test has nothing to say of them.
"""
import argparse
import json
from math import erf, sqrt
from pathlib import Path

import numpy as np

from galsim_deep.core.files import atomic_path
from galsim_deep.diagnostics.release_check import row_key, score_release_row
from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies
from galsim_deep.diagnostics.student_check import fidelity_verdict


def classifier_lines(row, baseline):
    """The fidelity rule's classifier lines for ``row`` judged as a student against
    ``baseline`` (scored with the same or, by design, another classifier seed); returns
    ``{line: {difference, error, z, verdict}}``."""
    same = dict(row, settings=baseline["settings"])
    checks = fidelity_verdict(same, baseline)["checks"]
    return {name: {"difference": c["difference"], "error": c["error"],
                   "z": c["difference"] / c["error"],
                   "verdict": "worse" if c["worse"] else "better" if c["better"] else "within"}
            for name, c in checks.items() if name.startswith("C2ST")}


def summary(seeds):
    """Counts over every line of ``{seed: classifier_lines(...)}``: verdicts, the mean and
    root mean square of z, and how many differences are positive, with the binomial chance
    of as many or more."""
    from scipy.stats import binom

    lines = [x for per_seed in seeds.values() for x in per_seed.values()]
    z = np.array([x["z"] for x in lines])
    verdicts = [x["verdict"] for x in lines]
    positive = int((z > 0).sum())
    return {"lines": len(z), "worse": verdicts.count("worse"),
            "better": verdicts.count("better"), "mean_z": float(z.mean()),
            "rms_z": float(np.sqrt(np.mean(z ** 2))), "positive": positive,
            "chance_of_as_many_positive": float(binom.sf(positive - 1, len(z), 0.5))}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("teacher")
    p.add_argument("--student", default=None, help="a student to judge at each seed too")
    p.add_argument("--fidelity", required=True,
                   help="a fidelity folder holding the teacher's seed-0 row and references")
    p.add_argument("--eval", required=True)
    p.add_argument("--n", type=int, default=8000)
    p.add_argument("--seed", type=int, default=0, help="the samples' seed (the folder's)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--scratch", required=True, help="where the other seeds' rows are kept")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    fidelity = Path(args.fidelity)
    seed_zero = json.loads((fidelity / "rows" / f"{row_key(args.teacher)}.json").read_text())
    galaxies = EvaluationGalaxies.load(args.eval, args.n)
    result = {"teacher": seed_zero["label"], "settings": seed_zero["settings"], "seeds": {}}
    score = {k: (lambda spec, k=k: score_release_row(
        spec, galaxies, fidelity / "reference", Path(args.scratch) / f"seed-{k}",
        seed=args.seed, classifier_seeds=(k,), epochs=args.epochs, progress=True))
        for k in args.seeds}
    rows = {k: score[k](args.teacher) for k in args.seeds}
    result["seeds"] = {str(k): classifier_lines(row, seed_zero) for k, row in rows.items()}
    if args.student:
        path = fidelity / "rows" / f"{row_key(args.student)}.json"
        students = {0: json.loads(path.read_text())} if path.is_file() else {}
        students.update({k: score[k](args.student) for k in args.seeds})
        result["student"] = {str(k): classifier_lines(row, seed_zero if k == 0 else rows[k])
                             for k, row in students.items()}
    result["summary"] = dict(
        summary(result["seeds"]), gaussian_worse_rate=0.5 * (1 - erf(1 / sqrt(2))),
        note="z: the difference over its error; a Gaussian difference whose error is right "
             "has rms_z 1 and is worse than +1 sigma with gaussian_worse_rate; positive: "
             "lines whose difference is above 0, with the binomial chance of as many or more "
             "for independent lines of a row as hard to tell from the truth as its baseline")
    if "student" in result:
        result["student_summary"] = summary(result["student"])
    with atomic_path(args.out) as tmp:
        Path(tmp).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: result[k] for k in ("summary", "student_summary") if k in result},
                     indent=1))
    for who in ("seeds", "student"):
        for k, lines in result.get(who, {}).items():
            for name, x in lines.items():
                print(f"{'teacher' if who == 'seeds' else 'student'} seed {k}  {name:32s} "
                      f"{x['difference']:+.4f} ± {x['error']:.4f} (z {x['z']:+.2f}) "
                      f"{x['verdict']}")


if __name__ == "__main__":
    main()
