"""``galsim-deep cluster MODEL --dataset D --out DIR``, ``classify`` and ``compare``.

``cluster`` measures an MPCC module on a stamp dataset: clustering accuracy
against the mock morphology classes (Eq. 8.1, best one-to-one mapping),
reconstruction error, generated samples per cluster and real members per
cluster (PNG), and with ``--validate`` the size, ellipticity and morphology
comparison of ``galsim-deep validate``.  ``classify`` trains a supervised
classifier on the same stamps, the ceiling for the clustering accuracy.
``compare`` puts several validation reports (a Flow-VAE's and an MPCC
model's) in one Markdown table.
"""
import json


def register(subparsers):
    """Add the ``cluster``, ``classify`` and ``compare`` commands."""
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
    p.add_argument("--split", default="test", choices=("test", "train", "all"))
    p.add_argument("--n", type=int, default=None, help="galaxies (default: the whole split)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--per-cluster", type=int, default=8, help="columns of the figures")
    p.add_argument("--validate", action="store_true",
                   help="also run the size/ellipticity/morphology validation into OUT/validation")
    p.add_argument("--validation-n", type=int, default=500,
                   help="galaxies of the validation run (default 500)")
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes of the validation measurements")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cluster)

    p = subparsers.add_parser(
        "classify", help="supervised ceiling for the clustering accuracy on a mock dataset",
        description="Train a small convolutional classifier with the morphology labels of a "
                    "mock dataset's training split and score it on the test split: how "
                    "separable the classes are in these noisy stamps, the number to read a "
                    "clustering accuracy against. Writes ceiling.json, ceiling.md and "
                    "ceiling_confusion.png; an interrupted run resumes at its last epoch.")
    p.add_argument("--dataset", required=True, help="mock stamp dataset (HDF5) with labels")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--epochs", type=int, default=8, help="passes over the training split")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_classify)

    p = subparsers.add_parser(
        "compare", help="one table of several validation reports (e.g. Flow-VAE vs MPCC)",
        description="Put the real and generated means of size, ellipticity and morphology "
                    "statistics of several validation reports side by side (Markdown).")
    p.add_argument("reports", nargs="+", metavar="LABEL=DIR",
                   help="a column label and a report folder (with summary.json or "
                        "validation/summary.json), e.g. Flow-VAE=reports/flow-vae")
    p.add_argument("--out", default=None, help="write the table to this Markdown file")
    p.set_defaults(func=_compare)


def _positive(name, value):
    if value is not None and value < 1:
        raise ValueError(f"--{name} must be >= 1, got {value}")


def _cluster(args):
    from ..training.mpcc.evaluate import evaluate_clusters

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


def _classify(args):
    from ..training.mpcc.ceiling import train_ceiling_classifier

    report = train_ceiling_classifier(args.dataset, args.out, epochs=args.epochs,
                                      batch_size=args.batch_size, seed=args.seed,
                                      progress=not args.quiet)
    print(f"supervised test accuracy {report['accuracy']:.3f} on {report['n_test']} galaxies "
          f"({report['seconds']:.0f} s); report written to {args.out}")
    return 0


def _compare(args):
    from ..training.mpcc.evaluate import compare_reports

    reports = {}
    for item in args.reports:
        if "=" not in item:
            raise ValueError(f"{item!r} is not LABEL=DIR; write e.g. Flow-VAE=reports/flow-vae")
        label, path = item.split("=", 1)
        reports[label] = path
    print(compare_reports(reports, out_path=args.out))
    return 0
