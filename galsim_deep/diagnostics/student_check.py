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
from galsim_deep.diagnostics.release_check import release_verdict

__all__ = ["FIDELITY_SIGMA", "fidelity_verdict", "fidelity_lines", "paired_shear_scores",
           "compare_with_teacher"]

#: How many sigma of the difference a student may be worse than its teacher by.
FIDELITY_SIGMA = 1.0


def _line(name, student, teacher, target, sigma, error=None):
    """One line: ``student`` and ``teacher`` are ``[value, error]``; ``target`` the truth's
    value (None: lower is better, as a classifier's accuracy); ``error`` the difference's
    (default: the two errors in quadrature)."""
    (s, es), (t, et) = student, teacher
    if not all(np.isfinite([s, es, t, et])):
        raise InputError(f"the fidelity line {name!r} has no value or error in a row "
                         f"(student {student}, teacher {teacher}); score both rows in a new "
                         f"--out folder")
    ds, dt = (s, t) if target is None else (abs(s - target), abs(t - target))
    error = float(np.hypot(es, et)) if error is None else float(error)
    return {"student": [s, es], "teacher": [t, et], "target": target,
            "difference": float(ds - dt), "error": error,
            "worse": bool(ds - dt > sigma * error), "better": bool(ds - dt < -sigma * error)}


def fidelity_verdict(student, teacher, views=None, sigma=FIDELITY_SIGMA, shear=None):
    """Whether a student passes its fidelity table against its teacher.

    Parameters
    ----------
    student, teacher : dict
        Rows of one release table (:func:`~galsim_deep.diagnostics.release_check.
        score_release_row`, the same settings).
    views : sequence of str, optional
        Default the release check's
        (:func:`~galsim_deep.diagnostics.release_check.release_views`).
    sigma : float
        The allowed margin, in standard errors of the difference.
    shear : dict, optional
        :func:`paired_shear_scores`: a line per PSF, the student's and the teacher's ``m``
        against the truths', judged by the error of their paired difference.

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
    for psf, x in (shear or {}).items():
        checks[f"shear m, {psf} PSF"] = _line(f"shear {psf}", x["student"], x["teacher"],
                                              x["truth"], sigma, error=x["paired"][1])
    return {"passed": not any(v["worse"] for v in checks.values()), "sigma": sigma,
            "student": student["label"], "teacher": teacher["label"], "checks": checks}


def fidelity_lines(verdict):
    """Markdown lines of :func:`fidelity_verdict`."""
    word = "PASSED" if verdict["passed"] else "FAILED"
    lines = [f"Fidelity check {word}: {verdict['student']} against its teacher "
             f"{verdict['teacher']} (worse = farther from the truth than the teacher by more "
             f"than {verdict['sigma']:g} sigma of the difference; for a classifier, a higher "
             f"accuracy).", "",
             "| line | student | teacher | truth | difference | in sigma | verdict |",
             "|---|---|---|---|---|---|---|"]
    for name, c in verdict["checks"].items():
        state = "worse" if c["worse"] else "better" if c["better"] else "within"
        truth = "" if c["target"] is None else f"{c['target']:.4g}"
        lines.append(f"| {name.replace('|', '')} | "
                     + "{:.4g} ± {:.2g} | {:.4g} ± {:.2g} | ".format(*c["student"],
                                                                    *c["teacher"])
                     + f"{truth} | {c['difference']:+.3g} ± {c['error']:.2g} | "
                     + f"{_in_sigma(c):+.2f} | {state} |")
    return lines


def _in_sigma(line):
    """A line's difference in standard errors of the difference (positive: the student
    farther from the truth than its teacher)."""
    return line["difference"] / line["error"] if line["error"] > 0 else float(
        np.sign(line["difference"]) * np.inf)


def paired_shear_scores(student, teacher, galaxies, cache_dir, out_dir, seed=0,
                        psfs=None, max_mag=24.0, n=3000, pool=None, progress=False):
    """Shear ``m`` of a student's and its teacher's galaxies, as users get them, through
    survey PSFs, beside the truths', with the error of their paired difference.

    The two modules draw the same galaxies (the evaluation galaxies' catalog rows, one
    seed: the same codes and angles), so their difference is bootstrapped over galaxies
    resampled together (:func:`~galsim_deep.tools.validation.measures.shear.paired.
    paired_shear_difference`): what makes one galaxy's response extreme in both cancels.
    Each module's distortions are kept in ``OUT/rows/<row>-shear-<psf>.npz`` (a rerun
    reads them back); the truths' are the references' (``cache_dir``).

    Parameters
    ----------
    student, teacher : str
        Module names (``hub:NAME[@VERSION]``, directories, archives).
    galaxies : EvaluationGalaxies
    cache_dir, out_dir : str or Path
        The release table's references and folder.
    seed : int
    psfs : sequence of str, optional
        Names of :data:`~galsim_deep.tools.validation.measures.shear.compute.SHEAR_PSFS`
        (default the shear check's of the survey views file,
        :func:`~galsim_deep.diagnostics.sample_scores.shear_psf_names`).
    max_mag, n : float, int
        The shear measure's galaxies: the first ``n`` with ``mag_auto <= max_mag``.
    pool : concurrent.futures.Executor, optional
    progress : bool

    Returns
    -------
    dict
        Per PSF: ``student``, ``teacher`` (``[m, error]``), ``truth`` (``m``), ``paired``
        (``[m_student - m_teacher, error]``) and ``n``.
    """
    import functools
    from pathlib import Path

    from galsim_deep.diagnostics.release_check import _row_images, module_distortions, row_key
    from galsim_deep.diagnostics.sample_scores import (_shear_sample, reference_scores,
                                                       shear_psf_names)
    from galsim_deep.tools.validation.measures.shear.compute import shear_bias
    from galsim_deep.tools.validation.measures.shear.paired import paired_shear_difference

    psfs = list(shear_psf_names() if psfs is None else psfs)
    reference = reference_scores(galaxies, cache_dir, seed, views=(), shear_psfs=psfs,
                                 shear_max_mag=max_mag, n_shear=n, pool=pool)
    chosen = _shear_sample(galaxies, max_mag, n)
    if len(chosen) < 3:
        raise InputError(f"the shear lines need at least 3 evaluation galaxies with mag_auto "
                         f"<= {max_mag:g}; the file has {len(chosen)}: use a larger "
                         f"evaluation file, or no shear lines (--shear-galaxies 0)")
    rows = Path(out_dir) / "rows"
    rows.mkdir(parents=True, exist_ok=True)
    measured = {}
    for spec in (student, teacher):
        @functools.cache  # the module's galaxies, sampled once if any PSF needs them
        def profiles(spec=spec):
            if progress:
                print(f"  shear of {spec}, {len(chosen)} galaxies", flush=True)
            return _row_images(spec, galaxies, seed)[1]

        for psf in psfs:
            measured[spec, psf] = module_distortions(
                spec, profiles, galaxies, chosen, psf, seed,
                rows / f"{row_key(spec)}-shear-{psf}.npz", pool=pool)
    out = {}
    for psf in psfs:
        s, t = (shear_bias(measured[spec, psf]) for spec in (student, teacher))
        pair = paired_shear_difference(measured[student, psf], measured[teacher, psf])
        out[psf] = {"student": [s["m"], s["m_error"]], "teacher": [t["m"], t["m_error"]],
                    "truth": reference["shear"][psf]["truth"]["m"],
                    "paired": list(pair["dm"]), "n": pair["n"]}
    return out


def compare_with_teacher(student, teacher, n=2000, seed=1, psf_fwhm=0.1):
    """A distilled module against its teacher, galaxy by galaxy, on the same draws.

    Both modules share the latent flow, so the same conditions and normals
    give both the same code ``z``: each galaxy is the teacher's and the
    student's drawing of one code.  Each unrotated stamp is convolved with a
    round Gaussian PSF of FWHM ``psf_fwhm`` and measured with HSM adaptive
    moments at the module's pixel scale.

    Parameters
    ----------
    student, teacher : str or Path
        The modules (any name :class:`~galsim_deep.GenerativeGalaxyModel`
        takes).
    n : int
        Galaxies, drawn from the teacher's population (a stream the training
        pairs do not use).
    seed : int
    psf_fwhm : float
        arcsec.

    Returns
    -------
    dict
        ``n`` (galaxies both measured) and, each as ``[mean, standard
        error]``: ``flux_ratio``, ``size_ratio`` (HSM sigma), ``g_difference``
        (student ``|g|`` minus teacher ``|g|``), ``teacher_mean_g`` and
        ``student_mean_g``, ``teacher_mean_size`` and ``student_mean_size``
        (sigma, arcsec).
    """
    import galsim

    from galsim_deep.api.model import GenerativeGalaxyModel
    from galsim_deep.data.mock_cosmos import training_population

    models = {"teacher": GenerativeGalaxyModel(teacher), "student": GenerativeGalaxyModel(student)}
    t = models["teacher"]
    table = training_population(t.metadata, n, 1000 + int(seed))
    cat = {q: np.asarray(table[q], np.float64) for q in t.quantities}
    psf = galsim.Gaussian(fwhm=psf_fwhm)
    measured = {}
    for key, model in models.items():
        images = np.concatenate(list(model.sample_arrays(cat, rng=seed, rotate=False,
                                                         range_policy="clip")))
        rows = []
        for image in images:
            drawn = galsim.Convolve(model.profile(image), psf).drawImage(
                nx=model.stamp_size, ny=model.stamp_size, scale=model.pixel_scale)
            mom = drawn.FindAdaptiveMom(strict=False)
            ok = mom.moments_status == 0
            g = mom.observed_shape.g if ok else np.nan
            rows.append((image.sum(dtype=np.float64),
                         mom.moments_sigma * model.pixel_scale if ok else np.nan, g))
        measured[key] = np.array(rows)
    t_, s_ = measured["teacher"], measured["student"]
    good = np.isfinite(t_).all(axis=1) & np.isfinite(s_).all(axis=1) & (t_[:, 0] > 0)

    def mean_error(x):
        x = np.asarray(x)[good]
        return [float(x.mean()), float(x.std() / np.sqrt(max(len(x), 1)))]

    return {"n": int(good.sum()), "psf_fwhm": float(psf_fwhm),
            "flux_ratio": mean_error(s_[:, 0] / t_[:, 0]),
            "size_ratio": mean_error(s_[:, 1] / t_[:, 1]),
            "g_difference": mean_error(s_[:, 2] - t_[:, 2]),
            "teacher_mean_g": mean_error(t_[:, 2]), "student_mean_g": mean_error(s_[:, 2]),
            "teacher_mean_size": mean_error(t_[:, 1]),
            "student_mean_size": mean_error(s_[:, 1])}
