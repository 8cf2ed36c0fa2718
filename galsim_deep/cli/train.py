"""``galsim-deep train FAMILY|flow|export|classifier ...``: everything that fits weights.

* ``galsim-deep train flow-vae RECIPE`` / ``train mpcc RECIPE`` (one command per
  registered model family, :mod:`galsim_deep.training.families`) - train the
  model of a recipe; ``--init-from hub:NAME|PATH`` starts a new run from an
  exported module's (or a run's) weights, to fine-tune a shipped model on
  one's own stamps;
* ``galsim-deep train flow RECIPE`` - the conditional latent flow on the
  trained encoder (any family);
* ``galsim-deep train export RECIPE --out DIR`` - the trained model and flow as
  a hub module (+ ``.tar.gz``);
* ``galsim-deep train distill TEACHER --out RUN`` - a Flow-VAE module's
  decoder distilled into a narrower one (``--export DIR`` writes the module);
* ``galsim-deep train classifier --dataset D --out R`` - the supervised
  classifier that bounds a clustering accuracy.

A RECIPE is a shipped recipe's name (``galsim-deep train flow-vae --help``
lists them) or the path of a recipe YAML file; ``--set KEY=VALUE`` overrides
any of its keys (``--set vae.steps=2000 --set dataset.path=my.h5``).  Running
the same command again resumes an interrupted run from its latest checkpoint.
"""
import json

from . import add_group


def add_recipe_args(p):
    """Add the RECIPE argument and ``--set KEY=VALUE`` overrides to a command's parser."""
    from ..training.recipes import available_recipes

    p.add_argument("recipe", help="shipped recipe name (" + ", ".join(available_recipes(None))
                                  + ") or path of a recipe YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set vae.steps=100 (repeatable)")


def _add_run_args(p):
    p.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                   help="stop (with a checkpoint) after this step; run again to resume")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(subparsers):
    """Add the ``train`` command group."""
    from ..training.families import FAMILIES, get_family

    sub = add_group(subparsers, "train",
                    help="train models from recipes, export them, train classifiers",
                    description="Train the parts of a model from a recipe: first the model of "
                                "its family (flow-vae, mpcc), then the latent flow on the "
                                "frozen encoder (flow), then export it as a hub module. "
                                "Checkpoints go to the recipe's output_dir; running the same "
                                "command again resumes from the latest one.")
    for name in FAMILIES:
        family = get_family(name)
        doc = (type(family).__doc__ or name).strip().splitlines()[0]
        p = sub.add_parser(name, help=f"train a {name} model: {doc}", description=doc)
        add_recipe_args(p)
        p.add_argument("--init-from", default=None, metavar="MODEL",
                       help="start a new run from these weights: hub:NAME[@VERSION], an "
                            "exported module directory or archive, or a run's checkpoint "
                            "folder (fine-tuning; ignored when resuming)")
        p.add_argument("--with-flow", action="store_true",
                       help="then train the latent flow too (as `galsim-deep train flow`)")
        _add_run_args(p)
        p.set_defaults(func=_train_model, family=name)

    p = sub.add_parser("flow", help="train the conditional latent flow on a trained encoder",
                       description="Encode the training split with the frozen encoder and fit "
                                   "the conditional Masked Autoregressive Flow p(z | conditions).")
    add_recipe_args(p)
    _add_run_args(p)
    p.set_defaults(func=_train_flow)

    p = sub.add_parser(
        "export", help="write a trained model and its latent flow as a hub module (+ .tar.gz)",
        description="Export the latest checkpoints of a recipe's run as a galsim_deep module "
                    "(SavedModel + metadata with sample, encode, decode and log_prob "
                    "signatures; MPCC adds sample_cluster and cluster) and print its "
                    "index.json entry.")
    add_recipe_args(p)
    p.add_argument("--out", required=True, help="module directory to write")
    p.add_argument("--name", default=None, help="module name (default: the recipe's)")
    p.add_argument("--version", default=None, help="module version (default: the recipe's)")
    p.add_argument("--archive", action="store_true",
                   help="also write OUT.tar.gz and print its sha256 and size")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "distill", help="distil a Flow-VAE module's decoder into a narrower, cheaper one",
        description="Train a student decoder (fewer channels) to draw what a Flow-VAE "
                    "module's decoder draws, on the codes its latent flow gives its own "
                    "population; then, with --export, write a module with the student "
                    "decoder and the teacher's encoder and flow. Checkpoints go to --out; "
                    "running the same command again resumes from the latest one.")
    p.add_argument("teacher", help="the Flow-VAE module: hub:NAME[@VERSION], a module "
                                   "directory, archive or URL")
    p.add_argument("--out", required=True, help="the run's folder (checkpoints, run log)")
    p.add_argument("--teacher-recipe", default=None,
                   help="the teacher's recipe (default: the shipped recipe its metadata names)")
    p.add_argument("--base-depth", type=int, default=8,
                   help="the student's channels at full resolution (default 8)")
    p.add_argument("--max-depth", type=int, default=32,
                   help="the student's largest channel count (default 32)")
    p.add_argument("--steps", type=int, default=20000, help="training steps (default 20000)")
    p.add_argument("--batch-size", type=int, default=64, help="galaxies per step (default 64)")
    p.add_argument("--learning-rate", type=float, default=1e-3,
                   help="Adam's initial learning rate, cosine-decayed to 0 (default 0.001)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
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
    _add_run_args(p)
    p.set_defaults(func=_distill)

    p = sub.add_parser(
        "classifier", help="supervised ceiling for a clustering accuracy on a mock dataset",
        description="Train a small convolutional classifier with the morphology labels of a "
                    "mock dataset's training split and score it on the test split: how "
                    "separable the classes are in these noisy stamps, the number to read a "
                    "clustering accuracy against. Writes ceiling.json, ceiling.md and "
                    "ceiling_confusion.png; an interrupted run resumes at its last epoch.")
    p.add_argument("--dataset", required=True, help="mock stamp dataset (HDF5) with labels")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--epochs", type=int, default=8,
                   help="passes over the training split (default 8)")
    p.add_argument("--batch-size", type=int, default=64, help="stamps per step (default 64)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the weights, shuffling and augmentation (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_classifier)


def recipe_from_args(args):
    """Load the recipe named by :func:`add_recipe_args`'s arguments, with its overrides."""
    from ..training.recipes import load_recipe

    return load_recipe(args.recipe, args.overrides)


def _print_run(what, log):
    rate = log.get("seconds_per_step")
    rate = f", {rate:.3f} s/step" if rate else ""
    print(f"{what}: {log['steps']} steps in {log['wall_time_s']:.1f} s of training{rate}; "
          f"checkpoint {log.get('checkpoint')}")


def _init_source(name):
    """A local path for ``--init-from``: hub names and archives are resolved to modules."""
    from pathlib import Path

    from ..hub import resolve

    path = Path(name).expanduser()
    if path.is_dir() or Path(str(path) + ".index").is_file():
        return path
    return resolve(name)


def _train_model(args):
    from ..errors import InputError
    from ..training.families import get_family

    recipe = recipe_from_args(args)
    family = get_family(args.family)
    if recipe.get("family", "flow-vae") != family.name:
        raise InputError(f"recipe {recipe['name']!r} is a {recipe.get('family')!r} recipe; "
                         f"train it with `galsim-deep train {recipe.get('family')}`")
    init = None if args.init_from is None else _init_source(args.init_from)
    log = family.train(recipe, progress=not args.quiet, stop_at=args.stop_at, init_from=init)
    _print_run(family.name, log)
    for line in family.summary(log):
        print(line)
    done = log["steps"] >= family.steps(recipe)
    if args.with_flow and done:
        return _train_flow(args, recipe)
    if done:
        print(f"next: galsim-deep train flow {args.recipe}")
    return 0


def _train_flow(args, recipe=None):
    from ..training.latent_flow import train_latent_flow

    chained = recipe is not None  # after `train FAMILY --with-flow`: --stop-at was the model's
    recipe = recipe or recipe_from_args(args)
    log = train_latent_flow(recipe, progress=not args.quiet,
                            stop_at=None if chained else args.stop_at)
    _print_run("latent flow", log)
    if "test_log_prob" in log["metrics"]:
        print(f"mean log p(z | conditions) of the test split: "
              f"{log['metrics']['test_log_prob']:.3f} nats")
    return 0


def _export(args):
    from pathlib import Path

    from ..module_format import read_metadata
    from ..training.export import make_archive
    from ..training.families import family_of

    recipe = recipe_from_args(args)
    out = family_of(recipe).export(recipe, args.out, name=args.name, version=args.version,
                                   overwrite=args.overwrite)
    meta = read_metadata(out)
    entry = {"name": meta["name"], "version": meta["version"],
             "description": meta["description"]}
    if args.archive:
        archive = make_archive(out)
        entry.update(url=Path(archive["path"]).name, sha256=archive["sha256"],
                     size=archive["size"])
    print(f"exported {meta['name']} {meta['version']} to {out}")
    print(json.dumps(entry, indent=2))
    return 0


def _distill(args):
    from ..hub import resolve
    from ..module_format import read_metadata
    from ..training.distill import distill_decoder, export_distilled

    log = distill_decoder(args.teacher, args.out, base_depth=args.base_depth,
                          max_depth=args.max_depth, steps=args.steps,
                          batch_size=args.batch_size, learning_rate=args.learning_rate,
                          seed=args.seed, teacher_recipe=args.teacher_recipe,
                          progress=not args.quiet, stop_at=args.stop_at)
    _print_run("student decoder", log)
    m = log["metrics"]
    print(f"held-out relative error {m['test_relative_error']:.4f}; student / teacher flux "
          f"{m['test_flux_ratio']:.4f} +- {m['test_flux_ratio_std']:.4f}")
    if args.export and log["steps"] >= args.steps:
        teacher = read_metadata(resolve(args.teacher))
        out = export_distilled(args.out, args.export,
                               args.name or f"{teacher['name']}-distilled",
                               args.version or teacher["version"], overwrite=args.overwrite)
        print(f"exported the distilled module to {out}")
        if args.compare:
            _compare(out, args)
    return 0


def _compare(module, args):
    """Measure the distilled module against its teacher and write OUT/compare.json."""
    from pathlib import Path

    from .._io import atomic_path
    from ..training.distill import compare_with_teacher

    scores = compare_with_teacher(module, args.teacher, n=args.compare)
    with atomic_path(Path(args.out) / "compare.json") as tmp:
        tmp.write_text(json.dumps(scores, indent=1))
    print(f"against the teacher, {scores['n']} galaxies (mean +- error): student / teacher "
          f"flux {_pm(scores['flux_ratio'])}, size {_pm(scores['size_ratio'])}; |g| "
          f"difference {_pm(scores['g_difference'])} (teacher <|g|> "
          f"{_pm(scores['teacher_mean_g'])}, student {_pm(scores['student_mean_g'])})")


def _pm(value):
    return f"{value[0]:.4f} +- {value[1]:.4f}"


def _classifier(args):
    from ..training.classifier import train_ceiling_classifier

    report = train_ceiling_classifier(args.dataset, args.out, epochs=args.epochs,
                                      batch_size=args.batch_size, seed=args.seed,
                                      progress=not args.quiet)
    print(f"supervised test accuracy {report['accuracy']:.3f} on {report['n_test']} galaxies "
          f"({report['seconds']:.0f} s); report written to {args.out}")
    return 0
