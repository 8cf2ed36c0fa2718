"""``galsim-deep validation checkpoint``: the command that measures a training run.

``validation checkpoint RECIPE [--all]`` takes a RECIPE (``add_recipe_args``) and gives
quick scores of its run's checkpoints on mock test galaxies (learning curves, ablations;
:mod:`galsim_deep.diagnostics.checkpoint_scores`, the scores the long run in legs keeps,
``model train-long``); ``--out`` keeps the scores in a JSON file that a later run extends.
The campaign commands that measured one run each (``latent-fit``, ``convergence``,
``semi-supervised``, ``priors``) are scripts of ``research/`` now
(:data:`galsim_deep.cli.MOVED_TO_RESEARCH` names each; the old spellings run them from a
clone, with a warning, for one minor release).

:func:`add_run_commands` adds it to the ``validation`` group of
:mod:`galsim_deep.cli.validation`.
"""
import json
from pathlib import Path

import numpy as np

from . import add_recipe_args, positive, recipe_from_args


def add_run_commands(subparsers):
    """Add ``checkpoint`` (``subparsers``: the ``validation`` group's)."""
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



def _checkpoint(args):
    from ..core.reporting import write_json
    from ..diagnostics.checkpoint_scores import SCORES, score_checkpoint
    from ..diagnostics.learning_curve import plot_learning_curve

    positive("--n", args.n)
    positive("--c2st-classifiers", args.c2st_classifiers)
    recipe = recipe_from_args(args)
    steps = _steps_to_score(args, recipe)
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
        print(f"step {step:6d}: " + " | ".join(_score_cells(score)), flush=True)
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


def _steps_to_score(args, recipe):
    """The checkpoint steps ``--step`` / ``--all`` name (default: the latest), each one on
    disk: a run without checkpoints, or a step it lacks, is an error that says so."""
    from ..core.errors import InputError, MissingInputError
    from ..diagnostics.checkpoint_scores import checkpoint_steps

    on_disk = checkpoint_steps(recipe)
    if not on_disk:
        raise MissingInputError(f"the run of recipe {recipe['name']!r} in "
                                f"{recipe['output_dir']} has no checkpoint yet; train it first "
                                f"(galsim-deep model train ...)")
    steps = on_disk if args.all else (args.step or [on_disk[-1]])
    missing = [s for s in steps if s not in on_disk]
    if missing:
        raise InputError(f"no checkpoint at step(s) {missing}; on disk: {on_disk}")
    return steps


def _score_cells(score):
    """The cells of one checkpoint's line of the table: each score of
    :data:`~galsim_deep.diagnostics.checkpoint_scores.SCORES` with its per-bin medians, then
    those only some runs have (clustering, the bulge + disk head, colours, C2ST)."""
    from ..diagnostics.checkpoint_scores import SCORES

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
    return cells


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


