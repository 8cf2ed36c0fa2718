"""``galsim-deep latent encode | similar | anomalies``: the latent-space tools.

* ``galsim-deep latent encode DATASET --model M --out codes.h5`` - posterior
  means, standard deviations and ``log p(z | conditions)`` of every stamp
  (resumable);
* ``galsim-deep latent similar QUERY --codes codes.h5 -k 10 --out similar.png`` -
  the query and its k most similar galaxies;
* ``galsim-deep latent anomalies --codes codes.h5 --out anomalies.png`` - the
  least and most likely galaxies under the latent flow.

Their measurement, ``galsim-deep validation latent``, is with the other measures.  Simple
classifiers on a labelled dataset's codes beside a CNN (formerly ``latent classify``) are
a research script, ``python research/classes/latent_classify.py``.
"""
import json

from . import COMMANDS, add_group, positive

__all__ = ["register"]


def register(subparsers):
    """Add the ``latent`` command group."""
    subparsers = add_group(subparsers, "latent",
                           help=COMMANDS["latent"],
                           description="Latent-space tools of a module with an encoder.")
    _add_encode_parser(subparsers)
    _add_similar_parser(subparsers)
    _add_anomalies_parser(subparsers)


def _add_encode_parser(subparsers):
    """``latent encode``: a dataset's latent codes into a codes file, which the other
    commands read."""
    from ..data.hub import DEFAULT_MODEL

    p = subparsers.add_parser(
        "encode", help="encode a stamp dataset into latent codes (codes.h5)",
        description="Run a module's encoder over a stamp dataset: posterior mean and standard "
                    "deviation per galaxy, log p(z | conditions) under the latent flow, labels "
                    "and dataset rows, written to an HDF5 codes file.  An interrupted run "
                    "resumes when the same command is run again.")
    p.add_argument("dataset", help="stamp dataset (HDF5) at the module's stamp size and pixel "
                                   "scale")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"hub:NAME, module directory or archive with an encode signature "
                        f"(default {DEFAULT_MODEL})")
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


def _add_similar_parser(subparsers):
    """``latent similar``: a query galaxy's nearest neighbours in a codes file."""
    p = subparsers.add_parser(
        "similar", help="find the galaxies most similar to a query in latent space (PNG)",
        description="Nearest neighbours of a galaxy's latent code among the codes of a "
                    "codes file (cosine similarity or Euclidean distance), or the galaxies "
                    "of closest log-density, drawn in a PNG.")
    p.add_argument("query", help="a row of the encoded dataset (e.g. 42; encoded now if the "
                                 "codes do not hold it, such as a test galaxy against training "
                                 "codes), or FILE.h5:ROW for a stamp of another dataset "
                                 "(encoded with the codes' model)")
    p.add_argument("--codes", required=True, help="codes file from `galsim-deep latent encode`")
    p.add_argument("-k", type=int, default=10, help="number of neighbours (default 10)")
    p.add_argument("--metric", default="cosine",
                   choices=("cosine", "euclidean", "likelihood", "footprint"),
                   help="similarity measure: cosine or Euclidean in latent space (default "
                        "cosine), likelihood: closest log p, the normalizing-flow "
                        "slides' ranking (an image flow's log p(stamp | conditions)), or "
                        "footprint: Euclidean on the central window of an image flow's "
                        "latent, the galaxy without its sky")
    p.add_argument("--model", default=None,
                   help="module encoding an external query (default: the codes' model)")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--json", action="store_true", help="print the neighbours as JSON")
    p.set_defaults(func=_similar)


def _add_anomalies_parser(subparsers):
    """``latent anomalies``: the least and most likely galaxies of a codes file."""
    p = subparsers.add_parser(
        "anomalies", help="show the least and most likely galaxies under the latent flow (PNG)",
        description="Rank the galaxies of a codes file by -log p(z | conditions) under the "
                    "module's latent flow and draw the most anomalous and the most typical.")
    p.add_argument("--codes", required=True, help="codes file from `galsim-deep latent encode`")
    p.add_argument("-n", type=int, default=10, help="galaxies per row (default 10)")
    p.add_argument("--score", default="log_prob", choices=("log_prob", "information", "elbo"),
                   help="rank by -log p(z | conditions) of the latent flow (default), by "
                        "minus the MPCC information score (mixture-prior modules) or by "
                        "minus the stamp's ELBO (hierarchical-VAE modules)")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--json", action="store_true", help="print the rankings as JSON")
    p.set_defaults(func=_anomalies)


def _encode(args):
    from ..tools.latent.codes import encode_dataset, read_codes

    if args.max_galaxies is not None:
        positive("--max-galaxies", args.max_galaxies)
    out = encode_dataset(args.model, args.dataset, args.out, split=args.split,
                         chunk_size=args.chunk_size, overwrite=args.overwrite,
                         progress=not args.quiet, max_galaxies=args.max_galaxies)
    codes = read_codes(out)
    print(f"encoded {len(codes)} galaxies of {args.dataset} ({args.split}) with "
          f"{codes.attrs['model_name']}: codes of size {codes.codes.shape[1]} in {out}")
    return 0


def _similar(args):
    from ..tools.latent.gallery import similar_gallery

    positive("-k", args.k)
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
    from ..tools.latent.gallery import anomaly_gallery

    positive("-n", args.n)
    res = anomaly_gallery(args.codes, args.out, n=args.n, score=args.score)
    if args.json:
        print(json.dumps({**res, "out": str(res["out"])}, indent=2))
    else:
        print(f"most anomalous rows ({args.score} anomaly score): "
              + ", ".join(f"{r} ({s:.1f})" for r, s in zip(res["most_anomalous"],
                                                          res["scores"]["most_anomalous"])))
        print(f"written to {args.out}")
    return 0
