"""Latent-code fits of a checkpoint's galaxies, scored with the validation measures.

The fits themselves (:func:`~galsim_deep.training.latent_fit.fit_codes` on the
objectives :func:`~galsim_deep.training.latent_fit.map_objective` and
:func:`~galsim_deep.training.latent_fit.truth_objective`) are training code;
this module runs them on the first galaxies of a mock split with the live
model of a recipe's latest checkpoint and tells the encoder's part of the
reconstruction error from the decoder's:

* **MAP code** - the code that maximises ``log p(stamp | z) + log p(z)``: what
  iterative inference on the same data would give instead of the encoder;
* **best code for the truth** (mock data only) - the code that minimises the
  relative residual between the decoded profile and the noiseless truth: the
  decoder's best-code residual (an upper bound on the decoder's best, since
  Adam from the encoder's code may stop at a local optimum).

Each is compared with the encoder's code and with the fitted Sérsic profile
(:mod:`galsim_deep.tools.validation.measures.reconstruction.sersic_fit`) by the relative residual against the
truth (:mod:`galsim_deep.tools.validation.measures.reconstruction.compute`), per mock morphology
class, by the HSM ``|g|`` of its profile (:func:`ellipticity_of_codes`), and
for an MPCC model by the clustering accuracy of each kind of code.
``python research/code_fits/latent_fit.py RECIPE --out R`` (formerly ``galsim-deep
validation latent-fit``) writes the report (:func:`write_latent_fit_report`).
"""
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from galsim_deep.core.errors import InputError
from galsim_deep.training.families import family_of
from galsim_deep.training.latent_fit import fit_codes, map_objective, truth_objective
from galsim_deep.training.recipes import check_dataset

__all__ = ["latent_fit_report", "ellipticity_of_codes", "write_latent_fit_report", "FAINT_MAG"]


def latent_fit_report(recipe, n=300, steps=300, learning_rate=0.03, split="test",
                      batch_size=100, progress=True):
    """Reconstruction residuals of the encoder's, the MAP and the best code, beside the Sérsic fit.

    Parameters
    ----------
    recipe : dict
        A loaded recipe (either family) whose model has been trained; its
        dataset must be a mock dataset (with ``truth``).
    n : int
        The first ``n`` galaxies of the split.
    steps : int
        Adam steps of each fit.
    learning_rate : float
        Adam step size (code units).
    split : {'test', 'train'}
        Which galaxies.
    batch_size : int
        Galaxies fitted together (each has its own code; the batch only sets
        memory and speed).
    progress : bool
        tqdm bars over the batches and the Sérsic fits.

    Returns
    -------
    dict
        ``n``, ``split``, ``dataset``, ``recipe``, ``steps``,
        ``learning_rate``; ``residuals``: for ``encoder``, ``map``,
        ``best_code`` and ``fitted_sersic`` the median and mean relative
        residual against the truth and ``fraction_best_code_better``;
        ``by_class`` the same per mock morphology class; ``map_reduced_chi2``,
        the median reduced chi^2 of the stamps under the encoder's and the MAP
        code; ``clustering_accuracy``, for a mixture-prior (MPCC) model on a
        labelled dataset, the one-to-one accuracy of the clusters the
        encoder's, the MAP and the best codes fall in (empty otherwise); the
        ``ellipticity``, the mean ``|g|`` of each estimate's profile against
        the truth's, bright and faint (:func:`ellipticity_of_codes`); the
        per-galaxy arrays (``stamps``, ``truth``, ``codes``,
        ``profiles``, ``residuals``, ``labels`` and ``neg_log_posterior``, the
        MAP objective of the encoder's and the MAP code) under ``"arrays"``.
    """
    from galsim_deep.tools.validation.measures.reconstruction.metrics import (
        by_class, reconstruction_residuals, residual_summary)
    from galsim_deep.tools.validation.measures.reconstruction.compute import mock_split_arrays
    from galsim_deep.tools.validation.measures.reconstruction.sersic_fit import fit_sersics

    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    data = check_dataset(recipe)
    path = recipe["dataset"]["path"]
    arrays, class_names = mock_split_arrays(
        path, split, ["stamp", "psf", "noise_variance", "truth", "conditions"], n)
    family = family_of(recipe)
    # As the exported module samples it (an MPCC generator with its standing statistics).
    model, _ = family.restore_for_sampling(recipe)
    # A generator of unit-flux shapes (MPCC generator_flux 'catalog') draws each galaxy with
    # the catalog flux of its mag_auto, as it was trained and as its module samples.
    flux = None
    if getattr(model, "generator_flux", "free") == "catalog":
        names = list(data.condition_names)
        flux = model.flux_of_magnitude(
            arrays["conditions"][:, names.index("mag_auto")].astype(np.float32)).numpy()

    def decoder(start, stop):
        if flux is None:
            return model.decode
        return lambda z: model.decode(z, flux=flux[start:stop])

    convolution = recipe[family.section]["convolution"]
    prior = family.log_prior(model)
    codes = {"encoder": [], "map": [], "best_code": []}
    chi2 = {"encoder": [], "map": []}
    neg_log_posterior = {"encoder": [], "map": []}
    count = len(arrays["stamp"])
    pixels = float(np.prod(arrays["stamp"].shape[1:]))
    for start in tqdm(range(0, count, batch_size), desc="latent fits", disable=not progress):
        part = {k: v[start:start + batch_size] for k, v in arrays.items()}
        mean, _ = model.encode(tf.constant(part["stamp"], tf.float32),
                               tf.constant(part["psf"], tf.float32))
        decode = decoder(start, start + len(part["stamp"]))
        posterior = map_objective(decode, part["stamp"], part["psf"],
                                  part["noise_variance"], prior, convolution)
        z_map, loss_map = fit_codes(posterior, mean, steps, learning_rate)
        z_best, _ = fit_codes(truth_objective(decode, part["truth"]), mean, steps,
                              learning_rate)
        for key, z in (("encoder", mean.numpy()), ("map", z_map), ("best_code", z_best)):
            codes[key].append(z)
        # chi^2 = 2 (objective + log p(z)), from the objective each code already has.
        for key, z, objective in (("encoder", mean, posterior(mean).numpy()),
                                  ("map", z_map, loss_map)):
            neg_log_posterior[key].append(objective)
            chi2[key].append(2 * (objective + prior(z).numpy()) / pixels)
    codes = {k: np.concatenate(v) for k, v in codes.items()}
    profiles = {k: np.concatenate([decoder(i, i + len(z[i:i + batch_size]))(
                                       z[i:i + batch_size]).numpy()
                                   for i in range(0, count, batch_size)])
                for k, z in codes.items()}
    fits = fit_sersics(arrays["stamp"], arrays["psf"], arrays["noise_variance"],
                       recipe["dataset"]["pixel_scale"], progress=progress)
    profiles["fitted_sersic"] = np.stack([f.image for f in fits])
    res = {k: reconstruction_residuals(arrays["truth"], v) for k, v in profiles.items()}
    labels = arrays.get("label")
    clustering = {}
    if hasattr(model, "prior") and labels is not None:
        from galsim_deep.core.cluster_accuracy import clustering_accuracy

        # Which cluster each code falls in (Eq. 7.15), scored against the mock classes.
        for key, z in codes.items():
            clusters = model.prior.assign(z).numpy()
            clustering[key] = clustering_accuracy(clusters, labels, model.n_clusters,
                                                  len(class_names))["accuracy"]
    mag = arrays["conditions"][:, list(data.condition_names).index("mag_auto")]
    ellipticity = ellipticity_of_codes(profiles, arrays["truth"], mag,
                                       float(recipe["dataset"]["pixel_scale"]))
    return {"n": count, "split": split, "dataset": str(path), "recipe": recipe["name"],
            "ellipticity": ellipticity,
            "steps": int(steps), "learning_rate": float(learning_rate),
            "residuals": {k: residual_summary(r, res["best_code"] if k != "best_code" else None,
                                              "fraction_best_code_better")
                          for k, r in res.items()},
            "map_reduced_chi2": {k: float(np.median(np.concatenate(v))) for k, v in chi2.items()},
            "clustering_accuracy": clustering,
            "by_class": {} if labels is None else by_class(res, labels, class_names,
                                                           "best_code",
                                                           "fraction_best_code_better"),
            "arrays": {"stamps": arrays["stamp"], "truth": arrays["truth"], "codes": codes,
                       "profiles": profiles, "residuals": res, "labels": labels,
                       "neg_log_posterior": {k: np.concatenate(v)
                                             for k, v in neg_log_posterior.items()}}}


#: mag_auto (AB mag) that splits the galaxies of :func:`ellipticity_of_codes` in two.
FAINT_MAG = 23.5


def ellipticity_of_codes(profiles, truth, mag_auto, pixel_scale):
    """Mean ``|g|`` of the profile of each kind of code against the truth's, bright and faint.

    Parameters
    ----------
    profiles : dict of str -> ndarray [N, S, S]
        Unconvolved profiles (flux per pixel) of each estimate.
    truth : ndarray [N, S, S]
        The noiseless unconvolved truths.
    mag_auto : ndarray [N]
        AB mag, to split the galaxies at :data:`FAINT_MAG`.
    pixel_scale : float
        arcsec/pixel.

    Returns
    -------
    dict
        For ``all``, ``bright`` (``mag_auto`` < 23.5) and ``faint``: ``n`` and
        the truth's mean ``|g|``, and for each estimate its mean ``|g|``, the
        mean per-galaxy difference from the truth's (``g_bias``) and that
        mean's standard error; ``|g|`` is HSM's through the round 0.1" PSF of
        :func:`~galsim_deep.diagnostics.checkpoint_scores.hsm_g` (galaxies it
        cannot measure are left out of the differences).
    """
    from galsim_deep.diagnostics.checkpoint_scores import hsm_g

    g_truth = hsm_g(truth, pixel_scale)
    g = {k: hsm_g(v, pixel_scale) for k, v in profiles.items()}
    mag_auto = np.asarray(mag_auto, np.float64)
    out = {}
    for group, sel in (("all", np.isfinite(mag_auto)), ("bright", mag_auto < FAINT_MAG),
                       ("faint", mag_auto >= FAINT_MAG)):
        row = {"n": int(sel.sum()), "truth_g": float(np.nanmean(g_truth[sel]))
               if sel.any() else float("nan")}
        for key, values in g.items():
            diff = (values - g_truth)[sel]
            diff = diff[np.isfinite(diff)]
            row[key] = {"mean_g": float(np.nanmean(values[sel])) if sel.any() else float("nan"),
                        "g_bias": float(diff.mean()) if len(diff) else float("nan"),
                        "error": float(diff.std(ddof=1) / np.sqrt(len(diff)))
                        if len(diff) > 1 else float("nan")}
        out[group] = row
    return out


_LABELS = {"encoder": "encoder's code (posterior mean)",
           "map": "MAP code (fit to the stamp through its PSF)",
           "best_code": "best code for the truth (decoder's best-code residual)",
           "fitted_sersic": "Sérsic fitted to the stamp through its PSF"}


def write_latent_fit_report(report, out_dir, n_examples=8):
    """Write ``latent_fit.json``, ``latent_fit.md`` and ``latent_fit.png`` into ``out_dir``.

    Parameters
    ----------
    report : dict
        From :func:`latent_fit_report`.
    out_dir : str or Path
        Folder (created).
    n_examples : int
        Galaxies (columns) in the figure: truth, then the profile of each code
        and the fitted Sérsic.

    Returns
    -------
    list of Path
    """
    from galsim_deep.core.files import atomic_path
    from galsim_deep.core.reporting import write_json
    from galsim_deep.core.reporting import plot_examples

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "latent_fit.json", out_dir / "latent_fit.md", out_dir / "latent_fit.png"]
    summary = {k: v for k, v in report.items() if k != "arrays"}
    write_json(summary, paths[0])
    rows = [f"# Latent-code fits through the decoder of {summary['recipe']}", "",
            f"{summary['n']} galaxies of the {summary['split']} split of {summary['dataset']}; "
            f"each fit {summary['steps']} Adam steps of size {summary['learning_rate']} from "
            f"the encoder's code.  Relative residual against the noiseless truth = "
            f"sum((estimate - truth)^2) / sum(truth^2).", "",
            f"Median reduced chi^2 of the stamps: encoder's code "
            f"{summary['map_reduced_chi2']['encoder']:.3f}, MAP code "
            f"{summary['map_reduced_chi2']['map']:.3f}.", "",
            "| estimate | median residual | mean residual | best code better for |",
            "|---|---|---|---|"]
    for key, label in _LABELS.items():
        s = summary["residuals"][key]
        better = s["fraction_best_code_better"]
        rows.append(f"| {label} | {s['median_relative_residual']:.4f} | "
                    f"{s['mean_relative_residual']:.4f} | "
                    f"{'' if better is None else f'{100 * better:.1f}%'} |")
    rows += ["", f"Mean HSM |g| (round 0.1\" PSF) of each estimate, and its mean difference "
             f"from the truth's galaxy by galaxy (standard error); bright: mag_auto < "
             f"{FAINT_MAG}:", "",
             "| estimate | all | bright | faint |", "|---|---|---|---|"]
    ell = summary["ellipticity"]
    rows.append("| truth | " + " | ".join(f"{ell[grp]['truth_g']:.3f} (n = {ell[grp]['n']})"
                                          for grp in ("all", "bright", "faint")) + " |")
    for key, label in _LABELS.items():
        rows.append(f"| {label} | " + " | ".join(
            f"{ell[grp][key]['mean_g']:.3f} ({ell[grp][key]['g_bias']:+.3f} ± "
            f"{ell[grp][key]['error']:.3f})" for grp in ("all", "bright", "faint")) + " |")
    if summary["clustering_accuracy"]:
        acc = summary["clustering_accuracy"]
        rows += ["", "One-to-one clustering accuracy (Hungarian mapping) of the cluster each "
                 "code falls in: "
                 + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in acc.items()) + "."]
    if summary["by_class"]:
        rows += ["", "Median residual per mock morphology class (last column: the fraction "
                 "of the class whose best code beats the fitted Sérsic):", "",
                 "| class | galaxies | encoder | MAP | best code | fitted Sérsic | "
                 "best code better |", "|---|---|---|---|---|---|---|"]
        for name, c in summary["by_class"].items():
            cells = " | ".join(f"{c[k]['median_relative_residual']:.4f}" for k in _LABELS)
            rows.append(f"| {name} | {c['n']} | {cells} | "
                        f"{100 * c['fitted_sersic']['fraction_best_code_better']:.1f}% |")
    with atomic_path(paths[1]) as tmp:
        tmp.write_text("\n".join(rows) + "\n")
    a = report["arrays"]
    plot_examples({"truth": a["truth"], "encoder": a["profiles"]["encoder"],
                   "MAP": a["profiles"]["map"], "best code": a["profiles"]["best_code"],
                   "fitted Sérsic": a["profiles"]["fitted_sersic"]}, paths[2], n=n_examples)
    return paths


def add_fit_args(p, n):
    """The recipe and the options shared by the commands that fit codes galaxy by galaxy."""
    from galsim_deep.cli import add_recipe_args

    add_recipe_args(p)
    p.add_argument("--out", required=True, help="report directory (created)")
    p.add_argument("--n", type=int, default=n,
                   help=f"the first N galaxies of the split (default {n})")
    p.add_argument("--learning-rate", type=float, default=0.03,
                   help="Adam step size in latent units (default 0.03)")
    p.add_argument("--split", default="test", choices=("test", "train"),
                   help="dataset split (default test)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def parser():
    """The script's command line (formerly ``galsim-deep validation latent-fit``)."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python research/code_fits/latent_fit.py",
        description="On a recipe's latest training checkpoint and its mock dataset, compare "
                    "the reconstruction residual against the noiseless truth of the "
                    "encoder's code, of the MAP code (fitted to the stamp through its PSF) "
                    "and of the best code for the truth (the decoder's best-code residual), "
                    "beside a "
                    "Sersic fit.  Writes latent_fit.json, .md and .png.")
    add_fit_args(p, n=300)
    p.add_argument("--steps", type=int, default=300, help="Adam steps per fit (default 300)")
    return p


def run(args):
    """Run the script with the parsed command line ``args`` (:func:`parser`)."""
    from galsim_deep.cli import recipe_from_args

    report = latent_fit_report(recipe_from_args(args), n=args.n, steps=args.steps,
                               learning_rate=args.learning_rate, split=args.split,
                               progress=not args.quiet)
    write_latent_fit_report(report, args.out)
    print(f"fitted the codes of {report['n']} galaxies; report in {args.out}")
    for key, s in report["residuals"].items():
        faint = report["ellipticity"]["faint"][key]
        print(f"  {key:14s} median relative residual {s['median_relative_residual']:.4f}"
              f"  |g| - truth's, mag_auto >= 23.5: {faint['g_bias']:+.3f} ± {faint['error']:.3f}")
    return 0


if __name__ == "__main__":  # as galsim-deep runs a command: an error is one line, status 1
    from galsim_deep.cli import run_script

    raise SystemExit(run_script(parser(), run))
