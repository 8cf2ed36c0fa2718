"""``galsim-deep encode | similar | anomalies | latent-report``: the latent-space tools.

* ``galsim-deep encode DATASET --model M --out codes.h5`` - posterior means,
  standard deviations and ``log p(z | conditions)`` of every stamp (resumable);
* ``galsim-deep similar QUERY --codes codes.h5 -k 10 --out similar.png`` - the
  query and its k most similar galaxies;
* ``galsim-deep anomalies --codes codes.h5 --out anomalies.png`` - the least and
  most likely galaxies under the latent flow;
* ``galsim-deep latent-report --model M --dataset D --out dir/`` - linear probe,
  anomaly AUROCs and precision@k on a labelled (mock-COSMOS) dataset.
"""
import json

__all__ = ["register"]

_DEFAULT_MODEL = "hub:flow-vae-mock-cosmos-64"


def register(subparsers):
    """Add the ``encode``, ``similar``, ``anomalies`` and ``latent-report`` commands."""
    p = subparsers.add_parser(
        "encode", help="encode a stamp dataset into latent codes (codes.h5)",
        description="Run a module's encoder over a stamp dataset: posterior mean and standard "
                    "deviation per galaxy, log p(z | conditions) under the latent flow, labels "
                    "and dataset rows, written to an HDF5 codes file.  An interrupted run "
                    "resumes when the same command is run again.")
    p.add_argument("dataset", help="stamp dataset (HDF5) at the module's stamp size and pixel "
                                   "scale")
    p.add_argument("--model", default=_DEFAULT_MODEL,
                   help=f"hub:NAME, module directory or archive with an encode signature "
                        f"(default {_DEFAULT_MODEL})")
    p.add_argument("--out", required=True, help="codes file to write (.h5)")
    p.add_argument("--split", default="all", choices=("all", "train", "test"),
                   help="which galaxies (default all)")
    p.add_argument("--max-galaxies", type=int, default=None,
                   help="encode only the first N galaxies of the split")
    p.add_argument("--chunk-size", type=int, default=1024,
                   help="galaxies per chunk of work / resume granularity (default 1024)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_encode)

    p = subparsers.add_parser(
        "similar", help="find the galaxies most similar to a query in latent space (PNG)",
        description="Nearest neighbours of a galaxy's latent code among the codes of a "
                    "codes file (cosine similarity or Euclidean distance), drawn in a PNG.")
    p.add_argument("query", help="a row of the encoded dataset (e.g. 42), or FILE.h5:ROW for a "
                                 "stamp of another dataset (encoded with the codes' model)")
    p.add_argument("--codes", required=True, help="codes file from `galsim-deep encode`")
    p.add_argument("-k", type=int, default=10, help="number of neighbours (default 10)")
    p.add_argument("--metric", default="cosine", choices=("cosine", "euclidean"),
                   help="similarity measure (default cosine)")
    p.add_argument("--model", default=None,
                   help="module encoding an external query (default: the codes' model)")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--json", action="store_true", help="print the neighbours as JSON")
    p.set_defaults(func=_similar)

    p = subparsers.add_parser(
        "anomalies", help="show the least and most likely galaxies under the latent flow (PNG)",
        description="Rank the galaxies of a codes file by -log p(z | conditions) under the "
                    "module's latent flow and draw the most anomalous and the most typical.")
    p.add_argument("--codes", required=True, help="codes file from `galsim-deep encode`")
    p.add_argument("-n", type=int, default=10, help="galaxies per row (default 10)")
    p.add_argument("--score", default="log_prob", choices=("log_prob", "information"),
                   help="rank by -log p(z | conditions) of the latent flow (default) or by "
                        "minus the MPCC information score (mixture-prior modules)")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--json", action="store_true", help="print the rankings as JSON")
    p.set_defaults(func=_anomalies)

    p = subparsers.add_parser(
        "latent-report",
        help="linear-probe accuracy, anomaly AUROCs and precision@k of a model's codes",
        description="Encode a labelled (mock-COSMOS) dataset and measure: a linear probe of the "
                    "morphology class, the class-as-outlier AUROC of a flow fitted without "
                    "each class, the AUROC of non-galaxy stamps (stars, cosmic rays, hot "
                    "pixels, noise) under the module's flow, and precision@k by class.  "
                    "Writes report.json, report.md and PNGs; the codes are kept, so a second "
                    "run does not encode again.")
    p.add_argument("--model", default=_DEFAULT_MODEL,
                   help=f"Flow-VAE module (default {_DEFAULT_MODEL})")
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
    p.set_defaults(func=_report)


def _positive(name, value, zero_ok=False):
    if value < (0 if zero_ok else 1):
        raise ValueError(f"{name} must be {'>= 0' if zero_ok else '>= 1'}, got {value}")


def _encode(args):
    from ..latent.codes import encode_dataset, read_codes

    if args.max_galaxies is not None:
        _positive("--max-galaxies", args.max_galaxies)
    try:
        out = encode_dataset(args.model, args.dataset, args.out, split=args.split,
                             chunk_size=args.chunk_size, overwrite=args.overwrite,
                             progress=not args.quiet, max_galaxies=args.max_galaxies)
    except FileExistsError as err:
        raise ValueError(str(err)) from None
    codes = read_codes(out)
    print(f"encoded {len(codes)} galaxies of {args.dataset} ({args.split}) with "
          f"{codes.attrs['model_name']}: codes of size {codes.codes.shape[1]} in {out}")
    return 0


def _similar(args):
    from ..latent.gallery import similar_gallery

    _positive("-k", args.k)
    res = similar_gallery(args.codes, args.query, args.out, k=args.k, metric=args.metric,
                          model=args.model)
    if args.json:
        print(json.dumps({**res, "out": str(res["out"])}, indent=2))
    else:
        labels = res["labels"] or [""] * len(res["rows"])
        print(f"{args.k} nearest neighbours of {args.query} ({args.metric}), written to "
              f"{args.out}:")
        for row, score, label in zip(res["rows"], res["scores"], labels):
            print(f"  row {row:7d}  {score:8.4f}  {label}")
    return 0


def _anomalies(args):
    from ..latent.gallery import anomaly_gallery

    _positive("-n", args.n)
    res = anomaly_gallery(args.codes, args.out, n=args.n, score=args.score)
    if args.json:
        print(json.dumps({**res, "out": str(res["out"])}, indent=2))
    else:
        print(f"most anomalous rows ({args.score} anomaly score): "
              + ", ".join(f"{r} ({s:.1f})" for r, s in zip(res["most_anomalous"],
                                                          res["scores"]["most_anomalous"])))
        print(f"written to {args.out}")
    return 0


def _report(args):
    from ..latent.report import latent_report

    for name, value in (("--max-train", args.max_train), ("--max-test", args.max_test),
                        ("--flow-steps", args.flow_steps)):
        _positive(name, value, zero_ok=True)
    _positive("-k", args.k)
    _positive("--n-non-galaxy", args.n_non_galaxy)
    r = latent_report(args.model, args.dataset, args.out, max_train=args.max_train or None,
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
