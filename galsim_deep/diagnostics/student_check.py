"""The fidelity check of a distilled student against its teacher, on the release table.

A student (``galsim-deep model distill``) may replace its teacher's network only if users
cannot tell: every line of the release table's survey-view table
(:mod:`~galsim_deep.diagnostics.release_check`) must put the student within ``sigma``
(default 1) of the difference of the teacher, or in the student's favour.  Both rows are
scored in one run, on the same evaluation galaxies, the same codes and the same noise,
each module's galaxies as users get them (window or wings, rotation).

"In the student's favour" means nearer the truth: a lower classifier accuracy, ``|g|``,
size and flux nearer the truths', the light beyond r = 28 pixels (median) and both texture
measures nearer the truth's.  The error of a difference is the two rows' errors added in
quadrature, as the release check's; the two rows share their galaxies, so that error is
conservative where their measurements are correlated.
"""
import numpy as np

from galsim_deep.core.errors import InputError
from galsim_deep.diagnostics.release_check import RELEASE_VIEWS, release_verdict

__all__ = ["FIDELITY_SIGMA", "fidelity_verdict", "fidelity_lines"]

#: How many sigma of the difference a student may be worse than its teacher by.
FIDELITY_SIGMA = 1.0


def _line(name, student, teacher, target, sigma):
    """One line: ``student`` and ``teacher`` are ``[value, error]``; ``target`` the truth's
    value (None: lower is better, as a classifier's accuracy)."""
    (s, es), (t, et) = student, teacher
    if not all(np.isfinite([s, es, t, et])):
        raise InputError(f"the fidelity line {name!r} has no value or error in a row "
                         f"(student {student}, teacher {teacher}); score both rows in a new "
                         f"--out folder")
    ds, dt = (s, t) if target is None else (abs(s - target), abs(t - target))
    error = float(np.hypot(es, et))
    return {"student": [s, es], "teacher": [t, et], "target": target,
            "difference": float(ds - dt), "error": error,
            "worse": bool(ds - dt > sigma * error), "better": bool(ds - dt < -sigma * error)}


def fidelity_verdict(student, teacher, views=RELEASE_VIEWS, sigma=FIDELITY_SIGMA):
    """Whether a student passes its fidelity table against its teacher.

    Parameters
    ----------
    student, teacher : dict
        Rows of one release table (:func:`~galsim_deep.diagnostics.release_check.
        score_release_row`, the same settings).
    views : sequence of str
    sigma : float
        The allowed margin, in standard errors of the difference.

    Returns
    -------
    dict
        ``passed``, ``sigma``, the rows' labels and ``checks``: per line the ``student`` and
        ``teacher`` values with errors, the truth's value (``target``; None for a
        classifier's accuracy), the ``difference`` of their distances to it (the
        accuracies' difference for a classifier), its ``error`` and ``worse`` / ``better``.
    """
    c2st = release_verdict(student, teacher, views, sigma=sigma)
    checks = {f"C2ST {key}": _line(key, c["candidate"], c["baseline"], None, sigma)
              for key, c in c2st["checks"].items()}
    for key in ("g", "size", "flux"):  # relative differences to the truths': 0 is the truth
        checks[f"{key} against the truth's"] = _line(
            key, *[[row["shapes"][key]["ratio"], row["shapes"][key]["error"]]
                   for row in (student, teacher)], 0.0, sigma)
    light = [row["outer_light"]["beyond_radius"] for row in (student, teacher)]
    radius = teacher["outer_light"]["radius"]
    checks[f"light beyond r = {radius:g} px, median"] = _line(
        "outer light", *[[x["median"], x.get("median_error", np.nan)] for x in light],
        teacher["truth_outer_light"]["beyond_radius"]["median"], sigma)
    texture = [row["texture"] for row in (student, teacher)]
    checks["power above the PSF's half power"] = _line(
        "texture", *[[x["ratio"], x["error"]] for x in texture], 1.0, sigma)
    axis = [x["axis_power"] for x in texture]
    checks["power along the pixel axes over the diagonals"] = _line(
        "axis power", *[[x["ratio"], x["error"]] for x in axis], axis[1]["truth"]["ratio"],
        sigma)
    return {"passed": not any(v["worse"] for v in checks.values()), "sigma": sigma,
            "student": student["label"], "teacher": teacher["label"], "checks": checks}


def fidelity_lines(verdict):
    """Markdown lines of :func:`fidelity_verdict`."""
    word = "PASSED" if verdict["passed"] else "FAILED"
    lines = [f"Fidelity check {word}: {verdict['student']} against its teacher "
             f"{verdict['teacher']} (worse = farther from the truth than the teacher by more "
             f"than {verdict['sigma']:g} sigma of the difference; for a classifier, a higher "
             f"accuracy).", "",
             "| line | student | teacher | truth | difference | verdict |",
             "|---|---|---|---|---|---|"]
    for name, c in verdict["checks"].items():
        state = "worse" if c["worse"] else "better" if c["better"] else "within"
        truth = "" if c["target"] is None else f"{c['target']:.4g}"
        lines.append(f"| {name.replace('|', '')} | "
                     + "{:.4g} ± {:.2g} | {:.4g} ± {:.2g} | ".format(*c["student"],
                                                                    *c["teacher"])
                     + f"{truth} | {c['difference']:+.3g} ± {c['error']:.2g} | {state} |")
    return lines
