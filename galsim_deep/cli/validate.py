"""``galsim-deep validate report|reconstruct|cluster|latent|latent-fit|compare``: every measurement.

* ``validate report MODEL --dataset D --out R`` - real, parametric (Sérsic),
  twin and generated galaxies of a dataset side by side: sizes, shapes, Gini,
  M20, M, I, D;
* ``validate reconstruct MODEL --dataset D --out R`` - reconstructions of mock
  galaxies against the truth and Sérsic fits;
* ``validate cluster MODEL --dataset D --out R`` - clustering accuracy and
  per-cluster figures of an MPCC module;
* ``validate latent --model M --dataset D --out R`` - linear probe, anomaly
  AUROCs and precision@k of a module's latent codes;
* ``validate latent-fit RECIPE --out R`` - codes fitted through a training
  checkpoint's decoder: is the reconstruction error the encoder's?
* ``validate compare LABEL=DIR ...`` - several validation reports in one table.
"""
import json

from . import add_group
from .train import add_recipe_args, recipe_from_args


def _positive(name, value, zero_ok=False):
    from ..errors import InputError

    if value is not None and value < (0 if zero_ok else 1):
        raise InputError(f"{name} must be {'>= 0' if zero_ok else '>= 1'}, got {value}")


def register(subparsers):
    """Add the ``validate`` command group."""
    from ..hub import DEFAULT_MODEL

    subparsers = add_group(subparsers, "validate",
                           help="measure models: statistics, reconstructions, clusters, latent "
                                "space",
                           description="Measure a model against real (or mock) galaxies. "
                                       "Every command writes JSON, Markdown and PNG files "
                                       "into its report folder.")
    p = subparsers.add_parser(
        "report",
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
    p.set_defaults(func=_report)

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

    p = subparsers.add_parser(
        "cluster", help="clustering accuracy, reconstruction and per-cluster figures of an "
                        "MPCC module",
        description="Assign the galaxies of a stamp dataset to the clusters of an MPCC module "
                    "(q(y|x)), measure the clustering accuracy against the dataset's labels "
                    "with the best one-to-one cluster-class mapping (Hungarian algorithm), "
                    "the reconstruction error, and draw generated samples and real members "
                    "of each cluster. Writes clustering.json, clustering.md and PNG figures.")
    p.add_argument("model", help="hub:NAME, a module directory or a .tar.gz archive")
    p.add_argument("--dataset", required=True, help="stamp dataset (HDF5) to assign")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--split", default="test", choices=("test", "train", "all"),
                   help="dataset split (default test)")
    p.add_argument("--n", type=int, default=None, help="galaxies (default: the whole split)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the galaxy selection, figures and validation (default 0)")
    p.add_argument("--batch-size", type=int, default=64,
                   help="galaxies per network call (default 64)")
    p.add_argument("--per-cluster", type=int, default=8,
                   help="columns of the figures (default 8)")
    p.add_argument("--validate", action="store_true",
                   help="also run the size/ellipticity/morphology validation into OUT/validation")
    p.add_argument("--validation-n", type=int, default=500,
                   help="galaxies of the validation run (default 500)")
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes of the validation measurements")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cluster)

    p = subparsers.add_parser(
        "latent",
        help="linear-probe accuracy, anomaly AUROCs and precision@k of a model's codes",
        description="Encode a labelled (mock-COSMOS) dataset and measure: a linear probe of the "
                    "morphology class, the class-as-outlier AUROC of a flow fitted without "
                    "each class, the AUROC of non-galaxy stamps (stars, cosmic rays, hot "
                    "pixels, noise) under the module's flow, and precision@k by class.  "
                    "Writes report.json, report.md and PNGs; the codes are kept, so a second "
                    "run does not encode again.")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"Flow-VAE module (default {DEFAULT_MODEL})")
    p.add_argument("--dataset", required=True,
                   help="labelled mock-COSMOS stamp dataset with train and test splits")
    p.add_argument("--out", required=True, help="report folder (created)")
    p.add_argument("--max-train", type=int, default=5000,
                   help="training galaxies used (default 5000; 0 = all)")
    p.add_argument("--max-test", type=int, default=0, help="test galaxies used (0 = all)")
    p.add_argument("-k", type=int, default=10, help="neighbours for precision@k (default 10)")
    p.add_argument("--flow-steps", type=int, default=400,
                   help="Adam steps of each class-as-outlier flow (default 400)")
    p.add_argument("--n-non-galaxy", type=int, default=500,
                   help="stamps per non-galaxy kind (default 500)")
    p.add_argument("--held-out-classes", default=None, metavar="NAMES",
                   help="comma-separated classes to hold out in turn (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_latent_report)

    p = subparsers.add_parser(
        "compare", help="one table of several validation reports (e.g. Flow-VAE vs MPCC)",
        description="Put the real and generated means of size, ellipticity and morphology "
                    "statistics of several validation reports side by side (Markdown).")
    p.add_argument("reports", nargs="+", metavar="LABEL=DIR",
                   help="a column label and a report folder (with summary.json or "
                        "validation/summary.json), e.g. Flow-VAE=reports/flow-vae")
    p.add_argument("--out", default=None, help="write the table to this Markdown file")
    p.set_defaults(func=_compare)


def _report(args):
    from ..errors import InputError
    from ..validation.pipeline import validate

    if args.n < 0:
        raise InputError(f"--n must be >= 0 (0 = every galaxy of the split), got {args.n}")
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
    from ..errors import InputError
    from ..model import GenerativeGalaxyModel
    from ..validation.reconstruction import reconstruction_report, write_reconstruction_report

    if args.n < 0:
        raise InputError(f"--n must be >= 0 (0 = every galaxy of the split), got {args.n}")
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


def _cluster(args):
    from ..validation.clustering import evaluate_clusters

    for name in ("n", "batch-size", "per-cluster", "validation-n", "processes"):
        _positive(name, getattr(args, name.replace("-", "_")))
    report = evaluate_clusters(args.model, args.dataset, args.out, split=args.split, n=args.n,
                               seed=args.seed, batch_size=args.batch_size,
                               n_per_cluster=args.per_cluster, validate=args.validate,
                               validation_n=args.validation_n, processes=args.processes,
                               progress=not args.quiet)
    summary = {"n_galaxies": report["n_galaxies"], "cluster_counts": report["cluster_counts"],
               "reconstruction": report["reconstruction"]}
    if "clustering" in report:
        summary["accuracy"] = report["clustering"]["accuracy"]
        summary["mapping"] = report["clustering"]["mapping"]
    if "validation" in report:
        summary["validation"] = report["validation"]
    print(json.dumps(summary, indent=2, default=str))
    print(f"report written to {args.out}")
    return 0


def _latent_report(args):
    from ..latent.report import latent_report

    for name, value in (("--max-train", args.max_train), ("--max-test", args.max_test),
                        ("--flow-steps", args.flow_steps)):
        _positive(name, value, zero_ok=True)
    _positive("-k", args.k)
    _positive("--n-non-galaxy", args.n_non_galaxy)
    from ..training.latent_flow import fit_code_flow

    r = latent_report(args.model, args.dataset, args.out, fit_code_flow,
                      max_train=args.max_train or None,
                      max_test=args.max_test or None, k=args.k, flow_steps=args.flow_steps,
                      n_non_galaxy=args.n_non_galaxy, seed=args.seed, progress=not args.quiet,
                      held_out_classes=(None if args.held_out_classes is None else
                                        [c.strip() for c in args.held_out_classes.split(",")
                                         if c.strip()]))
    p = r["precision_at_k"]
    print(f"latent report of {r['run']['model_name']} on {r['run']['n_test']} test galaxies "
          f"in {r['run']['total_seconds']} s, written to {args.out}")
    print(f"  linear probe accuracy {r['probe']['accuracy']:.3f} (chance "
          f"{r['probe']['chance']:.3f}, conditions only "
          f"{r['probe_conditions_only']['accuracy']:.3f})")
    mean = r["held_out_class"]["mean_auroc"]
    print(f"  class-as-outlier mean AUROC {'n/a' if mean is None else format(mean, '.3f')}")
    print("  non-galaxy AUROC " + ", ".join(f"{k} {v['auroc']:.3f}"
                                            for k, v in r["non_galaxy"].items()))
    print(f"  precision@{p['k']} cosine {p['cosine']['mean']:.3f}, euclidean "
          f"{p['euclidean']['mean']:.3f}")
    return 0


def _compare(args):
    from ..errors import InputError
    from ..validation.compare import compare_reports

    reports = {}
    for item in args.reports:
        if "=" not in item:
            raise InputError(f"{item!r} is not LABEL=DIR; write e.g. Flow-VAE=reports/flow-vae")
        label, path = item.split("=", 1)
        reports[label] = path
    print(compare_reports(reports, out_path=args.out))
    return 0
