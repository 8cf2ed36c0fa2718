"""The student's fidelity verdict (diagnostics/student_check.py): 1 sigma of the
difference, nearer the truth counts in the student's favour."""
import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.diagnostics.student_check import fidelity_lines, fidelity_verdict


def _row(label, accuracy=0.6, g=-0.15, outer=0.001, outer_error=1e-4, texture=1.5,
         axis=1.9, error=0.01):
    """A release-table row with one view and the lines the verdict reads."""
    test = {"accuracy": accuracy, "error": error,
            "bins": [{"accuracy": accuracy, "error": error}]}
    shape = {"ratio": 0.0, "error": error}
    return {"label": label, "settings": {"n": 10}, "views": {"v": {"generated": test}},
            "shapes": {"g": dict(shape, ratio=g), "size": shape, "flux": shape},
            "outer_light": {"radius": 28.0, "beyond_radius": {"median": outer,
                                                              "median_error": outer_error}},
            "truth_outer_light": {"beyond_radius": {"median": 0.002}},
            "texture": {"ratio": texture, "error": error,
                        "axis_power": {"ratio": axis, "error": error,
                                       "truth": {"ratio": 0.9, "error": error}}}}


def test_one_sigma_of_the_difference_and_nearer_the_truth_is_better():
    teacher = _row("teacher")
    sigma = np.hypot(0.01, 0.01)
    same = fidelity_verdict(_row("student"), teacher, views=["v"])
    assert same["passed"] and {c["difference"] for c in same["checks"].values()} == {0.0}
    # a classifier accuracy 0.9 sigma above the teacher's is within; 1.1 sigma is worse
    assert fidelity_verdict(_row("s", accuracy=0.6 + 0.9 * sigma), teacher, ["v"])["passed"]
    worse = fidelity_verdict(_row("s", accuracy=0.6 + 1.1 * sigma), teacher, ["v"])
    assert not worse["passed"] and worse["checks"]["C2ST v all"]["worse"]
    # |g| measured against the truth's: -0.10 is nearer 0 than -0.15 (better), so is +0.10,
    # while -0.20 is farther by 0.05 = 3.5 sigma (worse)
    assert fidelity_verdict(_row("s", g=-0.10), teacher, ["v"])["checks"][
        "g against the truth's"]["better"]
    assert fidelity_verdict(_row("s", g=+0.10), teacher, ["v"])["passed"]
    assert not fidelity_verdict(_row("s", g=-0.20), teacher, ["v"])["passed"]
    # the outer light against the truth's 0.2%: 1.5 times the teacher's 0.1% is nearer it,
    # 0.05% is farther by 0.05% = 3.5 sigma
    assert fidelity_verdict(_row("s", outer=0.0015), teacher, ["v"])["passed"]
    far = fidelity_verdict(_row("s", outer=0.0005), teacher, ["v"])
    assert far["checks"]["light beyond r = 28 px, median"]["worse"]
    # the grid measure against the truth's 0.9, the texture against 1
    assert not fidelity_verdict(_row("s", axis=2.0), teacher, ["v"])["passed"]
    assert fidelity_verdict(_row("s", texture=1.2), teacher, ["v"])["passed"]
    lines = fidelity_lines(far)
    assert lines[0].startswith("Fidelity check FAILED") and len(lines) == 4 + len(far["checks"])


def test_a_row_without_an_error_is_refused():
    with pytest.raises(InputError, match="'outer light'.*new --out folder"):
        fidelity_verdict(_row("s", outer_error=float("nan")), _row("t"), ["v"])


def test_shear_lines_are_judged_by_the_error_of_the_paired_difference():
    """m of the same galaxies drawn by both: a student 2 x 10^-3 farther from the truth's m
    than its teacher fails when their paired difference is known to 10^-3, though each m
    alone is known to 10^-2 only."""
    shear = {"lsst-10yr-i": {"student": [0.052, 0.01], "teacher": [0.050, 0.01],
                             "truth": 0.030, "paired": [0.002, 0.001], "n": 100}}
    verdict = fidelity_verdict(_row("s"), _row("t"), ["v"], shear=shear)
    line = verdict["checks"]["shear m, lsst-10yr-i PSF"]
    assert line["worse"] and not verdict["passed"]
    assert line["difference"] == pytest.approx(0.002) and line["error"] == 0.001
    nearer = dict(shear["lsst-10yr-i"], student=[0.048, 0.01], paired=[-0.002, 0.001])
    assert fidelity_verdict(_row("s"), _row("t"), ["v"],
                            shear={"lsst-10yr-i": nearer})["passed"]


def test_a_wider_margin_passes_a_line_the_default_fails_and_the_table_gives_each_line_in_sigma():
    """1.5 sigma worse fails at the issue's 1 sigma and passes at the release check's 2; the
    table's 'in sigma' column is the difference over its error, signed."""
    teacher = _row("teacher")
    sigma = np.hypot(0.01, 0.01)
    student = _row("s", accuracy=0.6 + 1.5 * sigma, g=-0.10)
    assert not fidelity_verdict(student, teacher, ["v"])["passed"]
    wide = fidelity_verdict(student, teacher, ["v"], sigma=2.0)
    assert wide["passed"] and wide["sigma"] == 2.0
    lines = fidelity_lines(wide)
    assert "2 sigma of the difference" in lines[0] and "| in sigma |" in lines[2]
    row = {line.split("|")[1].strip(): line.split("|")[-3].strip() for line in lines[4:]}
    assert row["C2ST v all"] == "+1.50"
    assert row["g against the truth's"] == f"{-0.05 / sigma:+.2f}"


def test_validation_student_refuses_a_margin_that_is_not_positive(tmp_path):
    """--sigma 0 would fail every line that is not better: refused before any scoring."""
    from galsim_deep.cli import build_parser
    from galsim_deep.cli.release import judge_student

    args = build_parser().parse_args(["validation", "student", "s", "--teacher", "t",
                                      "--eval", str(tmp_path / "missing.h5"),
                                      "--out", str(tmp_path / "out"), "--sigma", "0"])
    assert args.sigma == 0.0
    with pytest.raises(InputError, match="--sigma must be a positive number"):
        judge_student(args.student, args.teacher, args, args.shear_galaxies, args.sigma)
