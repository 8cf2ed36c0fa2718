"""``galsim-deep validation ...``: every measurement and every validation report.

* ``validation report MODEL --dataset D --out R [--measures ...]`` - every
  measure of a model beside its references (real, parametric, twin): the
  registry of :mod:`galsim_deep.tools.validation.measures` (morphology, isotropy,
  shear response, two-sample classifier tests, survey views, clean profiles,
  observed-space reconstructions, clustering), each measure's options as flags;
* ``validation reconstruct MODEL --dataset D --out R`` - reconstructions of mock
  galaxies in observed space beside Sérsic and bulge+disk fits;
* ``validation anacal MODEL --dataset D --out R`` - the shear bias of a survey estimator,
  AnaCal, with detection, selection and blends, on noisy fields of the generated, true and
  Sérsic galaxies (the report's ``anacal`` measure alone);
* ``validation cluster MODEL --dataset D --out R`` - both clustering accuracies
  and per-cluster figures of an MPCC module;
* ``validation latent --model M --dataset D --out R`` - linear probe, anomaly
  AUROCs and precision@k of a module's latent codes;
* ``validation checkpoint RECIPE [--all]`` - quick scores of a training run's
  checkpoints on mock test galaxies (learning curves, ablations);
* ``validation compare LABEL=DIR ...`` - several validation reports in one table;
* ``validation release-table --eval FILE --out R --row M ...`` - the release check's
  survey-view table of several models in one run (:mod:`galsim_deep.cli.release`);
* ``validation student STUDENT --teacher T --eval FILE --out R`` - a distilled student's
  fidelity table against its teacher.

The command that takes a RECIPE and scores a training run (``checkpoint``) is in
:mod:`galsim_deep.cli.validation_runs`.  The campaign commands that served one study each
(``priors``, ``latent-fit``, ``convergence``, ``semi-supervised``, ``ceiling``,
``shear-outliers``) are scripts of the repository's ``research/`` tree, not installed
(:data:`galsim_deep.cli.MOVED_TO_RESEARCH` names each; the old spellings run them from a
clone, with a warning, for one minor release).
"""
import json

from . import COMMANDS, add_group, positive
from .release import add_release_table, add_student
from .validation_runs import add_run_commands


def _add_measure_options(parser, measure=None, skip=()):
    """One flag per measure option of the registry (or of one ``measure``), with its type and
    default; ``skip``: option names left out."""
    from ..tools.validation.measures import MEASURES, measure_options

    options = measure_options().values() if measure is None else MEASURES[measure].options
    for option in (o for o in options if o.name not in skip):
        default = 0 if option.default is None else option.default
        shown = "none" if default == "" else default
        parser.add_argument(option.flag, type=option.type, default=default,
                            choices=option.choices,
                            help=f"{option.help} (default {shown}"
                                 + ("; 0 = all" if option.zero_means_all else "") + ")")


def register(subparsers):
    """Add the ``validation`` command group."""
    sub = add_group(subparsers, "validation",
                    help=COMMANDS["validation"],
                    description="Measure a model against real (or mock) galaxies. Every "
                                "command writes JSON, Markdown and PNG files into its report "
                                "folder.")
    _add_commands(sub)


def _add_commands(subparsers):
    """The group's commands (``subparsers``: the group's), in help order."""
    _add_report_parser(subparsers)
    _add_reconstruct_parser(subparsers)
    _add_anacal_parser(subparsers)
    add_run_commands(subparsers)
    add_release_table(subparsers)
    add_student(subparsers)
    _add_cluster_parser(subparsers)
    _add_latent_parser(subparsers)
    _add_compare_parser(subparsers)


def _add_report_parser(subparsers):
    """``validation report``: every measure of the registry beside the real, parametric and
    twin references, with each measure's options as flags (the full validation run)."""
    from ..tools.validation.measures import MEASURES

    p = subparsers.add_parser(
        "report",
        help="every measure of a model beside real, parametric and twin galaxies",
        description="Draw the real, parametric (Sersic), generated (rotated as model.sample "
                    "gives them) and, on mock datasets, twin versions of the galaxies of a "
                    "stamp dataset with matched PSF and noise, and run the measures: "
                    "morphology (HSM, Gini, M20, M, I, D), isotropy, shear response, "
                    "two-sample classifier tests (C2ST), survey views, clean profiles, "
                    "observed-space "
                    "reconstructions (modules with an encoder, mock data) and clustering "
                    "(MPCC modules, labelled data).  Writes summary.json, summary.md and PNG "
                    "figures into the report directory.  The twin (the training galaxy "
                    "nearest in the conditions, observed like the galaxy) is a reference with "
                    "its own measured bias.  An interrupted run resumes.")
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
    p.add_argument("--measures", default=None, metavar="LIST",
                   help="comma-separated measures to run, among "
                        f"{', '.join(MEASURES)} (default: all)")
    _add_measure_options(p)
    p.add_argument("--unrotated", action="store_true",
                   help="generated galaxies in the network's own orientation (rotate=False) "
                        "instead of rotated as model.sample gives them")
    p.add_argument("--twin-rendering", default="analytic", choices=("analytic", "truth"),
                   help="draw the twins from their rebuilt analytic profiles (default; as the "
                        "real stamps were drawn) or from their truth images")
    p.add_argument("--reference-cache", default=None, metavar="DIR",
                   help="folder keeping the model-independent results (real, parametric and "
                        "twin measures, parametric fits) for other models' reports on the same "
                        "galaxies (default: validation-references in the galsim_deep cache)")
    p.add_argument("--no-reference-cache", action="store_true",
                   help="compute the references afresh and do not keep them")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_report)


def _add_reconstruct_parser(subparsers):
    """``validation reconstruct``: a module's reconstructions of mock galaxies in observed
    space, beside the parametric fits that bound them."""
    p = subparsers.add_parser(
        "reconstruct",
        help="a module's reconstructions of mock galaxies in observed space, beside Sersic and "
             "bulge+disk fits",
        description="Encode each stamp of a mock dataset with its PSF, decode it, convolve it "
                    "with the PSF and compare it with the noiseless observed truth (chi2 in "
                    "units of the noise), beside the best single-Sersic and bulge+disk fits "
                    "to the same stamp and the mock's own Sersic; the unconvolved comparison "
                    "with the truth is kept as a secondary measure.  Writes "
                    "reconstruction.json, .md and two PNGs.")
    p.add_argument("model", help="hub:NAME[@VERSION], a module directory, archive or URL")
    p.add_argument("--dataset", required=True, help="mock stamp dataset (HDF5) with the truth")
    p.add_argument("--out", required=True, help="report directory (created)")
    p.add_argument("--n", type=int, default=1000,
                   help="the first N galaxies of the split (default 1000; 0 = all)")
    p.add_argument("--split", default="test", choices=("test", "train"),
                   help="dataset split (default test)")
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes of the parametric fits (default: all cores)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap errors (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_reconstruct)


def _add_anacal_parser(subparsers):
    """``validation anacal``: the report's AnaCal shear-bias measure alone, with that
    measure's options as flags (it is slow enough to run by itself)."""
    p = subparsers.add_parser(
        "anacal",
        help="shear bias of AnaCal (detection, selection, blends) on the generated, true and "
             "Sersic galaxies of a mock",
        description="Lay the generated, true and Sersic galaxies of a mock dataset out in "
                    "fields, isolated and blended, shear them by +-0.02 in 90-degree-rotated "
                    "copies, observe them through a survey PSF at a stated depth with noise "
                    "shared by the three samples, and measure the shear with AnaCal's own "
                    "detection, selection and FPFS estimator: m and c per magnitude bin, the "
                    "selection's part of the response, and paired differences against the "
                    "truth.  The report's anacal measure alone: writes anacal.json, anacal.md, "
                    "summary.json and summary.md.  Needs the anacal package.")
    p.add_argument("model", help="hub:NAME[@VERSION], a module directory, archive or URL")
    p.add_argument("--dataset", required=True, help="mock stamp dataset (HDF5) with the truth")
    p.add_argument("--out", required=True, help="report directory (created)")
    p.add_argument("--n", type=int, default=1000,
                   help="galaxies, a seeded random subset of the split (default 1000; 0 = all)")
    p.add_argument("--split", default="test", choices=("test", "train", "all"),
                   help="dataset split (default test)")
    p.add_argument("--processes", type=int, default=1,
                   help="worker processes, one field each (default 1)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the galaxies, layouts, noise and bootstrap (default 0)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="galaxies per model evaluation (default: the model's)")
    _add_measure_options(p, measure="anacal", skip=("anacal_n",))
    p.add_argument("--reference-cache", default=None, metavar="DIR",
                   help="folder keeping the model-independent draws for other models' reports "
                        "(default: validation-references in the galsim_deep cache)")
    p.add_argument("--no-reference-cache", action="store_true",
                   help="draw the references afresh and do not keep them")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_anacal)


def _add_cluster_parser(subparsers):
    """``validation cluster``: clustering accuracy and per-cluster figures of an MPCC
    module (the only family with clusters)."""
    p = subparsers.add_parser(
        "cluster", help="clustering accuracy, reconstruction and per-cluster figures of an "
                        "MPCC module",
        description="Assign the galaxies of a stamp dataset to the clusters of an MPCC module "
                    "(q(y|x)), measure the clustering accuracy against the dataset's labels "
                    "with two mappings (each cluster to its most frequent class, as the "
                    "thesis; and the best one-to-one mapping, with the best accuracy equal-"
                    "weight clusters can reach on the class mix), per magnitude quartile, the "
                    "reconstruction error, and draw generated samples and real members of each "
                    "cluster. Writes clustering.json, clustering.md and PNG figures.")
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


def _add_latent_parser(subparsers):
    """``validation latent``: linear probe, anomaly AUROCs and precision@k of a module's
    latent codes (how much the codes know of morphology)."""
    from ..data.hub import DEFAULT_MODEL

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


def _add_compare_parser(subparsers):
    """``validation compare``: several finished reports in one table (no model is run)."""
    p = subparsers.add_parser(
        "compare", help="one table of several validation reports (e.g. Flow-VAE vs MPCC)",
        description="Put the real and generated means of size, ellipticity and morphology "
                    "statistics of several validation reports side by side (Markdown).")
    p.add_argument("reports", nargs="+", metavar="LABEL=DIR",
                   help="a column label and a report folder (with summary.json or "
                        "validation/summary.json), e.g. Flow-VAE=reports/flow-vae")
    p.add_argument("--out", default=None, help="write the table to this Markdown file")
    p.add_argument("--table", default="all", choices=("all", "morphology", "survey-views"),
                   help="the morphology means, the survey views' verdicts (reports with a "
                        "survey_views section, or a survey_views/ folder), or both (default "
                        "all)")
    p.set_defaults(func=_compare)


def _report(args):
    import shlex
    import sys

    from ..core.errors import InputError
    from ..tools.validation.measures import MEASURES, measure_options, parse_measures
    from ..tools.validation.pipeline import validate

    if args.n < 0:
        raise InputError(f"--n must be >= 0 (0 = every galaxy of the split), got {args.n}")
    for name in ("processes", "batch-size"):
        positive(f"--{name}", getattr(args, name.replace("-", "_")))
    measures = parse_measures(args.measures)
    classifier = None
    if any(MEASURES[m].needs_classifier for m in measures):
        # The two-sample tests train a network: the trainer comes from the training package
        # (the runtime validation code never imports it).
        from ..training.classifier import fit_two_sample_classifier, predict_classes

        classifier = (fit_two_sample_classifier, predict_classes)
    options = {name: getattr(args, name) for name in measure_options()}
    command = "galsim-deep " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv and sys.argv[0].endswith("galsim-deep") else None
    report = validate(args.model, args.dataset, args.out, n=args.n or None, split=args.split,
                      seed=args.seed, processes=args.processes, batch_size=args.batch_size,
                      twin=False if args.no_twin else None, progress=not args.quiet,
                      measures=measures, classifier=classifier, rotate=not args.unrotated,
                      twin_rendering=args.twin_rendering, command=command,
                      reference_cache=False if args.no_reference_cache else args.reference_cache,
                      **options)
    from ..tools.validation.report import headline_rows

    print(f"validated {report['run']['model_name']} on {report['run']['n_galaxies']} galaxies "
          f"in {report['run']['total_seconds']:.1f} s; report in {args.out}")
    for row in headline_rows(report):
        print("  " + row[0] + ": generated " + (row[1] or "n/a")
              + "".join(f"; {name} {cell}" for name, cell in zip(("parametric", "twin", "real"),
                                                                  row[2:]) if cell))
    for measure, reason in report["run"]["skipped"].items():
        print(f"  skipped {measure}: {reason}")
    return 0


def _reconstruct(args):
    from ..api.model import GenerativeGalaxyModel
    from ..core.errors import InputError
    from ..tools.validation.measures.reconstruction.compute import reconstruction_report
    from ..tools.validation.measures.reconstruction.report import write_reconstruction_report

    if args.n < 0:
        raise InputError(f"--n must be >= 0 (0 = every galaxy of the split), got {args.n}")
    positive("--processes", args.processes)
    from ..core.parallel import cpu_count

    report = reconstruction_report(GenerativeGalaxyModel(args.model), args.dataset,
                                   split=args.split, n=args.n or None, progress=not args.quiet,
                                   processes=args.processes or cpu_count(),
                                   seed=args.seed)
    write_reconstruction_report(report, args.out)
    print(f"reconstructed {report['n']} galaxies; report in {args.out}")
    for key, s in report["observed"]["estimates"].items():
        better = s["fraction_model_better"]
        print(f"  {key:14s} median chi2 in observed space {s['median']:.4g} ± "
              f"{s['median_error']:.2g}"
              + ("" if better is None else f"  (module better for {100 * better:.1f}%)"))
    return 0


def _anacal(args):
    import shlex
    import sys

    from ..core.errors import InputError
    from ..tools.validation.measures import MEASURES
    from ..tools.validation.measures.anacal.report import anacal_report

    if args.n < 0:
        raise InputError(f"--n must be >= 0 (0 = every galaxy of the split), got {args.n}")
    for name in ("processes", "batch-size"):
        positive(f"--{name}", getattr(args, name.replace("-", "_")))
    options = {o.name: getattr(args, o.name) for o in MEASURES["anacal"].options
               if o.name != "anacal_n"}
    command = "galsim-deep " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv and sys.argv[0].endswith("galsim-deep") else None
    report = anacal_report(args.model, args.dataset, args.out, n=args.n or None,
                           split=args.split, seed=args.seed, processes=args.processes,
                           batch_size=args.batch_size, progress=not args.quiet,
                           reference_cache=(False if args.no_reference_cache
                                            else args.reference_cache),
                           command=command, **options)
    from ..tools.validation.report import pm

    section = report["anacal"]
    print(f"AnaCal shear bias of {report['run']['model_name']} on {section['n_galaxies']} "
          f"galaxies ({section['psf']}, depth {section['depth']:g}, {section['n_noise']} noise "
          f"realisations); report in {args.out}")
    for name, config in section["configurations"].items():
        cells = [f"{k} {pm(s['all']['m'], s['all']['m_error'], 1e3, 3)}"
                 for k, s in config["samples"].items()]
        diffs = [f"{k} {pm(d['all']['dm'], d['all']['dm_error'], 1e3, 3)}"
                 for k, d in config["differences"].items()]
        print(f"  {name}: m [1e-3] " + "; ".join(cells))
        print(f"  {name}: paired dm [1e-3] " + "; ".join(diffs))
    return 0


def _cluster(args):
    from ..tools.validation.measures.clustering.report import evaluate_clusters

    for name in ("n", "batch-size", "per-cluster", "validation-n", "processes"):
        positive(name, getattr(args, name.replace("-", "_")))
    report = evaluate_clusters(args.model, args.dataset, args.out, split=args.split, n=args.n,
                               seed=args.seed, batch_size=args.batch_size,
                               n_per_cluster=args.per_cluster, validate=args.validate,
                               validation_n=args.validation_n, processes=args.processes,
                               progress=not args.quiet)
    summary = {"n_galaxies": report["n_galaxies"], "cluster_counts": report["cluster_counts"],
               "reconstruction": report["reconstruction"]}
    if "clustering" in report:
        c = report["clustering"]
        summary.update(majority_accuracy=c["majority_accuracy"], accuracy=c["accuracy"],
                       one_to_one_cap=c["one_to_one_cap"], mapping=c["mapping"],
                       majority_mapping=c["majority_mapping"])
    if "validation" in report:
        summary["validation"] = report["validation"]
    print(json.dumps(summary, indent=2, default=str))
    print(f"report written to {args.out}")
    return 0


def _latent_report(args):
    from ..tools.latent.latent_report import latent_report

    for name, value in (("--max-train", args.max_train), ("--max-test", args.max_test),
                        ("--flow-steps", args.flow_steps)):
        positive(name, value, zero_ok=True)
    positive("-k", args.k)
    positive("--n-non-galaxy", args.n_non_galaxy)
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
    if any("auroc_elbo" in v for v in r["non_galaxy"].values()):
        print("  non-galaxy AUROC by -ELBO " + ", ".join(
            f"{k} {v['auroc_elbo']:.3f}" for k, v in r["non_galaxy"].items()))
    print(f"  precision@{p['k']} " + ", ".join(
        f"{m} {p[m]['mean']:.3f}" for m in ("cosine", "euclidean", "likelihood") if m in p)
        + f"; chance {p['cosine']['chance_mean']:.3f}")
    return 0


def _compare(args):
    from ..core.errors import InputError, MissingInputError
    from ..core.reporting import write_text
    from ..tools.validation.compare import compare_reports, survey_view_table

    reports = {}
    for item in args.reports:
        if "=" not in item:
            raise InputError(f"{item!r} is not LABEL=DIR; write e.g. Flow-VAE=reports/flow-vae")
        label, path = item.split("=", 1)
        reports[label] = path
    parts = []
    if args.table in ("all", "morphology"):
        parts.append(compare_reports(reports))
    if args.table in ("all", "survey-views"):
        try:
            parts.append("Survey views: generated / Sérsic accuracy against the truth, and "
                         "the verdict\n\n" + survey_view_table(reports))
        except MissingInputError:
            if args.table != "all":
                raise
    text = "\n".join(parts)
    if args.out:
        write_text(text, args.out)
    print(text)
    return 0
