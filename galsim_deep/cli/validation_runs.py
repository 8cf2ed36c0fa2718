"""``galsim-deep validation latent-fit | convergence | checkpoint | semi-supervised``: the
commands that measure a training run.

Each takes a RECIPE (``add_recipe_args``) and scores the checkpoints of its run
with :mod:`galsim_deep.diagnostics` (or its family's own test), rather than an exported
module:

* ``validation latent-fit RECIPE --out R`` - codes fitted through a training
  checkpoint's decoder: is the reconstruction error the encoder's?
* ``validation convergence RECIPE --out R`` - codes refined for more and more MAP
  steps: where do the likelihood and the shapes stop moving?
* ``validation checkpoint RECIPE [--all]`` - quick scores of a training run's
  checkpoints on mock test galaxies (learning curves, ablations); ``--out``
  keeps the scores in a JSON file that a later run extends;
* ``validation semi-supervised RECIPE --out R`` - an equivariant-VAE run's classifier
  against a fully supervised one and linear probes, for several labelled fractions
  (:mod:`galsim_deep.diagnostics.semi_supervised`).

:func:`add_run_commands` adds them to the ``validation`` group of
:mod:`galsim_deep.cli.validation`.
"""
import json
from pathlib import Path

import numpy as np

from . import add_recipe_args, positive, recipe_from_args


def _add_fit_args(p, n):
    """The recipe and the options shared by the commands that fit codes galaxy by galaxy."""
    add_recipe_args(p)
    p.add_argument("--out", required=True, help="report directory (created)")
    p.add_argument("--n", type=int, default=n,
                   help=f"the first N galaxies of the split (default {n})")
    p.add_argument("--learning-rate", type=float, default=0.03,
                   help="Adam step size in latent units (default 0.03)")
    p.add_argument("--split", default="test", choices=("test", "train"),
                   help="dataset split (default test)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_run_commands(subparsers):
    """Add ``latent-fit``, ``convergence``, ``checkpoint`` and ``semi-supervised``
    (``subparsers``: the ``validation`` group's)."""
    p = subparsers.add_parser(
        "latent-fit",
        help="fit latent codes through a trained decoder: encoder vs decoder error",
        description="On a recipe's latest training checkpoint and its mock dataset, compare "
                    "the reconstruction residual against the noiseless truth of the "
                    "encoder's code, of the MAP code (fitted to the stamp through its PSF) "
                    "and of the best code for the truth (the decoder's best-code residual), "
                    "beside a "
                    "Sersic fit.  Writes latent_fit.json, .md and .png.")
    _add_fit_args(p, n=300)
    p.add_argument("--steps", type=int, default=300, help="Adam steps per fit (default 300)")
    p.set_defaults(func=_latent_fit)

    p = subparsers.add_parser(
        "convergence",
        help="codes refined for more and more MAP steps: where do the shapes stop moving?",
        description="On a recipe's latest training checkpoint and its mock dataset, refine "
                    "the encoder's codes of the first N galaxies by Adam steps on each "
                    "galaxy's posterior and score the codes after each of --steps: the "
                    "negative log posterior of the stamps, the median reduced chi2 and the "
                    "mean HSM |g| of the decoded profiles against the truths', overall and "
                    "per mag_auto bin.  Writes convergence.json and convergence.md.")
    _add_fit_args(p, n=1000)
    p.add_argument("--steps", default="0,10,50,200,500",
                   help="comma-separated step counts (default 0,10,50,200,500; 0 is the "
                        "encoder's means)")
    p.set_defaults(func=_convergence)

    p = subparsers.add_parser(
        "checkpoint",
        help="quick scores of a run's checkpoints on mock test galaxies (learning curves)",
        description="Score the autoencoder of training checkpoints of a recipe's run on the "
                    "first N galaxies of its mock dataset: reduced chi2 of the reconstruction "
                    "against its stamp, chi2 against the noiseless observed truth, the "
                    "unconvolved residual and the fraction of flux in the stamp border beside "
                    "the truth's, with bootstrap errors, overall and per mag_auto bin; for an "
                    "MPCC run, the clustering accuracy (majority and one-to-one, per mag_auto "
                    "quartile).  Prints "
                    "a table; --out writes the scores as JSON (steps it already holds for the "
                    "same galaxies are kept, not scored again) and --figure the learning curve.")
    add_recipe_args(p)
    p.add_argument("--step", type=int, action="append", default=None, metavar="STEP",
                   help="checkpoint step to score (repeatable; default: the latest)")
    p.add_argument("--all", action="store_true", help="score every checkpoint on disk")
    p.add_argument("--n", type=int, default=500,
                   help="the first N galaxies of the split (default 500)")
    p.add_argument("--split", default="test", choices=("test", "train"),
                   help="dataset split (default test)")
    p.add_argument("--out", default=None,
                   help="JSON file of the scores (written atomically; an existing one is "
                        "extended)")
    p.add_argument("--figure", default=None,
                   help="PNG learning curve of every score in --out (or of those computed)")
    p.add_argument("--c2st", action="store_true",
                   help="also the two-sample classifier test of the unconvolved "
                        "reconstructions against the truths (about a minute per checkpoint "
                        "and classifier)")
    p.add_argument("--c2st-classifiers", type=int, default=3,
                   help="classifiers of the --c2st test, one per seed; the most accurate is "
                        "the verdict, as one training can miss a difference (default 3)")
    p.set_defaults(func=_checkpoint)

    p = subparsers.add_parser(
        "semi-supervised",
        help="an equivariant-VAE run's classifier against fully supervised ones and probes",
        description="The semi-supervised test of Nishikawa-Toomey, Smith & Gal on a trained "
                    "equivariant-VAE run and its mock dataset: test accuracy on the six "
                    "morphology classes with a labelled fraction of the training split, for "
                    "the classifier trained from scratch on the labels alone, the run's "
                    "encoder fine-tuned on them (two-step), the run's own classifier, and "
                    "linear probes on the run's and a reference module's codes.  Writes "
                    "semi_supervised.json (each row as it finishes; a rerun skips them) and "
                    "semi_supervised.png.")
    add_recipe_args(p)
    p.add_argument("--out", required=True, help="report directory (created)")
    p.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1, 1.0],
                   help="labelled fractions of the training split (default 0.01 0.1 1)")
    p.add_argument("--steps", type=int, default=600,
                   help="Adam steps of each classifier fit (default 600)")
    p.add_argument("--reference", default="hub:flow-vae-mock-cosmos-25.2",
                   help="module whose codes the reference probe reads ('none': skip; "
                        "default hub:flow-vae-mock-cosmos-25.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fits' draws (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_semi_supervised)


def add_priors_command(subparsers):
    """Add ``priors`` (``subparsers``: the ``validation`` group's)."""
    from ..diagnostics.prior_table import ROWS

    p = subparsers.add_parser(
        "priors",
        help="samples against reconstructions: which part of the gap is the prior's",
        description="Score rows of images of an evaluation file's galaxies alike (classifier "
                    "test per survey view and magnitude bin, mean |g|, size and flux per bin, "
                    "light far from the centre, optionally shear): the truth observed again, "
                    "the Sersic rows, a module's reconstructions from the encoder's mean, the "
                    "MAP and the best code for the truth, its samples, and candidate priors "
                    "(flow:RUN, a run folder of 'model train-flow --from-module').  Each row is "
                    "kept in OUT/rows as it finishes (a rerun scores the missing ones); the "
                    "table is OUT/priors.md, .json and .png.")
    p.add_argument("module", help="hub:NAME or module directory whose network draws the rows")
    p.add_argument("--eval", required=True, metavar="FILE",
                   help="the evaluation file (dataset build ... --n 8000 --n-test 8000 "
                        "--seed 55)")
    p.add_argument("--out", required=True, help="the table's folder (created)")
    p.add_argument("--row", action="append", default=None, metavar="ROW",
                   help=f"a row to score (repeatable): {', '.join(ROWS)} or flow:RUN "
                        f"(default: the fixed rows)")
    p.add_argument("--n", type=int, default=None,
                   help="the evaluation file's first N galaxies (default all)")
    p.add_argument("--map-steps", type=int, default=10,
                   help="Adam steps of the MAP codes (default 10, as the shipped flow's)")
    p.add_argument("--best-steps", type=int, default=100,
                   help="Adam steps of the best codes for the truth (default 100)")
    p.add_argument("--view", action="append", default=None, metavar="VIEW",
                   help="survey view of the classifier test (repeatable; default hst-cosmos "
                        "and hst-noiseless, the reference's views)")
    p.add_argument("--shear", action="store_true",
                   help="also the REGAUSS shear biases through the three survey PSFs (minutes "
                        "per row)")
    p.add_argument("--recipe", default=None,
                   help="recipe describing the module's architecture (default: its provenance)")
    p.add_argument("--seed", type=int, default=0, help="seed of codes and noise (default 0)")
    p.add_argument("--processes", type=int, default=2,
                   help="worker processes of the shear measure (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_priors)


def _priors(args):
    import shlex
    import sys
    from concurrent.futures import ProcessPoolExecutor

    from ..diagnostics.prior_table import (ROWS, LiveModule, score_row, table_lines,
                                           write_prior_table)
    from ..diagnostics.sample_scores import (SAMPLE_VIEWS, SHEAR_PSF_NAMES,
                                             EvaluationGalaxies, reference_scores)

    positive("--n", args.n)
    out = Path(args.out)
    galaxies = EvaluationGalaxies.load(args.eval, args.n)
    rows = args.row or list(ROWS)
    live = (None if set(rows) <= {"truth", "truth-stamps", "sersic"}
            else LiveModule(args.module, args.recipe))
    shear = {"shear_max_mag": 99.0, "n_shear": len(galaxies.index)}
    views = args.view or list(SAMPLE_VIEWS)
    psfs = list(SHEAR_PSF_NAMES) if args.shear else []
    with ProcessPoolExecutor(args.processes) as pool:
        reference_scores(galaxies, out / "reference", args.seed, views=views, shear_psfs=psfs,
                         pool=pool, **shear)
        for name in rows:
            print(f"scoring row {name} on {len(galaxies.index)} galaxies", flush=True)
            score_row(name, live, galaxies, out / "reference", out, seed=args.seed,
                      map_steps=args.map_steps, best_steps=args.best_steps, views=views,
                      shear_psfs=psfs, pool=pool, progress=not args.quiet, **shear)
    command = "galsim-deep " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    table = write_prior_table(out, command)
    print("\n".join(table_lines(table)))
    print(f"table in {out / 'priors.md'}")
    return 0


def _latent_fit(args):
    from ..diagnostics.latent_fit import latent_fit_report, write_latent_fit_report

    report = latent_fit_report(recipe_from_args(args), n=args.n, steps=args.steps,
                               learning_rate=args.learning_rate, split=args.split,
                               progress=not args.quiet)
    write_latent_fit_report(report, args.out)
    print(f"fitted the codes of {report['n']} galaxies; report in {args.out}")
    for key, s in report["residuals"].items():
        faint = report["ellipticity"]["faint"][key]
        print(f"  {key:14s} median relative residual {s['median_relative_residual']:.4f}"
              f"  |g| - truth's, mag_auto >= 23.5: {faint['g_bias']:+.3f} ± {faint['error']:.3f}")
    return 0


def _convergence(args):
    from ..core.errors import InputError
    from ..core.reporting import write_json, write_text
    from ..diagnostics.convergence import convergence_lines, convergence_table

    positive("--n", args.n)
    try:
        steps = [int(s) for s in args.steps.split(",")]
    except ValueError:
        raise InputError(f"--steps takes comma-separated integers, e.g. 0,10,50, got "
                         f"{args.steps!r}") from None
    table = convergence_table(recipe_from_args(args), n=args.n, steps=steps,
                              learning_rate=args.learning_rate, split=args.split,
                              progress=not args.quiet)
    write_json(table, Path(args.out) / "convergence.json")
    lines = convergence_lines(table)
    write_text("\n".join(lines) + "\n", Path(args.out) / "convergence.md")
    print("\n".join(lines))
    return 0


def _checkpoint(args):
    from ..core.errors import InputError, MissingInputError
    from ..core.reporting import write_json
    from ..diagnostics.checkpoint_scores import SCORES, checkpoint_steps, score_checkpoint
    from ..diagnostics.learning_curve import plot_learning_curve

    positive("--n", args.n)
    positive("--c2st-classifiers", args.c2st_classifiers)
    recipe = recipe_from_args(args)
    on_disk = checkpoint_steps(recipe)
    if not on_disk:
        raise MissingInputError(f"the run of recipe {recipe['name']!r} in "
                                f"{recipe['output_dir']} has no checkpoint yet; train it first "
                                f"(galsim-deep model train ...)")
    steps = on_disk if args.all else (args.step or [on_disk[-1]])
    missing = [s for s in steps if s not in on_disk]
    if missing:
        raise InputError(f"no checkpoint at step(s) {missing}; on disk: {on_disk}")
    # Earlier scores are kept when they hold every score of this version (and a C2ST of as
    # many classifiers).
    wanted = set(SCORES) | ({"c2st_noiseless"} if args.c2st else set())
    seeds = list(range(args.c2st_classifiers))
    scores = {s["step"]: s for s in _earlier_scores(args.out, recipe, args.n, args.split)
              if wanted <= set(s)
              and (not args.c2st or s["c2st_noiseless"].get("seeds") == seeds)}
    for step in steps:
        if step in scores:
            score = scores[step]
        else:
            score = scores[step] = score_checkpoint(recipe, n=args.n, split=args.split,
                                                    step=step, c2st=args.c2st,
                                                    c2st_classifiers=args.c2st_classifiers)
        cells = [f"{key} {score[key]['median']:.3f}±{score[key]['error']:.3f} ["
                 + " ".join(f"{b['median']:.2f}" for b in score[key]["bins"]) + "]"
                 for key in SCORES]
        if "clustering" in score:
            c = score["clustering"]
            cells.append(f"clustering majority {c['majority']['value']:.3f}±"
                         f"{c['majority']['error']:.3f} one-to-one "
                         f"{c['one_to_one']['value']:.3f}±{c['one_to_one']['error']:.3f} "
                         "[majority per mag quartile: "
                         + " ".join(f"{a:.2f}" for a in c["majority_by_magnitude"]["accuracy"])
                         + "]")
        if "smooth_head" in score:
            h = score["smooth_head"]
            cells.append(f"bulge + disk head: log-flux range {h['flux_range_ratio']:.2f} of the "
                         f"truth's, correlation {h['log_flux_correlation']:.2f}, mean disk "
                         f"shear {h['mean_disk_shear']:.2f}")
        for band, c in score.get("colours", {}).items():
            cells.append(f"{band} - F814W of the reconstructions: median |colour - catalog| "
                         f"{c['median_abs']['median']:.3f}±{c['median_abs']['error']:.3f}"
                         + (" [" + " ".join("n/a" if m["median"] is None else f"{m['median']:.3f}"
                                            for m in c["median_abs_bins"]) + "]"
                            if "median_abs_bins" in c else "")
                         + f", slope on the catalog's {c['slope']['slope']:.3f}±"
                         f"{c['slope']['error']:.3f}, explained by the codes "
                         f"{c['code_r2']:.3f} (by zphot alone {c['redshift_r2']:.3f})")
        if "c2st_noiseless" in score:
            c = score["c2st_noiseless"]
            cells.append(f"c2st_noiseless {c['accuracy']:.3f}±{c['error']:.3f}"
                         + (" [" + " ".join(f"{b['accuracy']:.2f}" for b in c["bins"]) + "]"
                            if "bins" in c else "")
                         + (" (each classifier: "
                            + " ".join(f"{a:.3f}" for a in c["accuracies"]) + ")"
                            if "accuracies" in c else ""))
        print(f"step {step:6d}: " + " | ".join(cells), flush=True)
    edges = next(iter(scores.values()))["mag_bins"]
    print("(medians ± bootstrap error [per mag_auto bin: "
          + ", ".join(_bin_label(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])) + "])")
    scores = [scores[s] for s in sorted(scores)]
    if args.out:
        write_json({"recipe": recipe["name"], "output_dir": str(recipe["output_dir"]),
                    "scores": scores}, args.out)
    if args.figure:
        plot_learning_curve(scores, args.figure, title=f"{recipe['name']}: learning curve")
        print(f"learning curve written to {args.figure}")
    return 0


def _earlier_scores(path, recipe, n, split):
    """The scores an earlier ``--out`` file holds for the same run and galaxies."""
    from ..core.errors import InputError

    if not path or not Path(path).is_file():
        return []
    try:
        earlier = json.loads(Path(path).read_text())
        same_run = earlier["output_dir"] == str(recipe["output_dir"])
        scores = earlier["scores"]
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"--out {path} exists but is not a scores file of galsim-deep "
                         f"validate checkpoint ({err}); give a new path or remove it") from None
    if not same_run:
        raise InputError(f"--out {path} holds the scores of the run in {earlier['output_dir']}, "
                         f"not {recipe['output_dir']}; give another --out")
    other = {(s.get("n"), s.get("split")) for s in scores} - {(n, split)}
    if other:
        raise InputError(f"--out {path} holds scores of other galaxies (n, split = "
                         f"{sorted(other)}), not n={n} of split {split!r}; a learning curve "
                         f"compares checkpoints on the same galaxies: give another --out")
    # JSON has no NaN or infinity: write_json stores a missing median (an empty magnitude
    # bin) and the open ends of the magnitude bins as null.
    scores = [_null_to_nan(s) for s in scores]
    for s in scores:
        edges = s["mag_bins"]
        s["mag_bins"] = [-np.inf if np.isnan(edges[0]) else edges[0], *edges[1:-1],
                         np.inf if np.isnan(edges[-1]) else edges[-1]]
    return scores


def _null_to_nan(obj):
    if obj is None:
        return float("nan")
    if isinstance(obj, dict):
        return {k: _null_to_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_null_to_nan(v) for v in obj]
    return obj


def _bin_label(low, high):
    return (f"<{high:g}" if low == float("-inf") else
            f">{low:g}" if high == float("inf") else f"{low:g}-{high:g}")


def _semi_supervised(args):
    from ..core.errors import InputError
    from ..diagnostics.semi_supervised import ROWS, semi_supervised_test

    positive("--steps", args.steps)
    recipe = recipe_from_args(args)
    if recipe["family"] != "equivariant-vae":
        raise InputError(f"the semi-supervised test is the equivariant VAE's; recipe "
                         f"{recipe['name']!r} is a {recipe['family']} recipe")
    result = semi_supervised_test(recipe, args.out, args.fractions, args.steps,
                                  None if args.reference == "none" else args.reference,
                                  args.seed, progress=not args.quiet)
    print(f"test accuracy on {result['n_test']} galaxies (majority class "
          f"{result['majority']:.3f}); report in {args.out}")
    for row in ROWS:
        for fraction, got in sorted(result["rows"].get(row, {}).items(),
                                    key=lambda kv: float(kv[0])):
            print(f"  {row:16s} {float(fraction):6.2%} labelled ({got['n_train']:6d}): "
                  f"{got['accuracy']:.3f} ± {got['error']:.3f}")
    return 0
