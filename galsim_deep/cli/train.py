"""``galsim-deep train flow-vae|mpcc|flow RECIPE`` and ``galsim-deep export RECIPE --out DIR``.

A RECIPE is a shipped recipe's name (``mock-cosmos-64``, ``cosmos-128``,
``tiny``; ``mpcc-mock-cosmos-64``, ``mpcc-cosmos-128``, ``mpcc-tiny``) or the
path of a recipe YAML file; ``--set KEY=VALUE`` overrides any of its keys
(``--set vae.steps=2000 --set dataset.path=my.h5``).  ``train flow`` and
``export`` work for both families, dispatching on the recipe's ``family``.
"""
import json


def add_recipe_args(p):
    """Add the RECIPE argument and ``--set KEY=VALUE`` overrides to a command's parser."""
    p.add_argument("recipe", help="shipped recipe name (mock-cosmos-64, cosmos-128, tiny, "
                                  "mpcc-mock-cosmos-64, mpcc-cosmos-128, mpcc-tiny) or "
                                  "path of a recipe YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set vae.steps=100 (repeatable)")


def register(subparsers):
    """Add the ``train`` and ``export`` commands."""
    train = subparsers.add_parser(
        "train", help="train a generative model from a recipe (resumes interrupted runs)",
        description="Train the parts of a model from a recipe: first the Flow-VAE "
                    "autoencoder (flow-vae) or the MPCC GAN with its encoder (mpcc), then "
                    "the latent flow on the frozen encoder (flow). Checkpoints go to the "
                    "recipe's output_dir; running the same command again resumes from the "
                    "latest one.")
    sub = train.add_subparsers(dest="train_command", metavar="PART")
    sub.required = True

    p = sub.add_parser("flow-vae", help="train the Flow-VAE autoencoder (VAE) of a recipe",
                       description="Train the ResNet VAE of a recipe through the PSF and noise "
                                   "model (pixel or Fourier likelihood, free bits, TV).")
    add_recipe_args(p)
    p.add_argument("--with-flow", action="store_true",
                   help="then train the latent flow too (as `galsim-deep train flow`)")
    p.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                   help="stop (with a checkpoint) after this step; run again to resume")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_train_vae)

    p = sub.add_parser("mpcc", help="train an MPCC model (GMM-prior GAN with encoder) of a recipe",
                       description="Train the MPCC model of a recipe (Algorithm 1 of Astorga "
                                   "2021: D_steps discriminator updates, one generator + prior "
                                   "update, E_steps encoder updates), the generated profiles "
                                   "convolved with training PSFs and given training noise.")
    add_recipe_args(p)
    p.add_argument("--with-flow", action="store_true",
                   help="then train the latent flow on its encoder (as `galsim-deep train flow`)")
    p.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                   help="stop (with a checkpoint) after this step; run again to resume")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_train_mpcc)

    p = sub.add_parser("flow", help="train the conditional latent flow on a trained encoder",
                       description="Encode the training split with the frozen encoder and fit "
                                   "the conditional Masked Autoregressive Flow p(z | conditions).")
    add_recipe_args(p)
    p.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                   help="stop (with a checkpoint) after this step; run again to resume")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_train_flow)

    p = subparsers.add_parser(
        "export", help="write a trained Flow-VAE or MPCC model as a hub module (+ .tar.gz)",
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


def recipe_from_args(args):
    """Load the recipe named by :func:`add_recipe_args`'s arguments, with its overrides."""
    from ..training.recipes import load_recipe

    return load_recipe(args.recipe, args.overrides)


def _print_run(what, log):
    rate = log.get("seconds_per_step")
    rate = f", {rate:.3f} s/step" if rate else ""
    print(f"{what}: {log['steps']} steps in {log['wall_time_s']:.1f} s of training{rate}; "
          f"checkpoint {log.get('checkpoint')}")


def _check_family(recipe, family, command):
    if recipe.get("family", "flow-vae") != family:
        raise ValueError(f"recipe {recipe['name']!r} is a {recipe.get('family')!r} recipe; "
                         f"train it with `galsim-deep train {command}`")


def _train_vae(args):
    from ..training.train_flow_vae import train_flow_vae

    recipe = recipe_from_args(args)
    _check_family(recipe, "flow-vae", "mpcc")
    log = train_flow_vae(recipe, progress=not args.quiet, stop_at=args.stop_at)
    _print_run("VAE", log)
    if args.with_flow and log["steps"] >= recipe["vae"]["steps"]:
        return _train_flow(args, recipe)
    if log["steps"] >= recipe["vae"]["steps"]:
        print(f"next: galsim-deep train flow {args.recipe}")
    return 0


def _train_mpcc(args):
    from ..training.mpcc.train import train_mpcc

    recipe = recipe_from_args(args)
    _check_family(recipe, "mpcc", "flow-vae")
    log = train_mpcc(recipe, progress=not args.quiet, stop_at=args.stop_at)
    _print_run("MPCC", log)
    if "test_cluster_accuracy" in log["metrics"]:
        print(f"clustering accuracy of the test split (Eq. 8.1): "
              f"{log['metrics']['test_cluster_accuracy']:.3f}")
    if args.with_flow and log["steps"] >= recipe["mpcc"]["steps"]:
        return _train_flow(args, recipe)
    if log["steps"] >= recipe["mpcc"]["steps"]:
        print(f"next: galsim-deep train flow {args.recipe}")
    return 0


def _train_flow(args, recipe=None):
    from ..training.train_latent_flow import train_latent_flow

    chained = recipe is not None  # after `train flow-vae --with-flow`: --stop-at was the VAE's
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

    from ..training.export import make_archive
    from ..training.flow_vae.export import export_flow_vae

    recipe = recipe_from_args(args)
    run = Path(recipe["output_dir"])
    if recipe.get("family", "flow-vae") == "mpcc":
        from ..training.mpcc.export import export_mpcc

        out = export_mpcc(run / "mpcc", run / "flow", recipe, args.out, name=args.name,
                          version=args.version, overwrite=args.overwrite)
    else:
        out = export_flow_vae(run / "vae", run / "flow", recipe, args.out, name=args.name,
                              version=args.version, overwrite=args.overwrite)
    from ..module_format import read_metadata

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
