"""``galsim-deep validate`` (the validation report), ``galsim-deep reconstruct``
(reconstructions of the mock truth against Sérsic fits) and ``galsim-deep
latent-fit`` (how much of the reconstruction error is the encoder's)."""
from .train import add_recipe_args, recipe_from_args


def register(subparsers):
    """Add the ``validate``, ``reconstruct`` and ``latent-fit`` commands."""
    p = subparsers.add_parser(
        "validate",
        help="compare real, parametric and generated galaxies (sizes, shapes, Gini, M20, M, I, D)",
        description="Draw the real, parametric (Sersic) and generated versions of the galaxies "
                    "of a stamp dataset with matched PSF and noise, measure HSM moments and "
                    "statmorph statistics, and write PNG figures, summary.md and summary.json "
                    "into the report directory.  On mock datasets a fourth sample, the twin "
                    "(the truth of the training galaxy nearest in the conditions, observed "
                    "like the galaxy), measures the floor set by the data.  An interrupted "
                    "run resumes.")
    p.add_argument("model", help="hub:NAME[@VERSION], a module directory, archive or URL")
    p.add_argument("--dataset", required=True, help="stamp dataset (HDF5) conditioning the model")
    p.add_argument("--out", required=True, help="report directory (created)")
    p.add_argument("--n", type=int, default=2000,
                   help="number of galaxies, a seeded random subset of the split "
                        "(default 2000; 0 = all)")
    p.add_argument("--split", default="test", choices=("test", "train", "all"),
                   help="dataset split (default test)")
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes for the measurements (default: all cores)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="galaxies per model evaluation (default: the model's)")
    p.add_argument("--no-twin", action="store_true",
                   help="skip the twin sample (drawn by default when the dataset has a truth)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_validate)

    p = subparsers.add_parser(
        "reconstruct",
        help="compare a module's reconstructions of mock galaxies with the truth and Sersic fits",
        description="Encode each stamp of a mock dataset with its PSF, decode it, and compare "
                    "the unconvolved reconstruction with the noiseless truth, beside the best "
                    "single-Sersic fit to the same stamp through its PSF and the mock's own "
                    "Sersic component.  Writes reconstruction.json, .md and .png.")
    p.add_argument("model", help="hub:NAME[@VERSION], a module directory, archive or URL")
    p.add_argument("--dataset", required=True, help="mock stamp dataset (HDF5) with the truth")
    p.add_argument("--out", required=True, help="report directory (created)")
    p.add_argument("--n", type=int, default=1000,
                   help="the first N galaxies of the split (default 1000; 0 = all)")
    p.add_argument("--split", default="test", choices=("test", "train"),
                   help="dataset split (default test)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_reconstruct)

    p = subparsers.add_parser(
        "latent-fit",
        help="fit latent codes through a trained decoder: encoder vs decoder error",
        description="On a recipe's latest training checkpoint and its mock dataset, compare "
                    "the reconstruction residual against the noiseless truth of the "
                    "encoder's code, of the MAP code (fitted to the stamp through its PSF) "
                    "and of the best code for the truth (the decoder's floor), beside a "
                    "Sersic fit.  Writes latent_fit.json, .md and .png.")
    add_recipe_args(p)
    p.add_argument("--out", required=True, help="report directory (created)")
    p.add_argument("--n", type=int, default=300,
                   help="the first N galaxies of the split (default 300)")
    p.add_argument("--steps", type=int, default=300, help="Adam steps per fit (default 300)")
    p.add_argument("--learning-rate", type=float, default=0.03,
                   help="Adam step size in latent units (default 0.03)")
    p.add_argument("--split", default="test", choices=("test", "train"),
                   help="dataset split (default test)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_latent_fit)


def _validate(args):
    from ..validation.pipeline import validate

    if args.n < 0:
        raise ValueError(f"--n must be >= 0 (0 = every galaxy of the split), got {args.n}")
    report = validate(args.model, args.dataset, args.out, n=args.n or None, split=args.split,
                      seed=args.seed, processes=args.processes, batch_size=args.batch_size,
                      twin=False if args.no_twin else None, progress=not args.quiet)
    others = [s for s in report["samples"] if s != report["reference"]]
    print(f"validated {report['run']['model_name']} on {report['n_galaxies']} galaxies "
          f"in {report['run']['total_seconds']:.1f} s; report in {args.out}")
    for stat in ("sigma_arcsec", "g", "gini", "m20", "multimode", "intensity", "deviation"):
        cells = []
        for s in others:
            w = report["distances"][s][stat]["wasserstein"]
            cells.append(f"W({s})={'n/a' if w is None else format(w, '.4g')}")
        print(f"  {stat:13s} " + "  ".join(cells))
    return 0


def _reconstruct(args):
    from ..model import GenerativeGalaxyModel
    from ..validation.reconstruction import reconstruction_report, write_reconstruction_report

    if args.n < 0:
        raise ValueError(f"--n must be >= 0 (0 = every galaxy of the split), got {args.n}")
    report = reconstruction_report(GenerativeGalaxyModel(args.model), args.dataset,
                                   split=args.split, n=args.n or None, progress=not args.quiet)
    write_reconstruction_report(report, args.out)
    print(f"reconstructed {report['n']} galaxies; report in {args.out}")
    for key in ("model", "fitted_sersic", "true_sersic"):
        s = report[key]
        better = s["fraction_model_better"]
        print(f"  {key:14s} median relative residual {s['median_relative_residual']:.4f}"
              + ("" if better is None else f"  (module better for {100 * better:.1f}%)"))
    return 0


def _latent_fit(args):
    from ..training.latent_fit import latent_fit_report, write_latent_fit_report

    report = latent_fit_report(recipe_from_args(args), n=args.n, steps=args.steps,
                               learning_rate=args.learning_rate, split=args.split,
                               progress=not args.quiet)
    write_latent_fit_report(report, args.out)
    print(f"fitted the codes of {report['n']} galaxies; report in {args.out}")
    for key, s in report["residuals"].items():
        print(f"  {key:14s} median relative residual {s['median_relative_residual']:.4f}")
    return 0
