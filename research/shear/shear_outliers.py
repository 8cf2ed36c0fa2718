"""Which galaxies decide a module's shear error, and what sets them apart.

A sample's multiplicative bias ``m`` is the mean of its galaxies' shares
(:func:`~galsim_deep.tools.validation.measures.shear.paired.galaxy_responses`); its
bootstrap error is their spread over ``sqrt(N)``.  When a few shares lie far from the
rest, those galaxies set the error, and a comparison of two modules by their errors is a
comparison of a handful of galaxies.  :func:`shear_outliers` measures a module's galaxies
as users get them (the release table's rows: the evaluation galaxies' catalog rows, one
seed) through a survey PSF, names the ``k`` galaxies farthest from the median share,
``m`` and its error without them, and for each what a reader checks first: its catalog
magnitude and size, its HSM size through the PSF against the PSF's, the share of its
light in the stamp's outer frame, and a figure of the galaxies.
"""
import json
from pathlib import Path

import numpy as np

from galsim_deep.core.errors import InputError

__all__ = ["shear_outliers", "outlier_lines", "FRAME_PIXELS"]

#: Width (pixels of the module's stamp) of the outer frame whose light is reported.
FRAME_PIXELS = 4


def shear_outliers(spec, galaxies, out_dir, psf="lsst-10yr-i", k=10, n=3000, max_mag=24.0,
                   seed=0, raw=False, pool=None, progress=False):
    """Measure a module's galaxies through ``psf`` and report the ``k`` that sway ``m``.

    Parameters
    ----------
    spec : str
        A module (``hub:NAME[@VERSION]``, directory, archive).
    galaxies : EvaluationGalaxies
    out_dir : str or Path
        Writes ``shear_outliers.json``, ``.md`` and ``.png``; the distortions are kept in
        ``e-<psf>[-raw].npz`` (:func:`~galsim_deep.diagnostics.release_check.module_distortions`: a rerun for the same module,
        seed and galaxies reads them back).
    psf : str
        A name of :data:`~galsim_deep.tools.validation.measures.shear.compute.SHEAR_PSFS`.
    k : int
        Galaxies to name.
    n, max_mag : int, float
        The first ``n`` evaluation galaxies with ``mag_auto <= max_mag`` (the sample
        scores' shear galaxies).
    seed : int
        The samples' seed (as the release table's).
    raw : bool
        The network's own pixels, without the window or wings the module applies (what
        a module's decoder draws, as the prior table's ``module`` row measures it).
    pool : concurrent.futures.Executor, optional
    progress : bool

    Returns
    -------
    dict
        ``module``, ``psf``, ``n``, ``all`` and ``without`` (``[m, error]``), ``median``
        and ``mad`` of the shares, and ``galaxies``: per named galaxy its evaluation
        ``index``, ``m_i``, ``mag_auto``, ``flux_radius`` (pixels of the evaluation file),
        ``hsm_sigma`` and the PSF's (arcsec), ``frame_light`` (share of its flux in the
        outer :data:`FRAME_PIXELS` pixels) and ``truth_frame_light``.
    """
    from galsim_deep.core.reporting import write_json, write_text
    from galsim_deep.diagnostics.release_check import _row_images, module_distortions
    from galsim_deep.diagnostics.sample_scores import _shear_sample
    from galsim_deep.tools.validation.measures.shear.compute import shear_psf
    from galsim_deep.tools.validation.measures.shear.paired import (galaxy_responses,
                                                                    response_outliers)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chosen = _shear_sample(galaxies, max_mag, n)
    if len(chosen) <= k:
        raise InputError(f"{len(chosen)} evaluation galaxies to mag_auto {max_mag:g}, not "
                         f"more than k = {k}; use a larger evaluation file or a smaller k")
    images, profiles, _, first = _row_images(str(spec), galaxies, seed, raw)
    e = module_distortions(spec, lambda: profiles, galaxies, chosen, psf, seed,
                           out / f"e-{psf}{'-raw' if raw else ''}.npz", raw, pool)
    report = response_outliers(e, k)
    spec_psf = shear_psf(psf)
    size, scale = spec_psf.view(galaxies.stamp_size, galaxies.pixel_scale)
    psf_sigma = spec_psf.profile((0.0, 0.0)).drawImage(
        nx=size, ny=size, scale=scale, method="no_pixel").FindAdaptiveMom().moments_sigma
    rows = []
    for j, m_i in zip(report["index"], report["m_i"]):
        i = int(chosen[j])
        rows.append({"index": i, "m_i": float(m_i),
                     "mag_auto": float(galaxies.column("mag_auto")[i]),
                     "flux_radius": float(galaxies.column("flux_radius")[i]),
                     "hsm_sigma": _hsm_sigma(profiles[i], spec_psf, size, scale),
                     "frame_light": _frame_light(images[i]),
                     "truth_frame_light": _frame_light(galaxies.truth[i])})
    result = {"module": first["label"] + (", raw network" if raw else ""), "spec": str(spec),
              "raw": bool(raw), "psf": psf,
              "psf_sigma": float(psf_sigma * scale),
              "n": int(np.isfinite(galaxy_responses(e)).sum()), "all": report["all"],
              "without": report["without"],
              "median": report["median"], "mad": report["mad"], "k": int(k),
              "median_frame_light": float(np.median([_frame_light(images[i])
                                                     for i in chosen])),
              "galaxies": rows}
    write_json(result, out / "shear_outliers.json")
    result = json.loads((out / "shear_outliers.json").read_text())
    write_text("\n".join(outlier_lines(result)) + "\n", out / "shear_outliers.md")
    _figure(images, galaxies, rows, out / "shear_outliers.png", result)
    return result


def _frame_light(image):
    """Share of an image's flux in its outer :data:`FRAME_PIXELS` pixels."""
    image = np.asarray(image, np.float64)
    inner = image[FRAME_PIXELS:-FRAME_PIXELS, FRAME_PIXELS:-FRAME_PIXELS].sum()
    total = image.sum()
    return float((total - inner) / total) if total > 0 else float("nan")


def _hsm_sigma(profile, spec, size, scale):
    """HSM sigma (arcsec) of a galaxy through the shear view's PSF, unsheared; NaN where
    HSM fails."""
    import galsim

    image = galsim.Convolve(profile, spec.profile((0.0, 0.0))).drawImage(
        nx=size, ny=size, scale=scale, method="no_pixel")
    mom = image.FindAdaptiveMom(strict=False)
    return float(mom.moments_sigma * scale) if mom.moments_status == 0 else float("nan")


def outlier_lines(result):
    """Markdown lines of :func:`shear_outliers`."""
    (m, e), (m2, e2) = result["all"], result["without"]
    lines = [f"# The galaxies that sway m: {result['module']} through {result['psf']}", "",
             f"{result['n']} galaxies measured: m = {1e3 * m:.2f} ± {1e3 * e:.2f} "
             f"(10⁻³); without the {result['k']} below {1e3 * m2:.2f} ± {1e3 * e2:.2f}.  "
             f"Median share {1e3 * result['median']:.1f}, median absolute deviation "
             f"{1e3 * result['mad']:.1f} (10⁻³).  PSF sigma {result['psf_sigma']:.3f}\"; "
             f"median light in the outer {FRAME_PIXELS}-pixel frame "
             f"{100 * result['median_frame_light']:.2f}%.", "",
             "| galaxy | m_i (10⁻³) | mag_auto | flux_radius (px) | HSM sigma (\") | "
             "outer frame light | truth's |", "|---|---|---|---|---|---|---|"]
    for g in result["galaxies"]:
        sigma = "n/a" if g["hsm_sigma"] is None else f"{g['hsm_sigma']:.3f}"
        lines.append(f"| {g['index']} | {1e3 * g['m_i']:.0f} | {g['mag_auto']:.2f} | "
                     f"{g['flux_radius']:.1f} | {sigma} | "
                     f"{100 * g['frame_light']:.2f}% | {100 * g['truth_frame_light']:.2f}% |")
    return lines


def _figure(images, galaxies, rows, path, result):
    """The named galaxies (module above, truth below), arcsinh-stretched."""
    from galsim_deep.core import reporting

    fig, axes = reporting.new_figure(2, len(rows), size=(1.3, 1.4))
    for j, g in enumerate(rows):
        for r, image in enumerate((images[g["index"]], galaxies.truth[g["index"]])):
            image = np.asarray(image, np.float64)
            axes[r, j].imshow(np.arcsinh(image / (0.02 * max(image.max(), 1e-30))),
                              origin="lower", cmap="magma")
            axes[r, j].set_xticks([])
            axes[r, j].set_yticks([])
        axes[0, j].set_title(f"m_i {1e3 * g['m_i']:.0f}", fontsize=7)
    axes[0, 0].set_ylabel("module", fontsize=7)
    axes[1, 0].set_ylabel("truth", fontsize=7)
    fig.suptitle(f"{result['module']} through {result['psf']}: the galaxies farthest from "
                 f"the median share of m", fontsize=8)
    reporting.save_figure(fig, path)


def parser():
    """The script's command line (formerly ``galsim-deep validation shear-outliers``)."""
    import argparse

    from galsim_deep.cli.release import SHEAR_GALAXIES

    p = argparse.ArgumentParser(
        prog="python research/shear/shear_outliers.py",
        description="Measure a module's galaxies as users get them (the release table's: "
                    "the evaluation galaxies' catalog rows, one seed) through a survey PSF "
                    "with the shear measure, split m into the galaxies' shares, and name the "
                    "K farthest from the median share with m and its error without them, "
                    "each galaxy's magnitude, size, HSM size through the PSF and the light "
                    "in its stamp's outer frame.  Writes OUT/shear_outliers.json, .md and "
                    ".png.")
    p.add_argument("model", help="the module (hub:NAME[@VERSION], a directory or archive)")
    p.add_argument("--eval", required=True, metavar="FILE", help="the evaluation file")
    p.add_argument("--out", required=True, help="the report's folder (created)")
    p.add_argument("--psf", default="lsst-10yr-i",
                   help="the shear view: gaussian-0.1 or a survey view with its own PSF "
                        "(euclid-vis, lsst-10yr-i, ...; default lsst-10yr-i)")
    p.add_argument("--k", type=int, default=10, help="galaxies to name (default 10)")
    p.add_argument("--n", type=int, default=SHEAR_GALAXIES,
                   help=f"the first N evaluation galaxies to mag_auto 24 (default "
                        f"{SHEAR_GALAXIES})")
    p.add_argument("--seed", type=int, default=0, help="the samples' seed (default 0)")
    p.add_argument("--raw", action="store_true",
                   help="the network's own pixels, without the module's window or wings")
    p.add_argument("--quiet", action="store_true", help="no summary lines")
    return p


def run(args):
    """Run the script with the parsed command line ``args`` (:func:`parser`)."""
    from galsim_deep.cli import positive
    from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies

    positive("--k", args.k)
    positive("--n", args.n)
    result = shear_outliers(args.model, EvaluationGalaxies.load(args.eval), args.out,
                            args.psf, args.k, args.n, seed=args.seed, raw=args.raw)
    if not args.quiet:
        print("\n".join(outlier_lines(result)))
    return 0


if __name__ == "__main__":  # as galsim-deep runs a command: an error is one line, status 1
    from galsim_deep.cli import run_script

    raise SystemExit(run_script(parser(), run))
