"""``galsim-deep model train|train-flow|distill ...``: everything that fits weights.

* ``galsim-deep model train RECIPE`` - train the model of a recipe, whatever
  its family (the recipe's ``family`` key: ``flow-vae``, ``mpcc``;
  :mod:`galsim_deep.training.families`); ``--init-from hub:NAME|PATH``
  starts a new run from an exported module's (or a run's) weights, to
  fine-tune a shipped model on one's own stamps; ``--with-flow`` then trains
  the latent flow;
* ``galsim-deep model train-flow RECIPE`` - the conditional latent flow on the
  trained encoder (any family);
* ``galsim-deep model train-prior RECIPE`` - the latent flow refitted through the frozen
  decoder's likelihood of the stamps: their importance-weighted marginal likelihood
  (:mod:`galsim_deep.training.marginal_prior`) or, ``--objective elbo``, the ELBO
  (:mod:`galsim_deep.training.elbo_prior`);
* ``galsim-deep model train-long RECIPE --eval FILE`` - a long Flow-VAE run in
  legs that scores its reconstructions every 2,500 steps and its samples every
  10,000 on an evaluation file (:mod:`galsim_deep.diagnostics.long_run`);
* ``galsim-deep model distill TEACHER --out RUN`` - a module's Flow-VAE
  decoder (a Flow-VAE's, an equivariant VAE's) distilled into a narrower one
  (``--export DIR`` writes the module).

A trained run becomes a module with ``galsim-deep hub export RECIPE``, and the
supervised ceiling of a clustering accuracy is ``galsim-deep validation
ceiling``.  A RECIPE is a shipped recipe's name (``galsim-deep model train
--help`` lists them) or the path of a recipe YAML file; ``--set KEY=VALUE``
overrides any of its keys (``--set vae.steps=2000 --set dataset.path=my.h5``).
Running the same command again resumes an interrupted run from its latest
checkpoint.
"""
import json

from . import COMMANDS, add_group, add_recipe_args, recipe_from_args


def _add_run_args(p):
    p.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                   help="stop (with a checkpoint) after this step; run again to resume")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(subparsers):
    """Add the ``model`` command group."""
    sub = add_group(subparsers, "model", help=COMMANDS["model"],
                    description="Train the parts of a model from a recipe: first the model of "
                                "its family (model train), then the latent flow on the frozen "
                                "encoder (model train-flow); then export it as a hub module "
                                "(hub export). Checkpoints go to the recipe's output_dir; "
                                "running the same command again resumes from the latest one.")
    add_train(sub, "train")
    add_train_flow(sub, "train-flow")
    add_train_prior(sub, "train-prior")
    add_train_long(sub, "train-long")
    add_distill(sub, "distill")


def add_train(sub, name):
    """The ``train`` command."""
    from ..training.families import FAMILIES

    p = sub.add_parser(name, help="train the model of a recipe (its family: "
                                  + ", ".join(FAMILIES) + ")",
                       description="Train the model of a recipe: the family its 'family' key "
                                   "names (" + ", ".join(FAMILIES) + "), checkpoints in its "
                                   "output_dir.  Run the same command again to resume.")
    add_recipe_args(p)
    p.add_argument("--init-from", default=None, metavar="MODEL",
                   help="start a new run from these weights: hub:NAME[@VERSION], an "
                        "exported module directory or archive, or a run's checkpoint "
                        "folder (fine-tuning; ignored when resuming); a distilled module "
                        "starts the run from its teacher, whose network the recipe builds")
    p.add_argument("--with-flow", action="store_true",
                   help="then train the latent flow too (as `galsim-deep model train-flow`)")
    _add_run_args(p)
    p.set_defaults(func=_train_model)
    return p


def add_train_flow(sub, name):
    """The ``train-flow`` command."""
    p = sub.add_parser(
        name, help="train the conditional latent flow on a trained encoder",
        description="Encode the training split with the frozen encoder and fit the "
                    "conditional Masked Autoregressive Flow p(z | conditions).  With "
                    "--from-module the encoder and decoder are an exported module's (a new "
                    "prior for a shipped network).")
    add_recipe_args(p)
    _add_run_args(p)
    p.add_argument("--from-module", default=None, metavar="MODULE",
                   help="hub:NAME or a module directory whose network becomes the run's "
                        "trained model (written as its checkpoint in an output_dir that holds "
                        "no run; the recipe must describe its architecture)")
    p.set_defaults(func=_train_flow)
    return p


def add_train_prior(sub, name):
    """The ``train-prior`` command."""
    p = sub.add_parser(
        name, help="fit the latent flow through the frozen decoder's likelihood of the stamps",
        description="Starting from the run's latent flow (model train-flow), refit it through "
                    "the frozen decoder's likelihood of the training stamps: a prior of the "
                    "galaxies' codes rather than of codes inferred stamp by stamp.  "
                    "--objective marginal (the recipe's marginal_prior section; "
                    "OUTPUT_DIR/marginal_prior) maximises an importance-weighted estimate "
                    "of the stamps' marginal likelihood over draws kept once, in rounds "
                    "whose proposals follow the fitted flow; --objective elbo (elbo_prior "
                    "section; OUTPUT_DIR/elbo_prior) fits the flow as the ELBO's prior, the "
                    "encoder fine-tuned beside it.  Export the result with --set "
                    "export.prior=marginal_prior/round-2 (or elbo_prior).")
    add_recipe_args(p)
    p.add_argument("--objective", choices=("marginal", "elbo"), default="marginal",
                   help="the stamps' importance-weighted marginal likelihood (default) or the "
                        "ELBO")
    _add_run_args(p)
    p.set_defaults(func=_train_prior)
    return p


def _train_prior(args):
    recipe = recipe_from_args(args)
    if args.objective == "elbo":
        from ..training.elbo_prior import train_elbo_prior

        log = train_elbo_prior(recipe, progress=not args.quiet, stop_at=args.stop_at)
        _print_run("ELBO prior", log)
        return 0
    from ..training.marginal_prior import train_marginal_prior

    report = train_marginal_prior(recipe, progress=not args.quiet, stop_at=args.stop_at)
    for row in report["rounds"]:
        lm = row["test_log_marginal"]
        ess = row["ess_train"]["all"]
        print(f"round {row['round']}: held-out log marginal likelihood {lm['fitted']:.2f} "
              f"nats per galaxy ({lm['change']:+.2f} +- {lm['change_error']:.2f} against the "
              f"starting flow); effective sample size median {ess['median']:.2f} of "
              f"{report['draws']}")
    return 0


def add_train_long(sub, name):
    """The ``train-long`` command."""
    p = sub.add_parser(
        name, help="a long Flow-VAE run in legs, scoring itself on an evaluation file",
        description="Train a Flow-VAE recipe to its vae.steps in legs of --score-every steps; "
                    "after each leg score the checkpoint's reconstructions of the evaluation "
                    "file (and, every --sample-every steps, its samples through a quick "
                    "latent flow), append the scores to OUTPUT_DIR/learning_curve.json and "
                    "redraw its figures.  The same command continues the run after any "
                    "interruption, with its optimizer state, and scores what was not scored.")
    add_recipe_args(p)
    p.add_argument("--eval", required=True, metavar="FILE",
                   help="the evaluation file: a mock dataset with a new seed, every galaxy in "
                        "its test split (dataset build ... --n 8000 --n-test 8000 --seed 55)")
    p.add_argument("--score-every", type=int, default=2500,
                   help="steps between reconstruction scores (default 2500)")
    p.add_argument("--sample-every", type=int, default=10000,
                   help="steps between sample scores, a multiple of --score-every "
                        "(default 10000)")
    p.add_argument("--n-score", type=int, default=2000,
                   help="evaluation galaxies of the reconstruction scores (default 2000)")
    p.add_argument("--n-shear", type=int, default=3000,
                   help="evaluation galaxies of the shear scores (default 3000)")
    p.add_argument("--shear-psfs", default=None,
                   help="survey PSFs of the shear scores, comma separated (default the "
                        "views of 'checks: shear' in survey_views.yaml)")
    p.add_argument("--flat-window", type=int, default=20000,
                   help="stop early once every tracked curve is flat over this many steps "
                        "(0: never; default 20000)")
    p.add_argument("--reference", default=None, metavar="MODEL",
                   help="a Flow-VAE module scored once on the same galaxies (hub:NAME[@VERSION] "
                        "or a module directory), with --reference-recipe")
    p.add_argument("--reference-recipe", default=None,
                   help="the recipe of --reference's network (a shipped name or a path)")
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes of the shear measure (default: every CPU)")
    p.add_argument("--status", action="store_true",
                   help="print the learning curve so far as reStructuredText tables and the "
                        "curves' slopes, and exit (no training, no scoring)")
    _add_run_args(p)
    p.set_defaults(func=_train_long)
    return p


def _train_long(args):
    from ..core.errors import InputError
    from ..diagnostics.long_run import train_long
    from ..training.recipes import load_recipe
    from . import positive

    for option in ("score_every", "sample_every", "n_score", "n_shear"):
        positive(f"--{option.replace('_', '-')}", getattr(args, option))
    if (args.reference is None) != (args.reference_recipe is None):
        raise InputError("--reference and --reference-recipe go together: the module and the "
                         "recipe of its network (e.g. --reference "
                         "hub:flow-vae-mock-cosmos-25.2@1.1.1 --reference-recipe "
                         "mock-cosmos-25.2-64)")
    recipe = recipe_from_args(args)
    if args.status:
        from pathlib import Path

        from ..diagnostics.long_run import CURVE_FILE, LearningCurve, curve_table

        path = Path(recipe["output_dir"]) / CURVE_FILE
        if not path.is_file():
            raise InputError(f"no learning curve at {path}: start the run with the same "
                             f"command without --status")
        curve = LearningCurve(path).data
        print("\n".join(curve_table(curve)))
        _print_slopes(curve)
        return 0
    curve = train_long(
        recipe, args.eval, score_every=args.score_every, sample_every=args.sample_every,
        n_score=args.n_score, stop_at=args.stop_at, flat_window=args.flat_window,
        reference=None if args.reference is None else _init_source(args.reference),
        reference_recipe=None if args.reference is None else load_recipe(args.reference_recipe),
        sample_options={"n_shear": args.n_shear, "shear_psfs": _shear_psfs(args.shear_psfs)},
        processes=args.processes, progress=not args.quiet)
    stopped = curve["stopped"]
    print(f"stopped at step {stopped['step']} ({stopped['reason']}); "
          f"{len(curve['rows'])} scored steps in {recipe['output_dir']}/learning_curve.json")
    _print_slopes(curve, args.flat_window)
    return 0


def _shear_psfs(text):
    """``--shear-psfs``: the names given, or the shear check's (survey_views.yaml)."""
    if text is None:
        from ..diagnostics.sample_scores import shear_psf_names

        return list(shear_psf_names())
    return [name.strip() for name in text.split(",")]


def _print_slopes(curve, window=20000):
    from ..diagnostics.long_run import flat_curves

    flat = flat_curves(curve, window)
    if not flat["scores"]:
        print(f"slopes: the scores do not span {window:,} steps yet")
    for name, s in flat["scores"].items():
        print(f"  {name}: slope {s['slope']:+.3g} +- {s['error']:.2g} per 10,000 steps over "
              f"the last {window:,}")


def add_distill(sub, name):
    """The ``distill`` command."""
    p = sub.add_parser(
        name, help="distil a module's Flow-VAE decoder into a narrower, cheaper one",
        description="Train a student decoder (fewer channels) to draw what a module's "
                    "Flow-VAE decoder draws (a Flow-VAE's, or an equivariant VAE's "
                    "canonical galaxy, which the module turns by its pose), on the codes "
                    "its latent flow gives its own population; then, with --export, write "
                    "a module with the student decoder and the teacher's encoder and flow. "
                    "Checkpoints go to --out; "
                    "running the same command again resumes from the latest one.")
    p.add_argument("teacher", help="the module (Flow-VAE or equivariant VAE): "
                                   "hub:NAME[@VERSION], a module "
                                   "directory, archive or URL")
    p.add_argument("--out", required=True, help="the run's folder (checkpoints, run log)")
    p.add_argument("--teacher-recipe", default=None,
                   help="the teacher's recipe (default: the shipped recipe its metadata names)")
    _add_student_args(p)
    _add_distilled_module_args(p)
    _add_run_args(p)
    p.set_defaults(func=_distill)
    return p


def _add_student_args(p):
    """The student's training options of ``model distill``: its channels, the optimiser,
    the loss's outer-light and annulus terms, the batches' magnitude mix, its start and
    gradient clipping."""
    p.add_argument("--base-depth", type=int, default=8,
                   help="the student's channels at full resolution (default 8)")
    p.add_argument("--max-depth", type=int, default=32,
                   help="the student's largest channel count (default 32)")
    p.add_argument("--steps", type=int, default=20000, help="training steps (default 20000)")
    p.add_argument("--batch-size", type=int, default=64, help="galaxies per step (default 64)")
    p.add_argument("--learning-rate", type=float, default=1e-3,
                   help="Adam's initial learning rate, cosine-decayed to 0 (default 0.001)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--outer-flux-weight", type=float, default=0.0,
                   help="weight of the loss's outer-light term: the squared error of the "
                        "flux beyond --outer-radius as a share of the galaxy's (default 0: "
                        "off)")
    p.add_argument("--outer-radius", type=float, default=28.0,
                   help="pixels from the stamp's centre beyond which the outer light is "
                        "counted (default 28)")
    p.add_argument("--annulus-weight", type=float, default=0.0,
                   help="weight of the loss's annulus term: the relative L2 error of each "
                        "1-pixel annulus, averaged over the annuli (default 0: off)")
    p.add_argument("--annulus-floor", type=float, default=1e-4,
                   help="an annulus's target power counts as at least this share of the "
                        "galaxy's (default 1e-4)")
    p.add_argument("--flat-magnitude-share", type=float, default=0.0, metavar="F",
                   help="the share of each batch drawn flat in mag_auto (0.5-mag bins) "
                        "rather than as the teacher's population, which holds few of the "
                        "bright, large galaxies (default 0)")
    p.add_argument("--init-from", default=None, metavar="RUN",
                   help="start the student from another distillation run's latest student "
                        "(its folder) or a checkpoint, of the same channels: a fine-tuning")
    p.add_argument("--clip-norm", type=float, default=None, metavar="NORM",
                   help="clip each step's gradients to this global norm (default: none); "
                        "steadies a student that the flow's rare far-out codes throw dark")


def _add_distilled_module_args(p):
    """What ``model distill`` does after the last step: write the distilled module
    (``--export``), then compare it with its teacher and judge its fidelity."""
    p.add_argument("--export", default=None, metavar="MODULE_DIR",
                   help="after the last step, write the distilled module here")
    p.add_argument("--name", default=None, help="the distilled module's name (default: the "
                                                "teacher's, with -distilled)")
    p.add_argument("--version", default=None,
                   help="the distilled module's version (default: the teacher's)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --export module")
    p.add_argument("--compare", type=int, default=0, metavar="N",
                   help="after --export, measure N galaxies of the distilled module against "
                        "the teacher's, draw for draw (flux, HSM size, |g|), into "
                        "OUT/compare.json")
    p.add_argument("--judge", default=None, metavar="EVAL_FILE",
                   help="after --export, the fidelity check on this evaluation file "
                        "(galsim-deep validation student: the student and the teacher in one "
                        "survey-view table, every line within 1 sigma of the teacher or in "
                        "the student's favour), into OUT/fidelity; exit status 1 if it fails")
    p.add_argument("--judge-n", type=int, default=None, metavar="N",
                   help="the evaluation file's first N galaxies for --judge (default all)")


def _print_run(what, log):
    rate = log.get("seconds_per_step")
    rate = f", {rate:.3f} s/step" if rate else ""
    print(f"{what}: {log['steps']} steps in {log['wall_time_s']:.1f} s of training{rate}; "
          f"checkpoint {log.get('checkpoint')}")


def _init_source(name):
    """A local path for ``--init-from``: hub names and archives are resolved to modules.  A
    distilled module (its decoder a student of fewer channels than the recipe's) starts
    the run from its teacher, whose network the recipe describes."""
    import sys
    from pathlib import Path

    from ..core.module_format import METADATA_FILE, read_metadata
    from ..data.hub import resolve

    path = Path(name).expanduser()
    source = path if path.is_dir() or Path(str(path) + ".index").is_file() else resolve(name)
    if (Path(source) / METADATA_FILE).is_file():
        teacher = read_metadata(source).get("provenance", {}).get("distilled_from")
        if teacher:
            print(f"--init-from {name}: its decoder is a distilled student; the run starts "
                  f"from its teacher, hub:{teacher}", file=sys.stderr)
            return _init_source(f"hub:{teacher}")
    return source


def _train_model(args):
    from ..training.families import get_family
    from ..training.runner import run_family

    recipe = recipe_from_args(args)
    family = get_family(recipe.get("family", "flow-vae"))
    init = None if args.init_from is None else _init_source(args.init_from)
    log = run_family(recipe, family, progress=not args.quiet, stop_at=args.stop_at,
                     init_from=init)
    _print_run(family.name, log)
    for line in family.summary(log):
        print(line)
    done = log["steps"] >= family.steps(recipe)
    if done and not family.has_latent_flow:  # a density of the stamps: nothing to add
        print(f"next: galsim-deep hub export {args.recipe} --out MODULE_DIR")
        return 0
    if args.with_flow and done:
        return _train_flow(args, recipe)
    if done:
        print(f"next: galsim-deep model train-flow {args.recipe}")
    return 0


def _train_flow(args, recipe=None):
    from ..training.latent_flow import train_latent_flow

    from ..core.errors import InputError
    from ..training.families import family_of

    chained = recipe is not None  # after `model train --with-flow`: --stop-at was the model's
    recipe = recipe or recipe_from_args(args)
    if not family_of(recipe).has_latent_flow:
        raise InputError(f"recipe {recipe['name']!r} is a {recipe['family']!r} recipe, whose "
                         f"model is a density of the stamps with no latent flow; export it "
                         f"with `galsim-deep hub export {recipe['name']} --out MODULE_DIR`")
    if getattr(args, "from_module", None):
        from ..data.hub import resolve
        from ..training.runner import adopt_module

        step = adopt_module(recipe, family_of(recipe), resolve(args.from_module))
        print(f"{args.from_module}'s network is the model of {recipe['output_dir']} "
              f"(step {step})")
    log = train_latent_flow(recipe, progress=not args.quiet,
                            stop_at=None if chained else args.stop_at)
    _print_run("latent flow", log)
    if "test_log_prob" in log["metrics"]:
        print(f"mean log p(z | conditions) of the test split: "
              f"{log['metrics']['test_log_prob']:.3f} nats")
    return 0


def _distill(args):
    from ..core.module_format import read_metadata
    from ..data.hub import resolve
    from ..training.distill import distill_decoder, export_distilled

    log = distill_decoder(args.teacher, args.out, base_depth=args.base_depth,
                          max_depth=args.max_depth, steps=args.steps,
                          batch_size=args.batch_size, learning_rate=args.learning_rate,
                          seed=args.seed, teacher_recipe=args.teacher_recipe,
                          progress=not args.quiet, stop_at=args.stop_at,
                          loss={"outer_flux_weight": args.outer_flux_weight,
                                "outer_radius": args.outer_radius,
                                "annulus_weight": args.annulus_weight,
                                "annulus_floor": args.annulus_floor},
                          flat_magnitude_share=args.flat_magnitude_share,
                          init_from=args.init_from, clip_norm=args.clip_norm)
    _print_run("student decoder", log)
    m = log["metrics"]
    print(f"held-out relative error {m['test_relative_error']:.4f}; student / teacher flux "
          f"{m['test_flux_ratio']:.4f} +- {m['test_flux_ratio_std']:.4f}, light beyond "
          f"{args.outer_radius:g} px {m['test_outer_light_ratio']:.3f}")
    if args.export and log["steps"] >= args.steps:
        teacher = read_metadata(resolve(args.teacher))
        out = export_distilled(args.out, args.export,
                               args.name or f"{teacher['name']}-distilled",
                               args.version or teacher["version"], overwrite=args.overwrite)
        print(f"exported the distilled module to {out}")
        if args.compare:
            _compare(out, args)
        if args.judge:
            return 0 if _judge(out, args) else 1
    return 0


def _judge(module, args):
    """The fidelity check of the exported student against its teacher, in OUT/fidelity."""
    from pathlib import Path

    from .release import judge_student, scoring_options

    scoring = scoring_options(args.judge, Path(args.out) / "fidelity", n=args.judge_n,
                              quiet=args.quiet)
    return judge_student(module, args.teacher, scoring)


def _compare(module, args):
    """Measure the distilled module against its teacher and write OUT/compare.json."""
    from pathlib import Path

    from ..core.files import atomic_path
    from ..diagnostics.student_check import compare_with_teacher

    scores = compare_with_teacher(module, args.teacher, n=args.compare)
    with atomic_path(Path(args.out) / "compare.json") as tmp:
        tmp.write_text(json.dumps(scores, indent=1))
    print(f"against the teacher, {scores['n']} galaxies (mean +- error): student / teacher "
          f"flux {_pm(scores['flux_ratio'])}, size {_pm(scores['size_ratio'])}; |g| "
          f"difference {_pm(scores['g_difference'])} (teacher <|g|> "
          f"{_pm(scores['teacher_mean_g'])}, student {_pm(scores['student_mean_g'])})")


def _pm(value):
    return f"{value[0]:.4f} +- {value[1]:.4f}"
