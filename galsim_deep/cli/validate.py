"""``galsim-deep validate MODEL --dataset FILE.h5 --out REPORT/``: the validation report."""


def register(subparsers):
    """Add the ``validate`` command."""
    p = subparsers.add_parser(
        "validate",
        help="compare real, parametric and generated galaxies (sizes, shapes, Gini, M20, M, I, D)",
        description="Draw the real, parametric (Sersic) and generated versions of the galaxies "
                    "of a stamp dataset with matched PSF and noise, measure HSM moments and "
                    "statmorph statistics, and write PNG figures, summary.md and summary.json "
                    "into the report directory.  An interrupted run resumes.")
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
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_validate)


def _validate(args):
    from ..validation.pipeline import validate

    if args.n < 0:
        raise ValueError(f"--n must be >= 0 (0 = every galaxy of the split), got {args.n}")
    report = validate(args.model, args.dataset, args.out, n=args.n or None, split=args.split,
                      seed=args.seed, processes=args.processes, batch_size=args.batch_size,
                      progress=not args.quiet)
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
