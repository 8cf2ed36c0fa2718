"""``galsim-deep validation release-table`` and ``galsim-deep hub release``: the release check.

* ``validation release-table --eval FILE --out DIR --row SPEC ...`` scores rows (modules as
  users get them, ``sersic``, ``truth``) in the release check's survey views, on one
  evaluation file, in one run (:mod:`galsim_deep.diagnostics.release_check`);
* ``hub release MODULE --against BASELINE --eval FILE --out DIR`` scores the candidate and
  the previous default in one table and adds the candidate to a module index only if no
  view tells it from the truth more than the baseline, beyond 2 sigma of the difference;
* ``hub yank NAME@VERSION --reason R`` keeps a version in the index but never chooses it for
  a bare ``hub:NAME`` (a default found worse than an older version);
* ``validation student STUDENT --teacher TEACHER --eval FILE --out DIR`` scores a distilled
  student and its teacher in one table and checks that no line puts the student farther
  from the truth than the teacher, beyond 1 sigma of the difference
  (:mod:`galsim_deep.diagnostics.student_check`; ``model distill --judge`` runs it).

:func:`add_release_table` adds the first and :func:`add_student` the last to the
``validation`` group, :func:`add_release` the other two to ``hub``.
"""
import argparse
import json
import shlex
import sys
from pathlib import Path

from . import positive


#: Galaxies (the first to mag_auto 24) of a student's shear lines.
SHEAR_GALAXIES = 3000


def _add_scoring_args(p):
    p.add_argument("--eval", required=True, metavar="FILE",
                   help="the evaluation file (galsim-deep dataset build --source mock-cosmos "
                        "--population cosmos-25.2 --n 8000 --n-test 8000 --stamp-size 64 "
                        "--pixel-scale 0.06 --seed 55 --out FILE)")
    p.add_argument("--out", required=True, help="the table's folder (created; rows are kept "
                                                "there as they finish, so a rerun resumes)")
    p.add_argument("--n", type=int, default=None,
                   help="the evaluation file's first N galaxies (default all)")
    p.add_argument("--view", action="append", default=None, metavar="VIEW",
                   help="a survey view of survey_views.yaml (repeatable; default the release "
                        "check's: the views whose 'checks' name release)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the samples (latent normals, angles) and the noise "
                        "(default 0)")
    p.add_argument("--epochs", type=int, default=12,
                   help="epochs of the classifier test's CNN (default 12)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def scoring_options(eval_file, out, n=None, quiet=False):
    """The options of :func:`_add_scoring_args` for another command's scoring: ``--eval``,
    ``--out``, ``--n`` and ``--quiet`` as given, the others at their defaults."""
    p = argparse.ArgumentParser(add_help=False)
    _add_scoring_args(p)
    return p.parse_args(["--eval", str(eval_file), "--out", str(out)]
                        + ([] if n is None else ["--n", str(n)]) + (["--quiet"] if quiet else []))


def add_release_table(subparsers):
    """Add ``release-table`` (``subparsers``: the ``validation`` group's)."""
    p = subparsers.add_parser(
        "release-table",
        help="the release check's survey-view table of several models, in one run",
        description="Score rows on an evaluation file's galaxies, all alike: each module's "
                    "galaxies as users get them (sampled at the truths' catalog rows with one "
                    "seed, through the module's window or wings and rotation), the Sersic "
                    "rows, the truth observed again and the truths' own stamps, each observed "
                    "in five survey views (HST at COSMOS depth and noiseless, Euclid VIS, LSST "
                    "10-year i, an LSST i visit) and told from the truth by a classifier "
                    "two-sample test, all galaxies and the brightest bin (mag_auto <= 22.5), "
                    "with |g|, size, flux, the light beyond r = 28 pixels and the power above "
                    "the PSF's half-power frequency.  Writes OUT/release.md, .json and .inc "
                    "(--table names them).")
    p.add_argument("--row", action="append", required=True, metavar="ROW",
                   help="a row (repeatable, in table order): sersic, truth, truth-stamps "
                        "(the truths' own stamps, turned as the engine turns a network's; "
                        "truth-stamps@MODEL: through that model's window or wings), or a "
                        "model (hub:NAME@VERSION, a module directory or archive); "
                        "LABEL=ROW names it in the table")
    p.add_argument("--table", default="release", metavar="NAME",
                   help="the table's file names in OUT: NAME.md, NAME.json and NAME.inc (a "
                        "reStructuredText table for the docs; default release)")
    _add_scoring_args(p)
    p.set_defaults(func=_release_table)


def add_student(subparsers):
    """Add ``student`` (``subparsers``: the ``validation`` group's)."""
    p = subparsers.add_parser(
        "student", help="a distilled student's fidelity table against its teacher",
        description="Score a distilled module (galsim-deep model distill) and its teacher "
                    "in one survey-view table (validation release-table's rows: the same "
                    "galaxies, codes, noise and classifiers, each module's galaxies as users "
                    "get them) and check that no line puts the student farther from the "
                    "truth than the teacher, beyond 1 sigma of the difference: the classifier "
                    "test in every view (all galaxies, the brightest bin), |g|, size and "
                    "flux, the light beyond r = 28 pixels, both texture measures and shear m "
                    "through three PSFs (judged by the error of the paired difference: the "
                    "same galaxies drawn by both).  Writes OUT/fidelity.md and .json; the "
                    "exit status is 1 if it fails.")
    p.add_argument("student", help="the distilled module (a directory, archive or hub name)")
    p.add_argument("--teacher", required=True,
                   help="its teacher, e.g. hub:flow-vae-mock-cosmos-25.2@1.1.1")
    p.add_argument("--shear-galaxies", type=int, default=SHEAR_GALAXIES, metavar="N",
                   help=f"galaxies (the first to mag_auto 24) of the shear lines; 0: none "
                        f"(default {SHEAR_GALAXIES})")
    p.add_argument("--sigma", type=float, default=None, metavar="S",
                   help="the margin: a line fails when the student is farther from the truth "
                        "than its teacher by more than S standard errors of the difference "
                        "(default 1, the student issue's; the release check's is 2)")
    _add_scoring_args(p)
    p.set_defaults(func=lambda args: 0 if judge_student(args.student, args.teacher, args,
                                                        args.shear_galaxies,
                                                        args.sigma) else 1)


def judge_student(student, teacher, args, shear_galaxies=SHEAR_GALAXIES, sigma=None):
    """Score ``student`` and ``teacher`` with the scoring options of ``args`` (those of
    :func:`_add_scoring_args`) and, unless ``shear_galaxies`` is 0, their shear ``m``
    through the sample scores' three PSFs on that many galaxies to mag_auto 24
    (:func:`~galsim_deep.diagnostics.student_check.paired_shear_scores`); judge each line
    at ``sigma`` standard errors of the difference (None: ``FIDELITY_SIGMA``); write
    OUT/fidelity.md and .json, print the table; returns whether the student passed."""
    from ..diagnostics.release_check import write_release_table
    from ..diagnostics.sample_scores import EvaluationGalaxies
    from ..diagnostics.student_check import (FIDELITY_SIGMA, fidelity_lines,
                                             fidelity_verdict, paired_shear_scores)

    positive("--shear-galaxies", shear_galaxies, zero_ok=True)
    sigma = FIDELITY_SIGMA if sigma is None else sigma
    if not 0 < sigma < float("inf"):
        from ..core.errors import InputError
        raise InputError(f"--sigma must be a positive number of standard errors, got {sigma}")
    specs = [str(teacher), str(student)]
    rows, views, bins = _score(args, specs)
    shear = None
    if shear_galaxies:
        galaxies = EvaluationGalaxies.load(args.eval, args.n)
        shear = paired_shear_scores(str(student), str(teacher), galaxies,
                                    Path(args.out) / "reference", args.out, args.seed,
                                    n=shear_galaxies, progress=not args.quiet)
    verdict = fidelity_verdict(rows[str(student)], rows[str(teacher)], views, sigma=sigma,
                               shear=shear)
    text = write_release_table(args.out, specs, views, _command(), bin_labels=bins,
                               name="fidelity", verdict_text=fidelity_lines(verdict),
                               verdict=verdict)
    print(text)
    return verdict["passed"]


def add_release(subparsers):
    """Add ``release`` and ``yank`` (``subparsers``: the ``hub`` group's)."""
    p = subparsers.add_parser(
        "release",
        help="the release check, then the module into an index if it passes",
        description="Score a candidate module and the previous default in one survey-view "
                    "table (validation release-table's rows, on the same galaxies, seeds and "
                    "classifiers) and check that no view, all galaxies or the brightest bin, "
                    "tells the candidate from the truth more than the baseline, beyond 2 "
                    "sigma of the difference.  If it passes, the module is archived beside "
                    "--index and its entry added (with --publish); if it fails, nothing is "
                    "written there and the exit status is 1.  The table and the verdict are "
                    "OUT/release.md and OUT/release.json either way.")
    p.add_argument("module", help="the candidate: a module directory")
    p.add_argument("--against", required=True, metavar="BASELINE",
                   help="the previous default, e.g. hub:flow-vae-mock-cosmos-25.2@1.1.1")
    p.add_argument("--publish", action="store_true",
                   help="when the check passes, archive the module beside --index and add "
                        "its entry (default: only the check)")
    p.add_argument("--index", default=None, metavar="INDEX_JSON",
                   help="the index to publish into (default: the package's "
                        "hub_modules/index.json)")
    _add_scoring_args(p)
    p.set_defaults(func=_release)

    p = subparsers.add_parser(
        "yank", help="keep a version in the index but never choose it for a bare hub:NAME",
        description="Mark NAME@VERSION of a module index as yanked, with the reason (as PEP "
                    "592 yanks a release): hub:NAME then resolves to the newest version not "
                    "yanked, and hub:NAME@VERSION still resolves, warning with the reason "
                    "(docs/hub.rst).")
    p.add_argument("model", metavar="NAME@VERSION", help="the version to yank")
    p.add_argument("--reason", required=True,
                   help="why, in a sentence a user reads in the warning")
    p.add_argument("--index", default=None, metavar="INDEX_JSON",
                   help="the index (default: the package's hub_modules/index.json)")
    p.set_defaults(func=_yank)


def _score(args, specs):
    """Score the references and each row of ``specs``; returns the rows (spec -> row), the
    views and the bins' labels."""
    from ..diagnostics.release_check import release_views, score_release_row
    from ..diagnostics.sample_scores import EvaluationGalaxies, reference_scores

    positive("--n", args.n)
    positive("--epochs", args.epochs)
    galaxies = EvaluationGalaxies.load(args.eval, args.n)
    views = args.view or list(release_views())
    out = Path(args.out)
    options = {"classifier_seeds": (0,), "epochs": args.epochs}
    reference_scores(galaxies, out / "reference", args.seed, views=views, shear_psfs=(),
                     **options)
    rows = {}
    for spec in specs:
        if not args.quiet:
            print(f"scoring {spec} on {len(galaxies.index)} galaxies", flush=True)
        rows[spec] = score_release_row(spec, galaxies, out / "reference", out, seed=args.seed,
                                       views=views, progress=not args.quiet, **options)
    return rows, views, galaxies.magnitude_bins()[1]


def _command():
    return "galsim-deep " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _release_table(args):
    from ..diagnostics.release_check import write_release_table

    named = [tuple(row.split("=", 1)[::-1]) if "=" in row else (row, "") for row in args.row]
    specs = [spec for spec, _ in named]
    _, views, bins = _score(args, specs)
    print(write_release_table(args.out, specs, views, _command(), bin_labels=bins,
                              labels={spec: label for spec, label in named if label},
                              name=args.table))
    return 0


def _release(args):
    from ..core.errors import InputError
    from ..diagnostics.release_check import release_verdict, write_release_table

    module = Path(args.module)
    if not module.is_dir():
        raise InputError(f"the candidate must be a module directory, got {args.module}")
    specs = [args.against, str(module), "sersic"]
    rows, views, bins = _score(args, specs)
    verdict = release_verdict(rows[str(module)], rows[args.against], views)
    print(write_release_table(args.out, specs, views, _command(), verdict, bins))
    if not verdict["passed"]:
        worse = [k for k, v in verdict["checks"].items() if v["worse"]]
        print(f"release check failed: worse than {args.against} in {', '.join(worse)}; "
              f"nothing published", file=sys.stderr)
        return 1
    if args.publish:
        entry = publish(module, args.index, Path(args.out) / "release.md")
        print(f"published {entry['name']} {entry['version']} in {entry['index']}")
    return 0


def _write_index(index, data):
    from ..core.files import atomic_path

    with atomic_path(index) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _index_path(index):
    from ..data.hub import shipped_index

    return Path(index) if index else shipped_index()


def _yank(args):
    from ..core.errors import InputError

    name, _, version = args.model.removeprefix("hub:").partition("@")
    if not version or not args.reason.strip():
        raise InputError(f"yank needs NAME@VERSION and a --reason, got {args.model!r}")
    index = _index_path(args.index)
    data = json.loads(index.read_text())
    entries = [e for e in data["modules"] if (e["name"], e["version"]) == (name, version)]
    if not entries:
        raise InputError(f"{index} lists no {name}@{version}; see `galsim-deep hub list`")
    for entry in entries:
        entry["yanked"] = args.reason.strip()
    _write_index(index, data)
    print(f"yanked {name}@{version} in {index}: {args.reason.strip()}")
    return 0


def publish(module, index=None, report=None):
    """Archive a module beside an index and add its entry (refusing a name and version the
    index lists already); the release table ``report`` is copied to
    ``reports/NAME/release-VERSION.md`` beside the index.  Returns the entry."""
    import shutil

    from ..core.errors import ExistsError
    from ..core.module_format import read_metadata
    from ..training.export import make_archive

    index = _index_path(index)
    meta = read_metadata(module)
    data = json.loads(index.read_text())
    if any((e["name"], e["version"]) == (meta["name"], meta["version"])
           for e in data["modules"]):
        raise ExistsError(f"{index} lists {meta['name']} {meta['version']} already; give the "
                          f"module a new version")
    file_name = f"{meta['name']}-{meta['version']}.tar.gz"
    archive = make_archive(module, index.parent / file_name)
    entry = {"name": meta["name"], "version": meta["version"],
             "description": meta["description"], "url": file_name,
             "sha256": archive["sha256"], "size": archive["size"]}
    data["modules"].append(entry)
    _write_index(index, data)
    if report is not None:
        dest = index.parent / "reports" / meta["name"] / f"release-{meta['version']}.md"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(report, dest)
    return {**entry, "index": str(index)}
